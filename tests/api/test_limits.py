"""The event loop stays free: documents bounded before GraphQL reads them, prepared off the loop,
kept in a cache bounded in bytes, and answers bounded by an estimated cost.

Faults these hold shut: four clients sending distinct ~1 MB documents (a search with a 1 MB text
inlined, under the body limit) kept the loop parsing and validating and pushed another client's
search from 4 ms to 2.9 s p50, each filling a slot of the document cache; 1,990 `__typename` in
22 KB took 2.2 s to validate; 20 aliases of one wide nested search returned 9.2 MB in 5.7 s.
The latency itself is measured by `python -m benchmarks.flood` (docs/reliability.md); these tests
hold the mechanisms.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse

import api.limits
from api.cost import estimated_cost
from api.limits import PARSED_BYTES_PER_TOKEN, BoundedDocument
from api.schema import build_schema, list_size

MEGABYTE_SEARCH = '{ searchIntentions(text: "' + "y" * 1_000_000 + '") { score } }'
WIDE_SEARCH = "{ " + " ".join(
    f'a{n}: searchIntentions(text: "tent", k: 100) {{ intention {{ products {{ coBought(first: 100) '
    f"{{ nodes {{ title }} }} }} }} }}" for n in range(20)) + " }"


def documents(client) -> BoundedDocument:
    return next(e for e in client.app.state.schema.extensions if isinstance(e, BoundedDocument))


@pytest.fixture
def parser_calls(monkeypatch) -> list[str]:
    """Every call of the GraphQL parser (ours and strawberry's), by the thread that made it."""
    calls: list[str] = []

    def counting(original):
        def parse_counted(*args, **kwargs):
            calls.append(threading.current_thread().name)
            return original(*args, **kwargs)
        return parse_counted

    monkeypatch.setattr(api.limits, "parse", counting(api.limits.parse))
    monkeypatch.setattr(strawberry_schema, "parse", counting(strawberry_schema.parse))
    return calls


def message(response) -> str:
    assert "Traceback" not in response.text
    return response.json()["errors"][0]["message"]


# --- documents ----------------------------------------------------------------------------------
def test_a_megabyte_document_is_refused_before_graphql(client, parser_calls):
    cache = documents(client)
    held, parsed = dict(cache._cache), cache.parsed
    # A megabyte body is refused on its declared length, or after 64 KiB when it declares none.
    response = client.post("/graphql", json={"query": MEGABYTE_SEARCH})
    assert response.status_code == 413 and "request body is larger than 65536 bytes" in message(response)
    streamed = client.post("/graphql", content=iter([b'{"query": "' + b"y" * 65_536] * 16),
                           headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and "request body is larger than" in message(streamed)
    # A document over its own bound, in a body under the body's, is refused before GraphQL reads it.
    for content_type in ("application/json", "application/json; charset=utf-8"):
        response = client.post("/graphql", json={"query": MEGABYTE_SEARCH[:30_000] + '") { score } }'},
                               headers={"Content-Type": content_type})
        assert response.status_code == 413
        assert "larger than 20000 bytes" in message(response) and "variables" in message(response)
    # Over GET: a query string beyond three times the limit is not even decoded; a decoded one is measured.
    too_long = client.get("/graphql", params={"query": MEGABYTE_SEARCH[:62_000]})
    assert too_long.status_code == 414 and "query string is longer" in message(too_long)
    over = client.get("/graphql", params={"query": "{ relations { name } }" + " " * 25_000})
    assert over.status_code == 413 and "larger than 20000 bytes" in message(over)
    assert parser_calls == [] and cache.parsed == parsed and cache._cache == held
    # The same text as a variable is an ordinary request, refused by the argument's own bound.
    long_text = client.post("/graphql", json={"query": "query($t: String!) { searchIntentions(text: $t) { score } }",
                                              "variables": {"t": "y" * 30_000}})
    assert long_text.status_code == 200 and "longer than 1000 characters" in message(long_text)


def test_a_wide_document_is_refused_before_validation(client, monkeypatch):
    validations: list[int] = []
    original = api.limits.validate_document
    monkeypatch.setattr(api.limits, "validate_document",
                        lambda *a, **k: validations.append(1) or original(*a, **k))
    # 1,700 fields of one name in 18.7 KB: under the byte and token limits; validation alone took seconds.
    wide = "{ " + "__typename " * 1700 + "}"
    response = client.post("/graphql", json={"query": wide})
    assert response.status_code == 200 and "selects more than 200 fields" in message(response)
    assert validations == []
    fine = client.post("/graphql", json={"query": "{ __typename }  # after the wide one"})
    assert fine.json()["data"] == {"__typename": "Query"}
    assert validations == [1]


def test_new_documents_are_prepared_off_the_event_loop_and_once(client, parser_calls):
    query = "query($t: String!) { searchIntentions(text: $t, k: 2) { score } }  # prepared once"
    for text in ("tent", "phone case", "yoga"):
        response = client.post("/graphql", json={"query": query, "variables": {"t": text}})
        assert response.status_code == 200 and not response.json().get("errors"), response.text
    assert parser_calls == ["graphql-documents_0"]


def test_the_document_cache_is_bounded_in_bytes(settings):
    schema = build_schema(settings.model_copy(update={"api_document_cache": 1000,
                                                      "api_document_cache_bytes": 300_000}))
    cache = next(e for e in schema.extensions if isinstance(e, BoundedDocument))

    async def run_all():
        for n in range(12):  # 190 fields each: about 127 KB parsed, so two fit
            result = await schema.execute(f"# {n}\n{{ " + "__typename " * 190 + "}")
            assert result.errors is None

    asyncio.run(run_all())
    weights = [entry.weight for entry in cache._cache.values()]
    assert len(weights) == 2 and sum(weights) == cache.cached_bytes <= 300_000
    assert all(w >= 190 * PARSED_BYTES_PER_TOKEN for w in weights)
    assert settings.api_document_cache_bytes > 0  # bounded by default too


# --- cost -------------------------------------------------------------------------------------------
def test_a_wide_nested_answer_is_refused_before_it_runs(client):
    for response in (client.post("/graphql", json={"query": WIDE_SEARCH}),
                     client.get("/graphql", params={"query": WIDE_SEARCH})):
        assert response.status_code == 200
        assert "Query is too expensive" in message(response) and "first, k" in message(response)
        assert response.json()["extensions"]["dbRoundTrips"] == 0  # nothing ran
    # The same search, narrower, is answered.
    narrow = WIDE_SEARCH.replace("k: 100", "k: 2").replace("first: 100", "first: 5")
    body = client.post("/graphql", json={"query": narrow}).json()
    assert not body.get("errors") and len(body["data"]["a0"]) == 2


def test_cost_follows_variables_defaults_and_fragments(client, settings):
    page = """query($n: Int!) { product(asin: "B0TENT0001") { coBought(first: $n) { nodes { asin
        intentions(first: $n) { nodes { text products { asin } } } } } } }"""
    assert "too expensive" in message(client.post("/graphql", json={"query": page, "variables": {"n": 100}}))
    body = client.post("/graphql", json={"query": page, "variables": {"n": 5}}).json()
    assert not body.get("errors") and body["data"]["product"]["coBought"]["nodes"]
    schema = build_schema(settings)._schema

    def cost(query: str, variables: dict | None = None) -> int:
        return estimated_cost(schema, parse(query), None, variables, list_size, 10**9)

    inline = '{ searchIntentions(text: "t", k: 7) { score intention { text products { asin } } } }'
    spread = ('query { searchIntentions(text: "t", k: 7) { score intention { ...I } } } '
              "fragment I on Intention { text products { asin } }")
    assert cost(inline) == cost(spread) == 1 + 7 * (1 + 1 + 1 + 1 + 2 * 1)
    # `first` defaults to 10, and a connection's edges and nodes take its page size.
    assert cost('{ product(asin: "x") { coBought { nodes { asin } } } }') == 1 + 1 + 1 + 10
    assert cost('query($k: Int = 3) { recommend(intention: "t", k: $k) { score } }') == 1 + 3
