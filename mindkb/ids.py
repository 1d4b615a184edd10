"""Deterministic ids, so re-runs and re-imports never duplicate."""

from __future__ import annotations

import hashlib
import re

ASIN_MAX = 64  # characters of an asin, wherever one is read
ASIN_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{ASIN_MAX - 1}}}$")


def valid_asin(value: object) -> str | None:
    """The stripped asin when it is one (letters, digits, `._-`, at most 64), else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if ASIN_RE.match(value) else None


def pair_key(asin_a: str, asin_b: str) -> tuple[str, str]:
    """A co-buy pair in canonical order (CO_BUY edges point from the smaller asin to the larger)."""
    return (asin_a, asin_b) if asin_a <= asin_b else (asin_b, asin_a)


def intention_id(
    asin_a: str, asin_b: str, relation: str, model: str, prompt_version: str, discriminator: str = ""
) -> str:
    """Same pair (either order) + relation + model + prompt version -> same id.

    `discriminator` separates several intentions of one pair and relation from the same source
    (imports carry many assertions per pair: their text is the discriminator).
    """
    a, b = pair_key(asin_a, asin_b)
    raw = "\x1f".join((a, b, relation, model, prompt_version, discriminator))
    return "int_" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def named_product_asin(name: str) -> str:
    """A stable product key for a product known only by its name (IntentionQA's task-2 distractors).

    The benchmark's `distractors_id` do not match its `distractors_product` names (1,638 of the dev
    files' 4,577 distractor mentions give the asin of a different item), so a distractor is keyed
    by the name the question shows: the same name always gets the same key.
    """
    digest = hashlib.sha256(" ".join(name.split()).lower().encode("utf-8")).hexdigest()[:16]
    return f"name-{digest}"
