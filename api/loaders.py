"""Per-request DataLoaders: all lookups of one GraphQL level become one database round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from graph import queries
from graph.aio import AsyncGraph


class PageKey(NamedTuple):
    asin: str
    first: int
    after: str | None
    relation: str | None = None
    status: str | None = None


@dataclass
class Loaders:
    graph: AsyncGraph
    product: DataLoader = field(init=False)
    intention: DataLoader = field(init=False)
    co_bought: DataLoader = field(init=False)
    intentions: DataLoader = field(init=False)
    explained: DataLoader = field(init=False)

    def __post_init__(self) -> None:
        self.product = DataLoader(self._products)
        self.intention = DataLoader(self._intentions_by_id)
        self.co_bought = DataLoader(self._co_bought)
        self.intentions = DataLoader(self._intention_pages)
        self.explained = DataLoader(self._explained)

    async def _products(self, asins: list[str]) -> list[dict | None]:
        found = {p["asin"]: p for p in await self.graph.read(queries.products_by_asin, list(asins))}
        return [found.get(a) for a in asins]

    async def _intentions_by_id(self, ids: list[str]) -> list[dict | None]:
        found = {i["id"]: i for i in await self.graph.read(queries.intentions_by_id, list(ids))}
        return [found.get(i) for i in ids]

    async def _co_bought(self, keys: list[PageKey]) -> list[list[dict]]:
        rows = await self.graph.read(
            queries.co_bought_pages, [{"asin": k.asin, "first": k.first, "after": k.after} for k in keys])
        return _by_index(rows, len(keys))

    async def _intention_pages(self, keys: list[PageKey]) -> list[list[dict]]:
        rows = await self.graph.read(queries.intention_pages, [k._asdict() for k in keys])
        return _by_index(rows, len(keys))

    async def _explained(self, ids: list[str]) -> list[list[str]]:
        found = {r["id"]: r["asins"] for r in await self.graph.read(queries.explained_products, list(ids))}
        return [found.get(i, []) for i in ids]

    def prime_products(self, products: list[dict]) -> None:
        for p in products:
            self.product.prime(p["asin"], p)


def _by_index(rows: list[dict], n: int) -> list[list[dict]]:
    out: list[list[dict]] = [[] for _ in range(n)]
    for row in rows:
        out[row["ix"]] = row["items"]
    return out
