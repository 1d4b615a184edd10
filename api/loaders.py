"""Per-request DataLoaders: all lookups of one GraphQL level become one database round trip.

Every loader of the API is here; each answers typed records (retrieval/records.py) or the
annotation maps `mind annotate import` wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from strawberry.dataloader import DataLoader

from graph import queries
from graph.aio import AsyncGraph
from graph.annotations import annotations_for_intentions
from retrieval.records import IntentionRecord, ProductRecord

ANNOTATIONS_PER_INTENTION = 100  # votes `Intention.annotations` answers at most


class PageKey(NamedTuple):
    asin: str
    first: int
    after: str | None
    relation: str | None = None
    status: str | None = None
    sources: tuple[str, ...] | None = None


@dataclass
class Loaders:
    graph: AsyncGraph
    product: DataLoader[str, ProductRecord | None] = field(init=False)
    intention: DataLoader[str, IntentionRecord | None] = field(init=False)
    co_bought: DataLoader[PageKey, list[ProductRecord]] = field(init=False)
    intentions: DataLoader[PageKey, list[IntentionRecord]] = field(init=False)
    explained: DataLoader[str, list[str]] = field(init=False)
    annotations: DataLoader[str, list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.product = DataLoader(self._products)
        self.intention = DataLoader(self._intentions_by_id)
        self.co_bought = DataLoader(self._co_bought)
        self.intentions = DataLoader(self._intention_pages)
        self.explained = DataLoader(self._explained)
        self.annotations = DataLoader(self._annotations)

    async def _products(self, asins: list[str]) -> list[ProductRecord | None]:
        found = {p["asin"]: p for p in await self.graph.read(queries.products_by_asin, list(asins))}
        return [ProductRecord.of(found[a]) if a in found else None for a in asins]

    async def _intentions_by_id(self, ids: list[str]) -> list[IntentionRecord | None]:
        found = {i["id"]: i for i in await self.graph.read(queries.intentions_by_id, list(ids))}
        return [IntentionRecord.of(found[i]) if i in found else None for i in ids]

    async def _co_bought(self, keys: list[PageKey]) -> list[list[ProductRecord]]:
        rows = await self.graph.read(
            queries.co_bought_pages, [{"asin": k.asin, "first": k.first, "after": k.after} for k in keys])
        return [[ProductRecord.of(p) for p in page] for page in _by_index(rows, len(keys))]

    async def _intention_pages(self, keys: list[PageKey]) -> list[list[IntentionRecord]]:
        params = [{**k._asdict(), "sources": list(k.sources) if k.sources is not None else None} for k in keys]
        rows = await self.graph.read(queries.intention_pages, params)
        return [[IntentionRecord.of(i) for i in page] for page in _by_index(rows, len(keys))]

    async def _explained(self, ids: list[str]) -> list[list[str]]:
        found = {r["id"]: r["asins"] for r in await self.graph.read(queries.explained_products, list(ids))}
        return [found.get(i, []) for i in ids]

    async def _annotations(self, ids: list[str]) -> list[list[dict[str, Any]]]:
        """Per intention id, its annotations by annotator (both `annotations` and `majority` read them)."""
        rows = await self.graph.read(annotations_for_intentions, list(ids), ANNOTATIONS_PER_INTENTION)
        found = {r["id"]: r["annotations"] for r in rows}
        return [found.get(i, []) for i in ids]

    def prime_products(self, products: Iterable[ProductRecord]) -> None:
        for p in products:
            self.product.prime(p.asin, p)


def _by_index(rows: list[dict[str, Any]], n: int) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for row in rows:
        out[row["ix"]] = row["items"]
    return out
