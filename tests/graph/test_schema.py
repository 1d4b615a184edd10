"""Schema idempotence, the vector index, Relation nodes and atomic batched writes."""

from __future__ import annotations

import pytest
from neo4j import ManagedTransaction
from neo4j import exceptions as neo4j_errors

from embedding.models import embedding_dimensions, load_sentence_model
from graph.driver import write_batches
from graph.intentions import merge_intentions
from graph.maintenance import count_nodes
from graph.products import merge_co_buys, merge_products
from graph.schema import apply_schema
from mindkb.errors import MindError
from mindkb.ids import intention_id, pair_key
from mindkb.relations import RELATIONS

# Also run on the 5.26 LTS server (`make test-lts`).
pytestmark = pytest.mark.server_versions


def _schema_snapshot(driver, db):
    constraints, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS c", database_=db)
    indexes, _, _ = driver.execute_query("SHOW INDEXES YIELD name RETURN collect(name) AS i", database_=db)
    return sorted(constraints[0]["c"]), sorted(indexes[0]["i"])


def test_apply_schema_twice_changes_nothing(empty_graph, settings, cli):
    db = settings.neo4j_database
    before = _schema_snapshot(empty_graph, db)
    out = cli("init", "--json")
    assert out.returncode == 0, out.stderr
    assert out.summary["relations"] == 20
    apply_schema(empty_graph, db, embedding_dimensions(settings.embedding_model))
    assert _schema_snapshot(empty_graph, db) == before
    assert count_nodes(empty_graph, db, "Relation") == 20
    constraints, _ = before
    assert {"product_asin", "intention_id", "relation_name"} <= set(constraints)


def test_unique_constraints_are_enforced(empty_graph, settings):
    with pytest.raises(neo4j_errors.ConstraintError):
        empty_graph.execute_query("CREATE (:Product {asin: 'X'}), (:Product {asin: 'X'})",
                                  database_=settings.neo4j_database)


def test_vector_index_dimension_matches_the_real_model(empty_graph, settings):
    model_dim = load_sentence_model(settings.embedding_model).get_sentence_embedding_dimension()
    records, _, _ = empty_graph.execute_query(
        "SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, options "
        "WHERE name = 'intention_embedding' RETURN labelsOrTypes, properties, options",
        database_=settings.neo4j_database,
    )
    assert len(records) == 1
    config = records[0]["options"]["indexConfig"]
    assert records[0]["labelsOrTypes"] == ["Intention"] and records[0]["properties"] == ["embedding"]
    assert int(config["vector.dimensions"]) == model_dim == embedding_dimensions(settings.embedding_model)
    assert config["vector.similarity_function"].lower() == "cosine"


def test_dimension_mismatch_is_refused_with_a_clear_error(empty_graph, settings):
    with pytest.raises(MindError, match="intention_embedding has 384 dimensions"):
        apply_schema(empty_graph, settings.neo4j_database, 768)


def test_relation_nodes_carry_the_templates(empty_graph, settings):
    records, _, _ = empty_graph.execute_query(
        "MATCH (r:Relation) RETURN r.name AS name, r.template AS template", database_=settings.neo4j_database
    )
    assert {r["name"]: r["template"] for r in records} == {r.name: r.template for r in RELATIONS}


def _bad_batch_writer(tx: ManagedTransaction, rows: list[dict]) -> None:
    merge_products(tx, rows)
    if any(r["asin"] == "BOOM" for r in rows):
        tx.run("RETURN 1 / 0").consume()  # fails inside the same transaction


def test_a_failing_batch_leaves_nothing_behind(empty_graph, settings):
    db = settings.neo4j_database
    rows = [{"asin": f"A{i:03d}", "props": {"title": f"t{i}"}} for i in range(10)]
    rows[7] = {"asin": "BOOM", "props": {"title": "bad"}}
    with pytest.raises(neo4j_errors.ClientError):
        write_batches(empty_graph, db, _bad_batch_writer, rows, batch_size=5)
    records, _, _ = empty_graph.execute_query("MATCH (p:Product) RETURN p.asin AS a ORDER BY a", database_=db)
    # The first batch committed; the failing second batch left none of its five rows.
    assert [r["a"] for r in records] == [f"A{i:03d}" for i in range(5)]


def test_intentions_get_relation_label_edges_and_stable_ids(empty_graph, settings):
    db = settings.neo4j_database
    with empty_graph.session(database=db) as session:
        session.execute_write(merge_products, [{"asin": a, "props": {"title": a}} for a in ("B2", "A1")])
        a, b = pair_key("B2", "A1")
        assert session.execute_write(merge_co_buys, [{"a": a, "b": b, "source": "test"}] * 2) == 2
        iid = intention_id("B2", "A1", "UsedFor", "m", "v1")
        assert iid == intention_id("A1", "B2", "UsedFor", "m", "v1")
        assert iid != intention_id("A1", "B2", "UsedFor", "m", "v2")
        row = {"id": iid, "asinA": "B2", "asinB": "A1", "relation": "UsedFor",
               "props": {"text": "they are both used for running", "status": "GENERATED", "source": "mind"}}
        for _ in range(2):
            session.execute_write(merge_intentions, [row])
    records, _, _ = empty_graph.execute_query(
        "MATCH (i:Intention) OPTIONAL MATCH (i)-[:EXPLAINS]->(p:Product) "
        "OPTIONAL MATCH (i)-[:HAS_RELATION]->(r:Relation) "
        "RETURN count(DISTINCT i) AS n, labels(i) AS labels, collect(DISTINCT p.asin) AS asins, "
        "collect(DISTINCT r.name) AS rels",
        database_=db,
    )
    rec = records[0]
    assert rec["n"] == 1 and set(rec["labels"]) == {"Intention", "UsedFor"}
    assert sorted(rec["asins"]) == ["A1", "B2"] and rec["rels"] == ["UsedFor"]
    edges, _, _ = empty_graph.execute_query(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) RETURN a.asin AS a, b.asin AS b", database_=db)
    assert [(e["a"], e["b"]) for e in edges] == [("A1", "B2")]


def test_stale_vector_index_settings_are_reported(empty_graph, settings, capsys):
    """An index created under other HNSW settings is kept (rebuilding is the user's call) but named."""
    from graph.schema import (
        INTENTION_VECTOR_INDEX,
        PRODUCT_VECTOR_INDEX,
        drop_vector_index,
        index_setting,
        server_version,
        vector_index_config,
        vector_indexes,
    )

    db = settings.neo4j_database
    dims = embedding_dimensions(settings.embedding_model)
    with empty_graph.session(database=db) as session:
        version = session.execute_read(server_version)
        wanted = vector_index_config(version)
        for name in (INTENTION_VECTOR_INDEX, PRODUCT_VECTOR_INDEX):  # both at this server's settings first
            session.execute_write(drop_vector_index, name)
    apply_schema(empty_graph, db, dims)
    with empty_graph.session(database=db) as session:
        session.execute_write(drop_vector_index, INTENTION_VECTOR_INDEX)
        session.run(
            f"CREATE VECTOR INDEX {INTENTION_VECTOR_INDEX} FOR (n:Intention) ON n.embedding OPTIONS {{indexConfig: "
            "{`vector.dimensions`: $d, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: $q}}",
            d=dims, q=not wanted["quantization"]).consume()
    try:
        capsys.readouterr()
        apply_schema(empty_graph, db, dims)
        err = capsys.readouterr().err
        assert f"vector index {INTENTION_VECTOR_INDEX} was built with" in err and "quantization" in err
        assert "product_embedding" not in err
    finally:
        with empty_graph.session(database=db) as session:
            session.execute_write(drop_vector_index, INTENTION_VECTOR_INDEX)
        apply_schema(empty_graph, db, dims)
    with empty_graph.session(database=db) as session:
        config = session.execute_read(vector_indexes)[INTENTION_VECTOR_INDEX]["options"]["indexConfig"]
    quantized = index_setting(config, "quantization")  # either version's option name
    assert quantized is wanted["quantization"]
    assert version == settings.neo4j_version  # the settings the server under test was started with
    assert wanted["quantization"] is version.startswith("20")  # int8 on calendar versions, float32 on 5.26
    capsys.readouterr()
    apply_schema(empty_graph, db, dims)
    assert "warning" not in capsys.readouterr().err


def test_batch_parameters_stay_out_of_the_drivers_log_formatting(empty_graph, settings):
    """The driver formats every RUN with repr() even with debug logging off; Rows keeps that cheap."""
    from graph.params import Rows

    rows = Rows({"key": f"k{i}", "embedding": [0.5] * 384} for i in range(2000))
    assert repr({"rows": rows}) == "{'rows': <2000 rows>}"
    records, _, _ = empty_graph.execute_query(
        "UNWIND $rows AS row RETURN count(*) AS n, sum(row.embedding[0]) AS s", rows=rows,
        database_=settings.neo4j_database)
    assert (records[0]["n"], records[0]["s"]) == (2000, 1000.0)  # packed as the plain list it is
