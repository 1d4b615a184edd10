"""Filtered vector search over intentions, with the over-fetch that buys recall.

Cosines are raw ([-1, 1]); Neo4j's normalised scores s in [0, 1] are mapped back with 2s - 1.
"""

from __future__ import annotations

from graph import queries
from graph.aio import AsyncGraph

ACCEPTED = ["ACCEPTED"]


def cosine(normalised: float | None) -> float:
    return 0.0 if normalised is None else 2.0 * float(normalised) - 1.0


async def search(
    graph: AsyncGraph, embedding: list[float], k: int, relation: str | None, statuses: list[str] | None,
    max_fetch: int, min_fetch: int = 50, sources: list[str] | None = None,
) -> list[dict]:
    """Best k hits after filtering: over-fetch 4x (at least min_fetch), then 4x while too few survive.
    `sources`: graph/sources.py (None: every source but the noise of a model with random weights).

    The over-fetch also buys recall (HNSW's own top k misses true neighbours; see
    BENCHMARKS.md, "Benchmarks at the paper's scale"), so even an unfiltered search asks for min_fetch.
    """
    fetch = min(max(4 * k, min_fetch), max_fetch)
    while True:
        found = await graph.read(queries.search_intentions, embedding, k, fetch, relation, statuses, sources)
        if len(found["hits"]) >= k or found["raw"] < fetch or fetch >= max_fetch:
            return found["hits"]
        fetch = min(fetch * 4, max_fetch)
