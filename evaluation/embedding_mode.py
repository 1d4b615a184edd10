"""Zero-shot baseline: cosine between a question text and each option with the sentence model.

Task 1: "<item A> and <item B>" against each option. Task 2: "<item A> <because intention>"
against each option's product name. Texts are encoded once each (a cache), unit length.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from evaluation.questions import Question


class Encoder:
    """Unit-length vectors for texts, each text encoded once per run."""

    def __init__(self, model, batch_size: int = 64):
        self.model = model
        self.batch_size = batch_size
        self.cache: dict[str, np.ndarray] = {}

    def warm(self, texts: Iterable[str]) -> None:
        new = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if new:
            vectors = self.model.encode(new, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
            self.cache.update(zip(new, vectors.astype(np.float32)))

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.warm(texts)
        return np.stack([self.cache[t] for t in texts])


def query_text(q: Question) -> str:
    if q.task == 1:
        return f"{q.name_a} and {q.name_b}"
    return f"{q.name_a} because {q.intention}"


def option_texts(q: Question) -> list[str]:
    return [q.options[letter] for letter in q.options]


def option_scores(encoder: Encoder, q: Question) -> np.ndarray:
    """Cosine of the question text to each option, in option (letter) order."""
    vectors = encoder([query_text(q), *option_texts(q)])
    return vectors[1:] @ vectors[0]


def warm(encoder: Encoder, questions: list[Question]) -> None:
    """Encode every text of the run in large batches (much faster than per question)."""
    encoder.warm(t for q in questions for t in (query_text(q), *option_texts(q)))


def answer(encoder: Encoder, q: Question) -> str:
    letters = list(q.options)
    return letters[int(np.argmax(option_scores(encoder, q)))]
