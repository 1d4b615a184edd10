"""`sources` on searchIntentions, recommend, relations, pairIntentions and Product.intentions: with a
random model's output (noise) and real intentions in one graph, noise never answers unless asked for by name."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from embedding.embed import embed_all
from embedding.encoder import TextEncoder
from graph.driver import write
from graph.intentions import merge_intentions
from graph.products import merge_co_buys, merge_products
from mindkb.ids import intention_id, pair_key
from tests.conftest import reset_graph

PRODUCTS = {
    "B0DOLL0001": "Fashion doll with accessories", "B0CARD0001": "Birthday card for girls",
    "B0BALL0001": "Soccer ball size 4", "B0PUMP0001": "Ball pump with needles",
    "N0NOISE001": "Black cable", "N0NOISE002": "White charger",
}
# (a, b, relation, text, source, noise): the noise is nearest to the query on purpose.
INTENTIONS = [
    ("B0DOLL0001", "B0CARD0001", "UsedFor", "purchased for a young girl's birthday party or event", "mind-csv", False),
    ("B0BALL0001", "B0PUMP0001", "UsedFor", "they are both used for playing soccer with friends", "mind", False),
    ("N0NOISE001", "N0NOISE002", "Open", "a gift for a child's birthday party", "mind", True),
    ("N0NOISE001", "N0NOISE002", "Can", "gift birthday party child child gift", "mind", True),
]
QUERY = "gift for a child's birthday party"


@pytest.fixture(scope="module")
def client(driver, settings):
    reset_graph(driver, settings)
    db = settings.neo4j_database
    write(driver, db, merge_products, [{"asin": a, "props": {"title": t}} for a, t in PRODUCTS.items()])
    write(driver, db, merge_co_buys, [dict(zip(("a", "b"), pair_key(a, b), strict=True), source="test")
                                      for a, b in {(i[0], i[1]) for i in INTENTIONS}])
    rows = []
    for a, b, rel, text, source, noise in INTENTIONS:
        props = {"text": text, "status": "ACCEPTED", "model": "tiny" if noise else "real", "promptVersion": "v1",
                 "source": source}
        if noise:
            props["noise"] = True  # what the stages write for a checkpoint marked as random (test_stages)
        rows.append({"id": intention_id(a, b, rel, props["model"], "v1", text), "asinA": a, "asinB": b,
                     "relation": rel, "props": props})
    write(driver, db, merge_intentions, rows)
    embed_all(driver, db, TextEncoder.load(settings.embedding_model, batch_size=16, backend=settings.embedding_backend,
                                                cache_dir=settings.cache_dir))
    with TestClient(create_app(settings)) as c:
        yield c


def _data(client, query: str, variables: dict) -> dict:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert not body.get("errors"), body
    return body["data"]


SEARCH = """query($t: String!, $s: [String!]) { searchIntentions(text: $t, k: 10, sources: $s) {
    score intention { text source } } }"""
RECOMMEND = """query($t: String!, $s: [String!]) { recommend(intention: $t, k: 6, sources: $s) {
    product { asin } evidence { intention { text } } } }"""


def _texts(client, sources) -> list[str]:
    return [h["intention"]["text"] for h in _data(client, SEARCH, {"t": QUERY, "s": sources})["searchIntentions"]]


def test_search_leaves_noise_out_unless_asked(client):
    real = {i[3] for i in INTENTIONS if not i[5]}
    noise = {i[3] for i in INTENTIONS if i[5]}
    default = _texts(client, None)
    assert default[0] == "purchased for a young girl's birthday party or event" and set(default) == real
    assert set(_texts(client, ["noise"])) == noise
    assert _texts(client, ["noise"])[0] == "a gift for a child's birthday party"  # the nearest, once asked for
    assert set(_texts(client, ["mind"])) == {"they are both used for playing soccer with friends"}  # not noise
    assert set(_texts(client, ["mind-csv", "noise"])) == noise | {"purchased for a young girl's birthday party or event"}
    assert _texts(client, ["intentionqa"]) == []


def test_recommend_evidence_leaves_noise_out_unless_asked(client):
    def evidence(sources) -> set[str]:
        recs = _data(client, RECOMMEND, {"t": QUERY, "s": sources})["recommend"]
        return {e["intention"]["text"] for r in recs for e in r["evidence"]}

    assert evidence(None) & {i[3] for i in INTENTIONS if i[5]} == set()
    assert "purchased for a young girl's birthday party or event" in evidence(None)
    assert "a gift for a child's birthday party" in evidence(["noise"])
    top = _data(client, RECOMMEND, {"t": QUERY, "s": None})["recommend"][0]["product"]["asin"]
    assert top in {"B0DOLL0001", "B0CARD0001"}


RELATIONS = "query($s: [String!]) { relations(sources: $s) { name total accepted } }"
PAIR = """query($a: ID!, $b: ID!, $s: [String!]) { pairIntentions(asinA: $a, asinB: $b, sources: $s) {
    text source } }"""
PRODUCT = """query($a: ID!, $s: [String!]) { product(asin: $a) { intentions(first: 10, sources: $s) {
    nodes { text } pageInfo { hasNextPage } } } }"""


def test_relation_totals_leave_noise_out_unless_asked(client):
    def totals(sources) -> dict[str, tuple[int, int]]:
        rows = _data(client, RELATIONS, {"s": sources})["relations"]
        return {r["name"]: (r["total"], r["accepted"]) for r in rows if r["total"]}

    assert totals(None) == {"UsedFor": (2, 2)}
    assert totals(["noise"]) == {"Open": (1, 1), "Can": (1, 1)}
    assert totals(["mind-csv", "noise"]) == {"UsedFor": (1, 1), "Open": (1, 1), "Can": (1, 1)}


def test_pair_intentions_leave_noise_out_unless_asked(client):
    def texts(a: str, b: str, sources) -> set[str]:
        return {i["text"] for i in _data(client, PAIR, {"a": a, "b": b, "s": sources})["pairIntentions"]}

    noise = {i[3] for i in INTENTIONS if i[5]}
    assert texts("N0NOISE001", "N0NOISE002", None) == set()
    assert texts("N0NOISE002", "N0NOISE001", ["noise"]) == noise
    assert texts("B0DOLL0001", "B0CARD0001", None) == {"purchased for a young girl's birthday party or event"}
    assert texts("B0DOLL0001", "B0CARD0001", ["mind"]) == set()


def test_product_intentions_leave_noise_out_unless_asked(client):
    def texts(asin: str, sources) -> list[str]:
        page = _data(client, PRODUCT, {"a": asin, "s": sources})["product"]["intentions"]
        assert page["pageInfo"]["hasNextPage"] is False
        return sorted(n["text"] for n in page["nodes"])

    assert texts("N0NOISE001", None) == []
    assert texts("N0NOISE001", ["noise"]) == sorted(i[3] for i in INTENTIONS if i[5])
    assert texts("B0DOLL0001", None) == ["purchased for a young girl's birthday party or event"]
    assert texts("B0DOLL0001", ["mind"]) == []


def test_one_page_of_requests_with_different_sources_reads_each_its_own(client):
    """Aliased fields with different `sources` are batched by one DataLoader, each key with its own filter."""
    query = """{ p: product(asin: "N0NOISE001") { plain: intentions { nodes { text } }
                 noisy: intentions(sources: ["noise"]) { nodes { text } } } }"""
    data = _data(client, query, {})["p"]
    assert data["plain"]["nodes"] == [] and len(data["noisy"]["nodes"]) == 2


@pytest.mark.parametrize("query", [
    SEARCH, RELATIONS, PAIR.replace("$a: ID!, $b: ID!, ", "").replace("asinA: $a, asinB: $b, ", "asinA: \"B0DOLL0001\", asinB: \"B0CARD0001\", "),
    PRODUCT.replace("$a: ID!, ", "").replace("asin: $a", "asin: \"B0DOLL0001\""),
])
@pytest.mark.parametrize("sources", [[], ["  "], ["x" * 101], [f"s{n}" for n in range(51)]])
def test_bad_sources_are_graphql_errors(client, query, sources):
    body = client.post("/graphql", json={"query": query, "variables": {"t": QUERY, "s": sources}}).json()
    assert body["errors"] and "sources needs 1 to 50 names" in body["errors"][0]["message"], body
