"""Filtered vector search over intentions, with the over-fetch that buys recall.

Cosines are raw ([-1, 1]); Neo4j's normalised scores s in [0, 1] are mapped back with 2s - 1.
"""

from __future__ import annotations

from graph import queries
from graph.aio import AsyncGraph
from retrieval.records import Hit, cosine
from retrieval.requests import ACCEPTED, SearchRequest

__all__ = ["ACCEPTED", "cosine", "search"]


async def search(
    graph: AsyncGraph, request: SearchRequest, embedding: list[float], *, max_fetch: int, min_fetch: int = 50,
) -> list[Hit]:
    """Best `request.k` hits after filtering: over-fetch 4x (at least min_fetch), then 4x while too few
    survive. `request.sources`: graph/sources.py (None: every source but the noise of a model with random weights).

    The over-fetch also buys recall (HNSW's own top k misses true neighbours; see
    BENCHMARKS.md, "Benchmarks at the paper's scale"), so even an unfiltered search asks for min_fetch.
    """
    k = request.k
    fetch = min(max(4 * k, min_fetch), max_fetch)
    while True:
        found = await graph.read(queries.search_intentions, embedding, k, fetch, request.relation,
                                 request.statuses, request.source_list)
        if len(found["hits"]) >= k or found["raw"] < fetch or fetch >= max_fetch:
            return [Hit.of(h) for h in found["hits"]]
        fetch = min(fetch * 4, max_fetch)
