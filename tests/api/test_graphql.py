"""The GraphQL API against a real Neo4j and the real MiniLM, through the ASGI app (TestClient)."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.keys import key_id
from api.limits import BoundedDocument
from api.schema import build_schema
from tests.support.api_graph import PAGED, build_embedded_graph

KEY = "test-curator-key-123"


@pytest.fixture(scope="module")
def kb(driver, settings):
    return build_embedded_graph(driver, settings)


@pytest.fixture(scope="module")
def client(kb, settings):
    with TestClient(create_app(settings.model_copy(update={"api_key": SecretStr(KEY)}))) as c:
        yield c


def gql(client, query: str, variables: dict | None = None, headers: dict | None = None) -> dict:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert response.status_code in (200, 400), response.text
    assert "Traceback" not in response.text
    return response.json()


def ok(client, query, variables=None, headers=None) -> dict:
    body = gql(client, query, variables, headers)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def error(client, query, variables=None, headers=None) -> str:
    body = gql(client, query, variables, headers)
    assert body.get("errors"), body
    return body["errors"][0]["message"]


def test_product_with_co_bought_and_intentions(client):
    data = ok(client, """{ product(asin: "B0TENT0001") { asin title
        coBought(first: 5) { nodes { asin } pageInfo { hasNextPage } }
        intentions(first: 10) { nodes { text relation status } } } }""")
    p = data["product"]
    assert p["title"] == "Four-person waterproof dome tent"
    assert [n["asin"] for n in p["coBought"]["nodes"]] == ["B0SLEEP001", "B0STOVE001"]
    assert p["coBought"]["pageInfo"]["hasNextPage"] is False
    relations = {(n["relation"], n["status"]) for n in p["intentions"]["nodes"]}
    assert relations == {("USED_FOR", "ACCEPTED"), ("CAPABLE_OF", "ACCEPTED"), ("CAUSE", "REJECTED")}
    only = ok(client, """{ product(asin: "B0TENT0001") { intentions(status: REJECTED) { nodes { relation } } } }""")
    assert only["product"]["intentions"]["nodes"] == [{"relation": "CAUSE"}]


def test_intention_pagination_walks_every_item_once(client):
    query = """query($after: String) { product(asin: "B0CASE0001") {
        intentions(first: 5, after: $after, relation: PROPERTY_OF) {
          edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }"""
    seen, after, pages = [], None, 0
    while True:
        page = ok(client, query, {"after": after})["product"]["intentions"]
        seen += [e["node"]["id"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = [t for t in PAGED if t[2] == "PropertyOf"]
    assert len(seen) == len(set(seen)) == len(expected) and pages == 2
    assert seen == sorted(seen)
    co = ok(client, """{ product(asin: "B0TENT0001") { coBought(first: 1) { pageInfo { hasNextPage endCursor } } } }""")
    cursor = co["product"]["coBought"]["pageInfo"]["endCursor"]
    assert co["product"]["coBought"]["pageInfo"]["hasNextPage"] is True
    nxt = ok(client, """query($c: String) { product(asin: "B0TENT0001") { coBought(first: 1, after: $c) {
        nodes { asin } pageInfo { hasNextPage } } } }""", {"c": cursor})
    assert nxt["product"]["coBought"]["nodes"] == [{"asin": "B0STOVE001"}]
    assert "invalid cursor" in error(client, """{ product(asin: "B0TENT0001") { coBought(after: "zz!") { nodes { asin } } } }""")


def test_pair_intentions_either_order_and_rejected(client):
    q = """query($a: ID!, $b: ID!, $r: Boolean!) { pairIntentions(asinA: $a, asinB: $b, includeRejected: $r) {
        text status rationale products { asin } } }"""
    ab = ok(client, q, {"a": "B0TENT0001", "b": "B0SLEEP001", "r": False})["pairIntentions"]
    ba = ok(client, q, {"a": "B0SLEEP001", "b": "B0TENT0001", "r": False})["pairIntentions"]
    assert ab == ba and [i["status"] for i in ab] == ["ACCEPTED"]
    assert {p["asin"] for p in ab[0]["products"]} == {"B0TENT0001", "B0SLEEP001"}
    everything = ok(client, q, {"a": "B0SLEEP001", "b": "B0TENT0001", "r": True})["pairIntentions"]
    assert {i["status"] for i in everything} == {"ACCEPTED", "REJECTED"}
    assert any(i["rationale"].startswith("No,") for i in everything)
    used = ok(client, """{ pairIntentions(asinA: "B0PHONE001", asinB: "B0CASE0001", relation: USED_FOR) { relation } }""")
    assert used["pairIntentions"] == [{"relation": "USED_FOR"}]


def test_search_intentions_best_first_and_filters(client):
    hits = ok(client, """{ searchIntentions(text: "I need to protect my phone screen from breaking", k: 3) {
        score intention { text status } } }""")["searchIntentions"]
    assert "protecting a mobile phone" in hits[0]["intention"]["text"]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and len(hits) == 3
    assert all(h["intention"]["status"] == "ACCEPTED" for h in hits)
    # The rejected decor intention is only found on request.
    q = """query($all: Boolean!) { searchIntentions(text: "decorate a living room with soft furniture", k: 1,
        allStatuses: $all) { intention { status } } }"""
    assert ok(client, q, {"all": False})["searchIntentions"][0]["intention"]["status"] == "ACCEPTED"
    assert ok(client, q, {"all": True})["searchIntentions"][0]["intention"]["status"] == "REJECTED"
    # A relation filter still returns k hits (over-fetching past the nearest, unrelated ones).
    rel = ok(client, """{ searchIntentions(text: "camping trip", k: 4, relation: RELATED_TO) {
        intention { relation } } }""")["searchIntentions"]
    assert len(rel) == 4 and {h["intention"]["relation"] for h in rel} == {"RELATED_TO"}


def test_recommend_plain_context_and_candidates(client):
    q = """query($t: String!, $c: ID, $cand: [ID!], $k: Int!) { recommend(intention: $t, k: $k, contextAsin: $c,
        candidates: $cand) { product { asin } score evidence { score intention { text } } } }"""
    recs = ok(client, q, {"t": "practicing yoga poses at home", "k": 5})["recommend"]
    assert recs[0]["product"]["asin"] in {"B0YOGA0001", "B0BLOCK001"}
    assert recs[0]["evidence"] and "yoga" in recs[0]["evidence"][0]["intention"]["text"]
    assert [r["score"] for r in recs] == sorted([r["score"] for r in recs], reverse=True)

    # With the tent as context, the tent itself is excluded and its complements lead.
    ctx = ok(client, q, {"t": "sleeping outdoors on a camping trip", "c": "B0TENT0001", "k": 5})["recommend"]
    asins = [r["product"]["asin"] for r in ctx]
    assert "B0TENT0001" not in asins and asins[0] == "B0SLEEP001"

    # Candidates: every candidate is scored (even without supporting intentions), nothing else.
    cands = ["B0KETTLE01", "B0LONELY01", "B0CHARGE01"]
    got = ok(client, q, {"t": "watering the plants in my garden", "cand": cands, "k": 10})["recommend"]
    assert sorted(r["product"]["asin"] for r in got) == sorted(cands)
    assert got[0]["product"]["asin"] == "B0LONELY01" and got[0]["evidence"] == []


def test_relations_stats(client):
    rows = ok(client, "{ relations { name relation template total accepted preserveRate } }")["relations"]
    assert len(rows) == 20
    by = {r["name"]: r for r in rows}
    assert by["UsedFor"]["template"] == "they are both used for" and by["UsedFor"]["relation"] == "USED_FOR"
    assert by["Cause"]["total"] == 1 and by["Cause"]["preserveRate"] == 0.0
    assert by["UsedFor"]["accepted"] == 4 and by["UsedFor"]["preserveRate"] == 1.0
    assert by["DefinedAs"]["total"] == 0 and by["DefinedAs"]["preserveRate"] is None


MUTATION = """mutation($id: ID!) { setIntentionStatus(id: $id, status: ACCEPTED, note: "decor is fine") {
    status curatedBy curatedAt curatorNote } }"""


def test_mutation_requires_the_key(client, kb, driver, settings):
    target = kb["the person wants to decorate a living room with soft furniture"]
    assert "API key" in error(client, MUTATION, {"id": target})
    assert "API key" in error(client, MUTATION, {"id": target}, {"X-API-Key": "wrong"})
    records, _, _ = driver.execute_query("MATCH (i:Intention {id: $id}) RETURN i.status AS s", id=target,
                                         database_=settings.neo4j_database)
    assert records[0]["s"] == "REJECTED"
    done = ok(client, MUTATION, {"id": target}, {"Authorization": f"Bearer {KEY}", "X-Curator": "alice"})
    row = done["setIntentionStatus"]
    # The claimed name is recorded with the id of the key that proved the write.
    assert row["curatedBy"] == f"alice (key {key_id(KEY)})"
    assert row["status"] == "ACCEPTED" and row["curatorNote"] == "decor is fine"
    assert row["curatedAt"]
    assert "unknown intention" in error(client, MUTATION, {"id": "int_nope"}, {"X-API-Key": KEY})
    # Put it back for the other tests.
    driver.execute_query("MATCH (i:Intention {id: $id}) SET i.status = 'REJECTED'", id=target,
                         database_=settings.neo4j_database)


def test_mutation_refused_when_no_key_is_configured(kb, settings):
    with TestClient(create_app(settings.model_copy(update={"api_key": None}))) as c:
        assert "writes are disabled" in error(c, MUTATION, {"id": "int_x"}, {"X-API-Key": ""})


def test_dataloaders_keep_round_trips_fixed(client):
    def trips(asins: list[str]) -> int:
        fields = " ".join(
            f'p{n}: product(asin: "{a}") {{ intentions(first: 3) {{ nodes {{ id products {{ asin }} }} }} '
            f"coBought(first: 2) {{ nodes {{ asin }} }} }}" for n, a in enumerate(asins))
        body = gql(client, "{ " + fields + " }")
        assert not body.get("errors")
        return body["extensions"]["dbRoundTrips"]

    small = trips(["B0TENT0001", "B0PHONE001"])
    large = trips(["B0TENT0001", "B0PHONE001", "B0YOGA0001", "B0KETTLE01", "B0CASE0001", "B0SLEEP001"])
    # product, intentions, coBought, explained products, their products: at most 5, whatever the width
    # (fewer when the product cache already holds every explained product).
    assert small <= 5 and large <= 5
    recs = gql(client, """{ recommend(intention: "camping", k: 8) { product { asin
        intentions(first: 2) { nodes { id } } coBought(first: 2) { nodes { asin } } } } }""")
    assert not recs.get("errors") and len(recs["data"]["recommend"]) == 8
    assert recs["extensions"]["dbRoundTrips"] <= 5
    # recommend itself, with a context, is one statement: one round trip.
    plain = gql(client, '{ recommend(intention: "camping", k: 8, contextAsin: "B0TENT0001") { score product { asin } } }')
    assert not plain.get("errors") and plain["data"]["recommend"]
    assert plain["extensions"]["dbRoundTrips"] == 1


def server_timing(response) -> dict[str, float]:
    parts = dict(part.strip().split(";dur=") for part in response.headers["server-timing"].split(","))
    return {name: float(ms) for name, ms in parts.items()}


def test_answers_say_where_their_time_went(client, settings):
    """Server-Timing: the encode and the database round trips inside the whole operation."""
    query = "query($t: String!) { searchIntentions(text: $t, k: 3) { score intention { id } } }"
    search = client.post("/graphql", json={"query": query, "variables": {"t": "warm layers for a winter hike 7"}})
    assert search.status_code == 200 and not search.json().get("errors")
    timing = server_timing(search)
    assert set(timing) == {"encode", "db", "graphql"}
    assert timing["encode"] > 0 and timing["db"] > 0 and timing["encode"] + timing["db"] <= timing["graphql"]
    plain = server_timing(client.post("/graphql", json={"query": "{ __typename }"}))
    assert plain["encode"] == 0 and plain["db"] == 0 and plain["graphql"] > 0  # nothing encoded, no round trip
    with TestClient(create_app(settings.model_copy(update={"api_server_timing": False}))) as quiet:
        assert "server-timing" not in quiet.post("/graphql", json={"query": "{ __typename }"}).headers


@pytest.mark.parametrize("query, message", [
    ('{ product(asin: "B0NOPE") { asin } }', "unknown product"),
    ('{ searchIntentions(text: "x", k: 0) { score } }', "k must be"),
    ('{ searchIntentions(text: "x", k: 101) { score } }', "k must be"),
    ('{ searchIntentions(text: "   ") { score } }', "must not be empty"),
    ('{ searchIntentions(text: "' + "a" * 1001 + '") { score } }', "longer than"),
    ('{ recommend(intention: "tea", contextAsin: "B0NOPE") { score } }', "unknown product"),
    ('{ recommend(intention: "tea", candidates: []) { score } }', "candidates"),
    ('{ product(asin: "B0TENT0001") { coBought(first: 101) { nodes { asin } } } }', "first must be"),
    ('{ pairIntentions(asinA: "B0TENT0001", asinB: "B0NOPE") { id } }', "unknown product"),
    ('{ relations { nope } }', "Cannot query field"),
])
def test_bad_inputs_are_graphql_errors(client, query, message):
    assert message in error(client, query)


def test_too_many_candidates(client):
    cands = ", ".join(f'"A{n}"' for n in range(101))
    assert "candidates" in error(client, '{ recommend(intention: "tea", candidates: [' + cands + "]) { score } }")


def test_deep_query_alias_bomb_and_token_limit(client):
    deep = '{ product(asin: "B0TENT0001") ' + "{ coBought { nodes " * 8 + "{ asin }" + " } }" * 8 + " }"
    assert "exceeds maximum operation depth" in error(client, deep)
    bomb = "{ " + " ".join(f'a{n}: relations {{ name }}' for n in range(50)) + " }"
    assert "aliases" in error(client, bomb)
    tokens = "{ " + " ".join("relations { name }" for _ in range(600)) + " }"
    assert "token" in error(client, tokens).lower()


def test_documents_are_parsed_and_validated_once_and_limits_still_hold(settings):
    schema = build_schema(settings.model_copy(update={"api_document_cache": 2}))
    cache = next(e for e in schema.extensions if isinstance(e, BoundedDocument))._cache

    def run(query: str, variables: dict | None = None):
        return asyncio.run(schema.execute(query, variable_values=variables))

    q = "query($x: Boolean!) { __typename @include(if: $x) }"
    assert run(q, {"x": True}).data == {"__typename": "Query"}
    assert run(q, {"x": False}).data == {}  # the cached document, other variables
    assert list(cache) == [q]
    deep = '{ product(asin: "B0TENT0001") ' + "{ coBought { nodes " * 8 + "{ asin }" + " } }" * 8 + " }"
    bomb = "{ " + " ".join(f"a{n}: __typename" for n in range(50)) + " }"
    for _ in range(2):  # a refused document stays refused when it comes from the cache
        assert "depth" in run(deep).errors[0].message
    assert "aliases" in run(bomb).errors[0].message and "aliases" in run(bomb).errors[0].message
    assert list(cache) == [deep, bomb]  # bounded: the oldest went
    long = "{ " + "a " * 3000 + "}"  # 3,000 tokens in 6 KB: under the byte limit, over the token limit
    assert "token" in run(long).errors[0].message.lower() and long not in cache


def test_unexpected_errors_are_masked(client, driver, settings):
    # A stored value the resolver cannot handle (a list of numbers as description) raises a Python
    # error inside; the client sees a masked message, no exception text.
    driver.execute_query("MERGE (p:Product {asin: 'B0BROKEN01'}) SET p.description = [1, 2]",
                         database_=settings.neo4j_database)
    body = gql(client, '{ product(asin: "B0BROKEN01") { description } }')
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "TypeError" not in str(body) and "join" not in str(body)
    driver.execute_query("MATCH (p:Product {asin: 'B0BROKEN01'}) DETACH DELETE p", database_=settings.neo4j_database)


def test_graphiql_and_healthz(client, settings):
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_healthz_polls_share_one_ping(settings, kb):
    with TestClient(create_app(settings.model_copy(update={"api_health_ttl": 30.0}))) as c:
        answers = [c.get("/healthz") for _ in range(20)]
        assert all(r.status_code == 200 and r.json()["status"] == "ok" for r in answers)
        assert c.app.state.health.pings == 1
    with TestClient(create_app(settings.model_copy(update={"api_health_ttl": 0.0}))) as c:
        for _ in range(3):
            assert c.get("/healthz").status_code == 200
        assert c.app.state.health.pings == 3


def test_healthz_answers_503_when_the_database_is_down(settings):
    down = settings.model_copy(update={"neo4j_uri": "bolt://127.0.0.1:9", "neo4j_connect_timeout": 1.0})
    with TestClient(create_app(down)) as c:
        response = c.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
