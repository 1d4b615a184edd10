"""`mind embed` with the real MiniLM on a real Neo4j: vectors, model name, incremental re-runs."""

from __future__ import annotations

import math

from graph.driver import read
from tests.support.api_graph import INTENTIONS, PAGED, PRODUCTS, build_graph


def _vectors(tx, label: str):
    query = {"Intention": "MATCH (n:Intention) RETURN n.id AS key, n.embedding AS e, n.embeddingModel AS m",
             "Product": "MATCH (n:Product) RETURN n.asin AS key, n.embedding AS e, n.embeddingModel AS m"}[label]
    return {r["key"]: (r["e"], r["m"]) for r in tx.run(query)}


def test_embed_is_complete_normalised_and_incremental(driver, settings, cli):
    db = settings.neo4j_database
    build_graph(driver, db)
    first = cli("embed", "--json", "--batch-size", "4")
    assert first.returncode == 0, first.stderr
    s = first.summary
    assert s["intentions"] == len(INTENTIONS) + len(PAGED)
    assert s["products"] == len(PRODUCTS)
    assert s["embedded"] == s["intentions"] + s["products"] and s["seconds"] >= 0
    # A small index is not calibrated (retrieval/calibrate.py: MIN_VECTORS); the summary says so.
    assert s["calibration"] == {"calibrated": False, "vectors": s["intentions"]}

    for label in ("Intention", "Product"):
        vectors = read(driver, db, _vectors, label)
        for vec, model in vectors.values():
            assert model == settings.embedding_model
            assert len(vec) == 384
            assert math.isclose(math.sqrt(sum(x * x for x in vec)), 1.0, rel_tol=1e-4)

    again = cli("embed", "--json")
    assert again.returncode == 0 and again.summary["embedded"] == 0

    # A node whose vector came from another model, and a new node, are (re)embedded; nothing else.
    driver.execute_query("MATCH (p:Product {asin: 'B0MUG00001'}) SET p.embeddingModel = 'other-model'",
                         database_=db)
    driver.execute_query("MERGE (p:Product {asin: 'B0NEW00001'}) SET p.title = 'Stainless steel water bottle'",
                         database_=db)
    third = cli("embed", "--json")
    assert third.returncode == 0
    assert third.summary["products"] == 2 and third.summary["intentions"] == 0

    # The product vector index finds the new product for a matching text.
    records, _, _ = driver.execute_query(
        "MATCH (p:Product {asin: 'B0NEW00001'}) "
        "CALL db.index.vector.queryNodes('product_embedding', 1, p.embedding) YIELD node RETURN node.asin AS asin",
        database_=db)
    assert records[0]["asin"] == "B0NEW00001"


def test_embed_unknown_model_is_bad_input(cli):
    result = cli("embed", "--json", "--model", "/nonexistent/model-folder")
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr and result.stderr.strip()
