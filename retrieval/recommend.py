"""Recommendation: products for an intention text, scored from the knowledge base.

Score (see docs/api.md):
  intention = best cosine of an accepted intention near the text that EXPLAINS the product
  product   = cosine of the product's own vector to the text
  complement= 1 if co-bought with contextAsin, 0.5 if co-bought with a product like it, else 0
  score     = w_i * intention + w_p * product + w_c * complement   (weights: settings)
"""

from __future__ import annotations

from dataclasses import dataclass

from graph import queries
from graph.aio import AsyncGraph
from mindkb.settings import Settings
from retrieval.records import Hit, ProductRecord, cosine
from retrieval.requests import ACCEPTED, RecommendRequest

EVIDENCE_PER_PRODUCT = 3
SIMILAR_TO_CONTEXT = 10


@dataclass(frozen=True, slots=True)
class Candidate:
    product: ProductRecord
    score: float
    evidence: tuple[Hit, ...] = ()


@dataclass(frozen=True, slots=True)
class Ranking:
    """Best `k` first; `context_known` says whether the context asin names a product (the API
    refuses one that does not; the evaluation's questions may name products the graph lacks)."""

    candidates: tuple[Candidate, ...]
    context_known: bool


async def recommend(
    graph: AsyncGraph, request: RecommendRequest, embedding: list[float], *, settings: Settings,
    exclude_intentions: frozenset[str] = frozenset(), exclude_pairs: frozenset[tuple[str, str]] = frozenset(),
) -> Ranking:
    """`exclude_*` withhold facts (intention ids) and co-buy pairs (pair_key order), used by `mind eval
    intentionqa --mode kb`; `request.sources` keeps only facts of those sources (graph/sources.py; None:
    all but noise). `settings` give the weights and pools. One round trip; an unknown context adds no complements."""
    context = request.context_asin
    withheld = sorted({b if a == context else a for a, b in exclude_pairs if context in (a, b)})
    facts = await graph.read(
        queries.recommendation_facts, embedding,
        intention_fetch=settings.recommend_intention_pool + len(exclude_intentions), statuses=list(ACCEPTED),
        sources=request.source_list, exclude_ids=sorted(exclude_intentions), context=context, withheld=withheld,
        neighbours=SIMILAR_TO_CONTEXT, product_fetch=settings.recommend_product_pool,
        candidates=list(request.candidates) if request.candidates is not None else None,
    )
    intention_score: dict[str, float] = {}
    evidence: dict[str, list[Hit]] = {}
    for row in facts["evidence"]:  # best first
        hit = Hit.of(row)
        s = max(0.0, hit.cosine - settings.recommend_evidence_floor)
        for asin in row["asins"]:
            intention_score.setdefault(asin, s)
            if len(evidence.setdefault(asin, [])) < EVIDENCE_PER_PRODUCT:
                evidence[asin].append(hit)
    direct, indirect = set(facts["direct"]), set(facts["indirect"])

    out = []
    for row in facts["scored"]:
        product = ProductRecord.of(row["p"])
        complement = 1.0 if product.asin in direct else 0.5 if product.asin in indirect else 0.0
        score = (settings.recommend_weight_intention * intention_score.get(product.asin, 0.0)
                 + settings.recommend_weight_product * cosine(row["sim"])
                 + settings.recommend_weight_complement * complement)
        out.append(Candidate(product, round(score, 6), tuple(evidence.get(product.asin, ()))))
    out.sort(key=lambda c: (-c.score, c.product.asin))
    return Ranking(tuple(out[:request.k]), context is None or facts["contextKnown"])
