"""retrieval.search on a real Neo4j with real MiniLM vectors: ranking, k, filters and typed hits."""

from __future__ import annotations

from collections.abc import Callable

from embedding.encoder import TextEncoder
from graph.aio import AsyncGraph
from mindkb.settings import Settings
from retrieval.records import Hit, IntentionRecord
from retrieval.requests import SearchRequest
from retrieval.search import search
from tests.retrieval.conftest import NOISE

CAMPING = "they are both used for camping outdoors overnight in the wilderness"
DECOR = "the person wants to decorate a living room with soft furniture"  # REJECTED
NOISY = {text for *_, text in NOISE}


def hits(run: Callable, encoder: TextEncoder, settings: Settings, **values: object) -> list[Hit]:
    request = SearchRequest(**values)
    embedding = encoder.encode_one(request.text)

    async def work(graph: AsyncGraph) -> list[Hit]:
        return await search(graph, request, embedding, max_fetch=settings.api_search_max_fetch,
                            min_fetch=settings.api_search_min_fetch)

    return run(work)


def test_the_nearest_intention_ranks_first_as_a_typed_hit(run, encoder, settings, kb):
    found = hits(run, encoder, settings, text="a night of camping in the wilderness", k=5)
    assert [type(h) for h in found] == [Hit] * 5
    best = found[0]
    assert isinstance(best.intention, IntentionRecord) and best.intention.text == CAMPING
    assert best.intention.id == kb[CAMPING] and best.intention.relation == "UsedFor"
    assert best.intention.status == "ACCEPTED" and best.intention.source == "mind"
    assert (best.intention.asin_a, best.intention.asin_b) == ("B0TENT0001", "B0SLEEP001")
    assert best.intention.prompt_version == "v1" and best.intention.model == "test-model"
    scores = [h.score for h in found]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert abs(best.cosine - (2 * best.score - 1)) < 1e-9


def test_k_bounds_the_answer(run, encoder, settings, kb):
    assert len(hits(run, encoder, settings, text="phone", k=1)) == 1
    three = hits(run, encoder, settings, text="phone", k=3)
    assert len(three) == 3 and three[0] == hits(run, encoder, settings, text="phone", k=1)[0]
    accepted = sum(1 for t in kb if t != DECOR and t not in NOISY and "kitchen item" not in t)
    assert len(hits(run, encoder, settings, text="phone", k=100)) == accepted  # every accepted, real one


def test_statuses_and_relation_filter(run, encoder, settings, kb):
    text = "decorate a living room with soft furniture"
    assert DECOR not in {h.intention.text for h in hits(run, encoder, settings, text=text, k=100)}
    every = hits(run, encoder, settings, text=text, k=3, all_statuses=True)
    assert every[0].intention.text == DECOR and every[0].intention.status == "REJECTED"
    used_for = hits(run, encoder, settings, text="camping", k=20, relation="CapableOf")
    assert [h.intention.text for h in used_for] == ["they both are capable of supporting a weekend camping trip"]


def test_noise_is_left_out_unless_its_source_is_named(run, encoder, settings, kb):
    text = "camping outdoors overnight in the wild woods"
    default = {h.intention.text for h in hits(run, encoder, settings, text=text, k=100)}
    assert CAMPING in default and not default & NOISY
    noisy = hits(run, encoder, settings, text=text, k=100, sources=["noise"])
    assert {h.intention.text for h in noisy} == NOISY
    both = hits(run, encoder, settings, text=text, k=3, sources=["mind", "noise"])
    assert both[0].intention.text in NOISY  # nearest once asked for
    assert hits(run, encoder, settings, text=text, k=10, sources=["intentionqa"]) == []
