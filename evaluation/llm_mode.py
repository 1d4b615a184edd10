"""`--mode llm`: the benchmark's zero-shot multiple-choice prompt answered by a language model.

Backends: `transformers` (AutoModelForCausalLM + AutoTokenizer from a local folder or a cached
Hugging Face id, greedy decoding, the tokenizer's chat template when it has one) or `openai`
(any OpenAI-compatible chat server, through generation.backends.OpenAIBackend). The answer is
parsed as the benchmark's scorer does: the first standalone letter A-D; none -> unparsable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evaluation.questions import Question
from generation.backends import Decoding, OpenAIBackend, Request, pick_device
from mindkb.errors import BadInput

LETTER_RE = re.compile(r"\b([ABCD])\b")

TASK1 = (
    "A customer bought the following two products together.\n"
    "Product A: {name_a}\nProduct B: {name_b}\n"
    "What is the most likely intention of the customer for buying these two products together?\n"
    "{options}\n"
    "Answer with the letter (A, B, C or D) of the correct option only.\nAnswer:"
)
TASK2 = (
    "A customer bought Product A: {name_a}\n"
    "The customer bought it together with another product because {intention}\n"
    "Which product did the customer most probably buy together with Product A?\n"
    "{options}\n"
    "Answer with the letter (A, B, C or D) of the correct option only.\nAnswer:"
)


def prompt(q: Question) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in q.options.items())
    template = TASK1 if q.task == 1 else TASK2
    return template.format(name_a=q.name_a, name_b=q.name_b, intention=q.intention.rstrip("."), options=options)


def parse_answer(text: str | None, letters: Sequence[str] = ("A", "B", "C", "D")) -> str | None:
    """The first standalone A-D in the answer ('B', 'B.', '(B)', 'Answer: B ...'), else None."""
    for match in LETTER_RE.finditer(text or ""):
        if match.group(1) in letters:
            return match.group(1)
    return None


class CausalLM:
    """Greedy answers from a causal LM; batched with left padding."""

    def __init__(self, model: str, device: str = "auto", batch_size: int = 8, max_new_tokens: int = 8):
        # Imported here, as in generation.backends: torch and transformers take seconds to import.
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.device = pick_device(device)
            dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
            # transformers wraps PreTrainedModel.to, and the wrapper's annotation drops the device argument
            self.model = AutoModelForCausalLM.from_pretrained(
                model, torch_dtype=dtype).to(self.device).eval()  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            raise BadInput(f"language model {model!r} could not be loaded: {str(exc).splitlines()[0]}") from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens

    def render(self, text: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                      add_generation_prompt=True)
        return text

    def answer(self, prompts: list[str]) -> list[str]:
        import torch

        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            batch = [self.render(p) for p in prompts[start:start + self.batch_size]]
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with torch.inference_mode():
                ids = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                          max_new_tokens=self.max_new_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id)
            out.extend(self.tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True))
        return out

    def close(self) -> None:
        pass


class OpenAIChat:
    """An OpenAI-compatible chat server, greedy (temperature 0), several requests in flight."""

    def __init__(self, base_url: str | None, model: str, api_key: str | None, max_new_tokens: int = 8,
                 concurrency: int = 8):
        self.backend = OpenAIBackend(base_url or "", model, api_key, concurrency=concurrency, max_attempts=3)
        self.decoding = Decoding(max_new_tokens=max_new_tokens, temperature=0.0)

    def answer(self, prompts: list[str]) -> list[str]:
        return self.backend.generate([Request(p) for p in prompts], self.decoding)

    def close(self) -> None:
        self.backend.close()
