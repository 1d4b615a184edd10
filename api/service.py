"""What the resolvers do beyond one lookup: text embedding, filtered vector search, recommendation.

Recommendation score (see docs/api.md):
  intention = best cosine of an accepted intention near the text that EXPLAINS the product
  product   = cosine of the product's own vector to the text
  complement= 1 if co-bought with contextAsin, 0.5 if co-bought with a product like it, else 0
  score     = w_i * intention + w_p * product + w_c * complement   (weights: settings)
Cosines are raw ([-1, 1]); Neo4j's normalised scores s in [0, 1] are mapped back with 2s - 1.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from graph import queries
from graph.aio import AsyncGraph
from mindkb.ids import pair_key
from mindkb.settings import Settings

ACCEPTED = ["ACCEPTED"]
EVIDENCE_PER_PRODUCT = 3
SIMILAR_TO_CONTEXT = 10


class Embedder:
    """The sentence model, loaded once; encoding runs in a worker thread to keep the loop free.

    Recent texts' vectors are kept (LRU, `cache` entries): a repeated query costs no encode.
    """

    def __init__(self, model, name: str, cache: int = 0):
        self.model = model
        self.name = name
        self.cache_size = cache
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self.hits = 0

    def _encode(self, text: str) -> list[float]:
        return self.model.encode(
            [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0].tolist()

    async def __call__(self, text: str) -> list[float]:
        if (vector := self._cache.get(text)) is not None:
            self._cache.move_to_end(text)
            self.hits += 1
            return vector
        vector = await asyncio.to_thread(self._encode, text)
        if self.cache_size:
            self._cache[text] = vector
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector


def cosine(normalised: float | None) -> float:
    return 0.0 if normalised is None else 2.0 * float(normalised) - 1.0


async def search(
    graph: AsyncGraph, embedding: list[float], k: int, relation: str | None, statuses: list[str] | None,
    max_fetch: int, min_fetch: int = 50,
) -> list[dict]:
    """Best k hits after filtering: over-fetch 4x (at least min_fetch), then 4x while too few survive.

    The over-fetch also buys recall (HNSW's own top k misses true neighbours; see
    BENCHMARKS.md, "Benchmarks at the paper's scale"), so even an unfiltered search asks for min_fetch.
    """
    fetch = min(max(4 * k, min_fetch), max_fetch)
    while True:
        found = await graph.read(queries.search_intentions, embedding, k, fetch, relation, statuses)
        if len(found["hits"]) >= k or found["raw"] < fetch or fetch >= max_fetch:
            return found["hits"]
        fetch = min(fetch * 4, max_fetch)


async def _none() -> None:
    return None


@dataclass
class Candidate:
    product: dict
    score: float = 0.0
    evidence: list[dict] = field(default_factory=list)


async def recommend(
    graph: AsyncGraph, settings: Settings, embedding: list[float], k: int,
    context: str | None, candidates: list[str] | None,
    exclude_intentions: frozenset[str] = frozenset(), exclude_pairs: frozenset[tuple[str, str]] = frozenset(),
) -> list[Candidate]:
    """`exclude_*` withhold facts (intention ids) and co-buy pairs (pair_key order); used by
    `mind eval intentionqa --mode kb` so a question's own pair is not known."""
    # The three lookups are independent: one concurrent round trip instead of three in a row.
    evidence_rows, comp, similar = await asyncio.gather(
        graph.read(queries.intention_evidence, embedding,
                   settings.recommend_intention_pool + len(exclude_intentions), ACCEPTED),
        graph.read(queries.complements, context, SIMILAR_TO_CONTEXT) if context is not None else _none(),
        graph.read(queries.similar_products, embedding, settings.recommend_product_pool)
        if candidates is None else _none(),
    )
    intention_score: dict[str, float] = {}
    evidence: dict[str, list[dict]] = {}
    for row in evidence_rows:  # best first
        if row["i"]["id"] in exclude_intentions:
            continue
        s = max(0.0, cosine(row["score"]) - settings.recommend_evidence_floor)
        for asin in row["asins"]:
            intention_score.setdefault(asin, s)
            if len(evidence.setdefault(asin, [])) < EVIDENCE_PER_PRODUCT:
                evidence[asin].append({"score": row["score"], "i": row["i"]})

    direct: set[str] = set()
    indirect: set[str] = set()
    if comp is not None:
        direct = {a for a in comp["direct"] if pair_key(context, a) not in exclude_pairs}
        indirect = set(comp["indirect"]) - direct

    if candidates is not None:
        pool = list(dict.fromkeys(candidates))
    else:
        pool = list(dict.fromkeys([*intention_score, *similar, *sorted(direct), *sorted(indirect)]))
    pool = [a for a in pool if a != context]

    scored = await graph.read(queries.score_products, pool, embedding)
    out = []
    for row in scored:
        asin = row["p"]["asin"]
        complement = 1.0 if asin in direct else 0.5 if asin in indirect else 0.0
        score = (settings.recommend_weight_intention * intention_score.get(asin, 0.0)
                 + settings.recommend_weight_product * cosine(row["sim"])
                 + settings.recommend_weight_complement * complement)
        out.append(Candidate(row["p"], round(score, 6), evidence.get(asin, [])))
    out.sort(key=lambda c: (-c.score, c.product["asin"]))
    return out[:k]
