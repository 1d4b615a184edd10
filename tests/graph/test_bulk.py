"""The bulk path: neo4j-admin import into a second real local server gives the graph the
transactional writers give, with working vector indexes; a loaded database is never replaced by accident."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from embedding.models import embedding_dimensions
from graph import bulk
from graph.driver import make_driver, write_batches
from graph.embeddings import set_intention_embeddings, set_product_embeddings
from graph.intentions import merge_intentions
from graph.localdb import LocalNeo4j
from graph.maintenance import graph_snapshot
from graph.products import merge_co_buys, merge_products
from graph.schema import INTENTION_VECTOR_INDEX, vector_indexes
from mindkb.errors import MindError
from mindkb.ids import pair_key
from mindkb.relations import RELATIONS
from mindkb.settings import Settings
from tests.support.server import free_port

# Also run on the 5.26 LTS server (`make test-lts`).
pytestmark = pytest.mark.server_versions

MODEL = "test-model"
PRODUCT_TYPES = {"title": "string", "brand": "string", "categories": "string[]"}
INTENTION_TYPES = {"text": "string", "status": "string", "model": "string", "source": "string"}


def _unit(rng: np.random.Generator, n: int, dims: int) -> np.ndarray:
    m = rng.standard_normal((n, dims)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def kb(settings):
    rng, pick = np.random.default_rng(3), random.Random(3)
    dims = embedding_dimensions(settings.embedding_model)
    asins = [f"B{i:09d}" for i in range(40)]
    products = [{"asin": a, "props": {"title": f"item {a} with \"quotes\", commas", "brand": pick.choice(["Acme", None]),
                                      "categories": ["Home", "Kitchen; Dining"][: 1 + i % 2]}}
                for i, a in enumerate(asins)]
    pairs = sorted({pair_key(*pick.sample(asins, 2)) for _ in range(60)})
    intentions = []
    for i in range(300):
        a, b = pairs[i % len(pairs)]
        rel = RELATIONS[i % len(RELATIONS)]
        intentions.append({"id": f"int_{i:05d}", "asinA": b if i % 3 else a, "asinB": a if i % 3 else b,
                           "relation": rel.name,
                           "props": {"text": f"{rel.template} thing {i}\nsecond line", "model": MODEL,
                                     "status": ("ACCEPTED", "REJECTED")[i % 2], "source": "mind"}})
    return {"dims": dims, "products": products, "pairs": pairs, "intentions": intentions,
            "pvecs": _unit(rng, len(products), dims), "ivecs": _unit(rng, len(intentions), dims)}


@pytest.fixture(scope="module")
def second_server(tmp_path_factory):
    """A local server of the bulk tests' own (the importer replaces its whole store)."""
    home = tmp_path_factory.mktemp("bulk-neo4j")
    bolt = free_port()
    settings = Settings(MIND_NEO4J_HOME=str(home), MIND_NEO4J_BOLT_PORT=bolt, MIND_NEO4J_HTTP_PORT=free_port(),
                        NEO4J_URI=f"bolt://localhost:{bolt}", MIND_NEO4J_HEAP="512m", MIND_NEO4J_PAGECACHE="128m")
    yield settings
    LocalNeo4j(settings).stop()


def _files(tmp_path, kb) -> bulk.BulkFiles:
    files = bulk.BulkFiles(tmp_path / "csv")
    files.relations()
    files.products(kb["products"], PRODUCT_TYPES, kb["pvecs"], MODEL)
    files.co_buys(kb["pairs"], "amazon")
    files.intentions(iter(kb["intentions"]), INTENTION_TYPES, kb["ivecs"], MODEL, chunk=64)
    return files


def _state(driver, database: str) -> dict:
    with driver.session(database=database) as s:
        snap = s.execute_read(graph_snapshot)
        snap["intentions"] = [r.data() for r in s.run(
            "MATCH (i:Intention)-[:HAS_RELATION]->(r:Relation) RETURN i.id AS id, i.text AS text, i.status AS status, "
            "i.relation AS relation, r.name AS r, labels(i) AS labels, i.asinA AS a, i.asinB AS b, "
            "i.embeddingModel AS model, i.createdAt IS NOT NULL AS dated ORDER BY id")]
        snap["products"] = [r.data() for r in s.run(
            "MATCH (p:Product) RETURN p.asin AS asin, p.title AS title, p.brand AS brand, p.categories AS categories "
            "ORDER BY asin")]
        for row in snap["intentions"]:
            row["labels"] = sorted(row["labels"])
        snap["vectors"] = {r["id"]: r["v"] for r in s.run("MATCH (i:Intention) RETURN i.id AS id, i.embedding AS v")}
        snap["online"] = {n: v["state"] for n, v in s.execute_read(vector_indexes).items()}
    return snap


def _nearest(driver, database: str, queries: np.ndarray) -> list[list[str]]:
    out = []
    for q in queries:
        records, _, _ = driver.execute_query(
            f"CALL db.index.vector.queryNodes('{INTENTION_VECTOR_INDEX}', 5, $q) YIELD node RETURN node.id AS id",
            q=q.tolist(), database_=database)
        out.append([r["id"] for r in records])
    return out


def test_bulk_import_gives_the_graph_of_the_transactional_writers(empty_graph, settings, second_server, kb, tmp_path):
    db = settings.neo4j_database
    write_batches(empty_graph, db, merge_products, kb["products"], 100)
    with empty_graph.session(database=db) as s:
        s.execute_write(set_product_embeddings, [{"key": p["asin"], "embedding": v.tolist()}
                                                 for p, v in zip(kb["products"], kb["pvecs"], strict=True)], MODEL)
    write_batches(empty_graph, db, merge_co_buys, ({"a": a, "b": b, "source": "amazon"} for a, b in kb["pairs"]), 100)
    write_batches(empty_graph, db, merge_intentions, kb["intentions"], 100)
    with empty_graph.session(database=db) as s:
        s.execute_write(set_intention_embeddings, [{"key": r["id"], "embedding": v.tolist()}
                                                   for r, v in zip(kb["intentions"], kb["ivecs"], strict=True)], MODEL)
        s.run("CALL db.awaitIndexes(120)").consume()
    expected = _state(empty_graph, db)

    files = _files(tmp_path, kb)
    report = bulk.load(second_server, files, kb["dims"])
    assert report["counts"]["intentions"] == 300 and report["counts"]["co_buys"] == len(kb["pairs"])
    with make_driver(second_server) as driver:
        got = _state(driver, second_server.neo4j_database)
        vectors, expected_vectors = got.pop("vectors"), expected.pop("vectors")
        assert got["online"] == {"intention_embedding": "ONLINE", "product_embedding": "ONLINE"}
        assert got == expected
        for i, v in zip(kb["intentions"], kb["ivecs"], strict=True):
            np.testing.assert_allclose(vectors[i["id"]], v, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(expected_vectors[i["id"]], v, rtol=1e-6, atol=1e-7)
        queries = kb["ivecs"][:10] + 0.05 * _unit(np.random.default_rng(9), 10, kb["dims"])
        assert _nearest(driver, second_server.neo4j_database, queries) == _nearest(empty_graph, db, queries)


def test_bulk_load_never_replaces_a_loaded_database_by_accident(second_server, kb, tmp_path):
    files = _files(tmp_path, kb)
    if not LocalNeo4j(second_server).status().running:
        bulk.load(second_server, files, kb["dims"])
    with pytest.raises(MindError, match="holds .* products/intentions"):
        bulk.load(second_server, files, kb["dims"])
    # A failed import (a co-buy naming no product) leaves an empty database that starts, not a broken one.
    broken = bulk.BulkFiles(tmp_path / "broken")
    broken.relations()
    broken.products(kb["products"][:2], PRODUCT_TYPES)
    broken.co_buys([("B000000000", "B999999999")], "amazon")
    with pytest.raises(MindError, match="import failed .*left empty"):
        bulk.load(second_server, broken, kb["dims"], wipe=True)
    LocalNeo4j(second_server).start()
    with make_driver(second_server) as driver:
        records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n", database_=second_server.neo4j_database)
    assert records[0]["n"] == 0
    remote = second_server.model_copy(update={"neo4j_uri": "bolt://db.example.com:7687"})
    with pytest.raises(MindError, match="local server's store"):
        bulk.load(remote, files, kb["dims"])
    bad = bulk.BulkFiles(tmp_path / "bad")
    with pytest.raises(MindError, match="unknown relation 'Nope'"):
        bad.intentions([{**kb["intentions"][0], "relation": "Nope"}], INTENTION_TYPES)
    with pytest.raises(MindError, match="unsupported property types"):
        bad.products(kb["products"], {"title": "text"})


def test_bulk_files_refuse_rows_and_vectors_that_do_not_pair_up(kb, tmp_path):
    files = bulk.BulkFiles(tmp_path / "csv")
    with pytest.raises(MindError, match="300 rows but 301 vectors"):
        files.intentions(iter(kb["intentions"]), INTENTION_TYPES, np.vstack([kb["ivecs"], kb["ivecs"][:1]]), MODEL)
    with pytest.raises(MindError, match="more rows than vectors"):
        files.intentions(iter(kb["intentions"]), INTENTION_TYPES, kb["ivecs"][:299], MODEL, chunk=64)
    with pytest.raises(MindError, match="2-d array"):
        files.products(kb["products"], PRODUCT_TYPES, kb["pvecs"][0], MODEL)


def test_the_import_files_are_named_by_absolute_path(tmp_path, monkeypatch):
    """neo4j-admin runs in the server's home: a relative MIND_DATA_DIR (the default `data`) must not
    reach it as a relative path."""
    monkeypatch.chdir(tmp_path)
    files = bulk.BulkFiles(Path("data") / "bulk")
    assert files.folder == tmp_path / "data" / "bulk" and files.folder.is_dir()
    files.relations()
    assert files.args and all(Path(arg.rsplit("=", 1)[-1]).is_absolute() for arg in files.args)
