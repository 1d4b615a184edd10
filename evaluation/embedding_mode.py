"""Zero-shot baseline: cosine between a question text and each option with the sentence model.

Task 1: "<item A> and <item B>" against each option. Task 2: "<item A> <because intention>"
against each option's product name. Texts are encoded once each (the encoder's cache), unit length.
"""

from __future__ import annotations

import numpy as np

from embedding.encoder import TextEncoder
from evaluation.questions import Question


def query_text(q: Question) -> str:
    if q.task == 1:
        return f"{q.name_a} and {q.name_b}"
    return f"{q.name_a} because {q.intention}"


def option_texts(q: Question) -> list[str]:
    return [q.options[letter] for letter in q.options]


def option_scores(encoder: TextEncoder, q: Question) -> np.ndarray:
    """Cosine of the question text to each option, in option (letter) order."""
    vectors = encoder.encode([query_text(q), *option_texts(q)])
    return vectors[1:] @ vectors[0]


def warm(encoder: TextEncoder, questions: list[Question]) -> None:
    """Encode every text of the run in large batches (much faster than per question)."""
    encoder.encode(t for q in questions for t in (query_text(q), *option_texts(q)))


def answer(encoder: TextEncoder, q: Question) -> str:
    letters = list(q.options)
    return letters[int(np.argmax(option_scores(encoder, q)))]
