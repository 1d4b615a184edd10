"""The request models: each bound once, refused with one line naming the argument as the API does."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from retrieval.requests import CANDIDATES_MAX, K_MAX, TEXT_MAX, RecommendRequest, SearchRequest, request_problem


def problem(model: type, **values: object) -> str:
    with pytest.raises(ValidationError) as refused:
        model(**values)
    return request_problem(refused.value)


@pytest.mark.parametrize("k", [0, -1, K_MAX + 1])
def test_k_out_of_bounds_is_refused(k: int) -> None:
    assert problem(SearchRequest, text="tent", k=k) == f"k must be between 1 and {K_MAX}"
    assert problem(RecommendRequest, intention="tent", k=k) == f"k must be between 1 and {K_MAX}"


def test_k_at_its_bounds_is_kept() -> None:
    assert SearchRequest(text="tent", k=1).k == 1 and SearchRequest(text="tent", k=K_MAX).k == K_MAX
    assert SearchRequest(text="tent").k == 10


def test_texts_are_bounded_and_not_blank() -> None:
    assert problem(SearchRequest, text="  ") == "text must not be empty"
    assert problem(RecommendRequest, intention="a" * (TEXT_MAX + 1)) == f"intention is longer than {TEXT_MAX} characters"
    assert SearchRequest(text="a" * TEXT_MAX).text == "a" * TEXT_MAX


def test_asins_and_candidates() -> None:
    assert problem(RecommendRequest, intention="x", context_asin="") == "contextAsin must be 1 to 64 characters"
    assert problem(RecommendRequest, intention="x", candidates=[]) == f"candidates must list 1 to {CANDIDATES_MAX} asins"
    many = [f"B{n:09d}" for n in range(CANDIDATES_MAX + 1)]
    assert problem(RecommendRequest, intention="x", candidates=many) == f"candidates must list 1 to {CANDIDATES_MAX} asins"
    assert problem(RecommendRequest, intention="x", candidates=["B1", "x" * 65]) == "candidates must be 1 to 64 characters"
    assert RecommendRequest(intention="x", candidates=["B2", "B1", "B2"]).candidates == ("B2", "B1")


def test_sources_statuses_and_relation() -> None:
    assert SearchRequest(text="x").sources is None and SearchRequest(text="x").source_list is None
    assert SearchRequest(text="x", sources=[" mind ", "noise", "mind"]).sources == ("mind", "noise")
    assert "sources needs 1 to 50 names" in problem(SearchRequest, text="x", sources=[" "])
    assert SearchRequest(text="x").statuses == ["ACCEPTED"]
    assert SearchRequest(text="x", all_statuses=True).statuses is None
    assert problem(SearchRequest, text="x", relation="Nope") == "unknown relation 'Nope'"
    assert SearchRequest(text="x", relation="UsedFor").relation == "UsedFor"


def test_requests_are_frozen_and_strict() -> None:
    request = SearchRequest(text="x")
    with pytest.raises(ValidationError):
        request.k = 5  # type: ignore[misc]
    assert problem(SearchRequest, text="x", top=3).startswith("top:")
