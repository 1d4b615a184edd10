"""What retrieval hands up: frozen records of the graph's products, intentions and search hits.

The graph's statements answer with maps in Neo4j's property names (`asinA`, `imageUrl`, ...); these
records give the API and the evaluation one typed shape instead, built in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def cosine(normalised: float | None) -> float:
    """A raw cosine in [-1, 1] from Neo4j's normalised vector score s in [0, 1] (2s - 1); 0 without one."""
    return 0.0 if normalised is None else 2.0 * float(normalised) - 1.0


@dataclass(frozen=True, slots=True)
class ProductRecord:
    asin: str
    title: str | None = None
    brand: str | None = None
    categories: tuple[str, ...] | None = None
    description: str | None = None
    features: str | None = None
    image_url: str | None = None
    main_cat: str | None = None
    price: float | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ProductRecord:
        desc = row.get("description")
        categories = row.get("categories")
        price = row.get("price")
        return cls(
            asin=row["asin"], title=row.get("title"), brand=row.get("brand"),
            categories=tuple(categories) if categories is not None else None,
            description=" ".join(desc) if isinstance(desc, list) else desc,
            features=row.get("features"), image_url=row.get("imageUrl"), main_cat=row.get("mainCat"),
            price=None if price is None else float(price),
        )


@dataclass(frozen=True, slots=True)
class IntentionRecord:
    id: str
    text: str | None = None
    relation: str | None = None
    status: str | None = None
    rationale: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    source: str | None = None
    asin_a: str | None = None
    asin_b: str | None = None
    curated_by: str | None = None
    curated_at: str | None = None
    curator_note: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> IntentionRecord:
        return cls(
            id=row["id"], text=row.get("text"), relation=row.get("relation"), status=row.get("status"),
            rationale=row.get("rationale"), model=row.get("model"), prompt_version=row.get("promptVersion"),
            source=row.get("source"), asin_a=row.get("asinA"), asin_b=row.get("asinB"),
            curated_by=row.get("curatedBy"), curated_at=row.get("curatedAt"), curator_note=row.get("curatorNote"),
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """An intention found by vector search; `score` is Neo4j's normalised cosine in [0, 1]."""

    score: float
    intention: IntentionRecord

    @property
    def cosine(self) -> float:
        return cosine(self.score)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Hit:
        return cls(float(row["score"]), IntentionRecord.of(row["i"]))
