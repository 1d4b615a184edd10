"""retrieval.recommend on a real Neo4j with real MiniLM vectors: ranking, k, context, candidates,
sources and the typed candidates it answers."""

from __future__ import annotations

from collections.abc import Callable

from embedding.encoder import TextEncoder
from graph.aio import AsyncGraph
from mindkb.settings import Settings
from retrieval.recommend import EVIDENCE_PER_PRODUCT, Candidate, Ranking, recommend
from retrieval.records import Hit, ProductRecord
from retrieval.requests import RecommendRequest
from tests.retrieval.conftest import NOISE

NOISY = {text for *_, text in NOISE}


def ranking(run: Callable, encoder: TextEncoder, settings: Settings, **values: object) -> Ranking:
    request = RecommendRequest(**values)
    embedding = encoder.encode_one(request.intention)

    async def work(graph: AsyncGraph) -> Ranking:
        return await recommend(graph, request, embedding, settings=settings)

    return run(work)


def test_products_for_an_intention_rank_best_first_as_typed_candidates(run, encoder, settings, kb):
    found = ranking(run, encoder, settings, intention="protect my phone from drops", k=3)
    assert isinstance(found, Ranking) and found.context_known
    assert len(found.candidates) == 3 and all(isinstance(c, Candidate) for c in found.candidates)
    best = found.candidates[0]
    assert isinstance(best.product, ProductRecord) and best.product.asin in {"B0CASE0001", "B0PHONE001"}
    assert best.product.title and best.product.brand and best.product.main_cat == "Test"
    assert best.evidence and all(isinstance(e, Hit) for e in best.evidence)
    assert len(best.evidence) <= EVIDENCE_PER_PRODUCT
    assert "protecting a mobile phone" in (best.evidence[0].intention.text or "")
    scores = [c.score for c in found.candidates]
    assert scores == sorted(scores, reverse=True)


def test_k_context_and_candidates(run, encoder, settings, kb):
    assert len(ranking(run, encoder, settings, intention="camping trip", k=1).candidates) == 1
    beside = ranking(run, encoder, settings, intention="camping trip", k=5, context_asin="B0TENT0001")
    asins = [c.product.asin for c in beside.candidates]
    assert "B0TENT0001" not in asins and asins[0] in {"B0SLEEP001", "B0STOVE001"}
    unknown = ranking(run, encoder, settings, intention="camping trip", k=5, context_asin="B0NOPE0000")
    assert unknown.context_known is False
    chosen = ranking(run, encoder, settings, intention="camping trip", k=10, candidates=["B0MUG00001", "B0SLEEP001"])
    assert [c.product.asin for c in chosen.candidates] == ["B0SLEEP001", "B0MUG00001"]


def test_evidence_leaves_noise_out_unless_asked(run, encoder, settings, kb):
    text = "camping outdoors overnight in the wild woods"

    def evidence(**values: object) -> set[str]:
        found = ranking(run, encoder, settings, intention=text, k=10, **values)
        return {e.intention.text or "" for c in found.candidates for e in c.evidence}

    assert not evidence() & NOISY
    assert evidence(sources=["noise"]) == NOISY
