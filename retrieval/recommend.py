"""Recommendation: products for an intention text, scored from the knowledge base.

Score (see docs/api.md):
  intention = best cosine of an accepted intention near the text that EXPLAINS the product
  product   = cosine of the product's own vector to the text
  complement= 1 if co-bought with contextAsin, 0.5 if co-bought with a product like it, else 0
  score     = w_i * intention + w_p * product + w_c * complement   (weights: settings)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from graph import queries
from graph.aio import AsyncGraph
from mindkb.ids import pair_key
from mindkb.settings import Settings
from retrieval.search import ACCEPTED, cosine

EVIDENCE_PER_PRODUCT = 3
SIMILAR_TO_CONTEXT = 10


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
    sources: list[str] | None = None,
) -> list[Candidate]:
    """`exclude_*` withhold facts (intention ids) and co-buy pairs (pair_key order), and `sources`
    keeps only facts of those sources; used by `mind eval intentionqa --mode kb`."""
    # The three lookups are independent: one concurrent round trip instead of three in a row.
    evidence_rows, comp, similar = await asyncio.gather(
        graph.read(queries.intention_evidence, embedding,
                   settings.recommend_intention_pool + len(exclude_intentions), ACCEPTED, sources),
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
