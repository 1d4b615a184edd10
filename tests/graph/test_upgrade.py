"""A local home made by 5.26 (the earlier default) survives the switch to the new default: `mind db
start` dumps it beside the home with 5.26's tools, the new server upgrades the store, and every
node, property and relationship is there again; 5.26 is then refused on the upgraded store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedding.models import embedding_dimensions
from graph import upgrade
from graph.driver import make_driver, write_batches
from graph.embeddings import set_intention_embeddings
from graph.intentions import merge_intentions
from graph.localdb import LocalNeo4j
from graph.products import merge_co_buys, merge_products
from graph.schema import INTENTION_VECTOR_INDEX, apply_schema
from mindkb.errors import MindError
from mindkb.ids import pair_key
from mindkb.relations import RELATIONS
from mindkb.settings import NEO4J_LTS_VERSION, NEO4J_VERSION, Settings
from tests.support.server import free_port


def test_what_a_home_records_and_its_logs_tell(tmp_path):
    home = tmp_path / "neo4j"
    assert upgrade.store_version(home) is None
    (home / "data" / "databases").mkdir(parents=True)
    (home / "data" / "databases" / "store_lock").touch()
    assert upgrade.store_version(home) is None  # a lock file is no store
    (home / "data" / "databases" / "neo4j").mkdir()
    assert upgrade.store_version(home) == NEO4J_LTS_VERSION  # no record, no logs: the earlier default
    (home / "logs").mkdir()
    (home / "logs" / "neo4j.log").write_text("2026-01-01 INFO  ======== Neo4j 5.26.30 ========\n")
    (home / "logs" / "debug.log").write_text(
        '{"level":"INFO","message":"======== Neo4j 2026.08.1 ========"}\n')
    assert upgrade.store_version(home) == "2026.08.1"  # the newest server that opened it
    upgrade.record_version(home, "5.26.30")
    assert upgrade.store_version(home) == "5.26.30"  # the record wins over the logs
    assert (home / upgrade.RECORD).stat().st_mode & 0o777 == 0o600
    assert upgrade.version_key("5.26.30") < upgrade.version_key("2026.08.1") < upgrade.version_key("2026.10.0")
    upgrade.record_version(home, NEO4J_VERSION)
    older = LocalNeo4j(Settings(MIND_NEO4J_HOME=str(home), MIND_NEO4J_VERSION=NEO4J_LTS_VERSION))
    with pytest.raises(MindError, match=f"last run by Neo4j {NEO4J_VERSION}, which Neo4j {NEO4J_LTS_VERSION} "
                                        "cannot open"):
        upgrade.prepare_home(older)
    same = LocalNeo4j(Settings(MIND_NEO4J_HOME=str(home), MIND_NEO4J_VERSION=NEO4J_VERSION))
    assert upgrade.prepare_home(same) is None


def _everything(driver, database: str) -> dict:
    """Every node (labels, properties) and relationship (type, ends, properties), in a stable order."""
    def key(n: str) -> str:
        return f"coalesce({n}.asin, {n}.id, {n}.name)"

    nodes, _, _ = driver.execute_query("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props",
                                       database_=database)
    rels, _, _ = driver.execute_query(f"MATCH (a)-[r]->(b) RETURN type(r) AS type, {key('a')} AS a, "
                                      f"{key('b')} AS b, properties(r) AS props", database_=database)
    def dump(rows):
        return sorted(json.dumps(r.data(), sort_keys=True, default=str) for r in rows)

    return {"nodes": dump(nodes), "relationships": dump(rels)}


def _fill(settings: Settings) -> None:
    """A small knowledge base through the project's own writers, vectors and vector index included."""
    rng = np.random.default_rng(5)
    dims = embedding_dimensions(settings.embedding_model)
    asins = [f"U{i:04d}" for i in range(30)]
    pairs = sorted({pair_key(asins[i], asins[(i * 7 + 3) % 30]) for i in range(30)})
    intentions = [{"id": f"up_{i:03d}", "asinA": a, "asinB": b, "relation": RELATIONS[i % 20].name,
                   "props": {"text": f"because {i}", "status": "ACCEPTED", "source": "mind"}}
                  for i, (a, b) in enumerate(pairs)]
    vectors = rng.standard_normal((len(intentions), dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = settings.neo4j_database
    with make_driver(settings) as driver:
        apply_schema(driver, db, dims)
        write_batches(driver, db, merge_products, [{"asin": a, "props": {"title": f"item {a}"}} for a in asins], 50)
        write_batches(driver, db, merge_co_buys, [{"a": a, "b": b, "source": "amazon"} for a, b in pairs], 50)
        write_batches(driver, db, merge_intentions, intentions, 50)
        with driver.session(database=db) as session:
            session.execute_write(set_intention_embeddings,
                                  [{"key": r["id"], "embedding": v.tolist()} for r, v in zip(intentions, vectors, strict=True)],
                                  "test-model")
            session.run("CALL db.awaitIndexes(120)").consume()


def _nearest(settings: Settings, intention_id: str) -> str:
    with make_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (i:Intention {id: $id}) CALL db.index.vector.queryNodes($index, 1, i.embedding) "
            "YIELD node RETURN node.id AS id", id=intention_id, index=INTENTION_VECTOR_INDEX,
            database_=settings.neo4j_database)
    return records[0]["id"]


@pytest.mark.slow
def test_a_526_home_is_dumped_then_upgraded_and_keeps_every_node(tmp_path, cli):
    home = tmp_path / "neo4j"
    bolt = free_port()
    env = {"MIND_NEO4J_HOME": str(home), "MIND_NEO4J_BOLT_PORT": str(bolt), "MIND_NEO4J_HTTP_PORT": str(free_port()),
           "NEO4J_URI": f"bolt://localhost:{bolt}", "MIND_NEO4J_HEAP": "512m", "MIND_NEO4J_PAGECACHE": "128m"}
    old_env, new_env = {**env, "MIND_NEO4J_VERSION": NEO4J_LTS_VERSION}, {**env, "MIND_NEO4J_VERSION": NEO4J_VERSION}
    old, new = Settings(**old_env), Settings(**new_env)
    try:
        started = cli("db", "start", "--json", env=old_env)
        assert started.returncode == 0, started.stderr
        assert started.summary["version"] == NEO4J_LTS_VERSION
        _fill(old)
        with make_driver(old) as driver:
            before = _everything(driver, old.neo4j_database)
    finally:
        cli("db", "stop", "--json", env=old_env)
    assert len(before["nodes"]) == 30 + len(before["relationships"]) // 4 + 20  # products, intentions, relations
    # A home made before the launcher recorded versions: its logs tell.
    (home / upgrade.RECORD).unlink()
    assert upgrade.store_version(home) == NEO4J_LTS_VERSION

    folder = upgrade.dump_folder(home, NEO4J_LTS_VERSION)
    try:
        out = cli("db", "start", "--json", env=new_env)
        assert out.returncode == 0, out.stderr
        assert f"dumping it to {folder}" in out.stderr and f"dumped neo4j.dump, system.dump to {folder}" in out.stderr
        assert out.summary["version"] == NEO4J_VERSION
        assert folder.parent == home.parent  # beside the home
        for name in ("neo4j.dump", "system.dump"):
            dump = folder / name
            assert dump.stat().st_size > 0 and dump.stat().st_mode & 0o777 == 0o600
        with make_driver(new) as driver:
            versions, _, _ = driver.execute_query("CALL dbms.components() YIELD versions RETURN versions[0] AS v")
            assert versions[0]["v"] == NEO4J_VERSION
            driver.execute_query("CREATE (:Marker {id: 'after-upgrade'})", database_=new.neo4j_database)
            driver.execute_query("MATCH (m:Marker) DELETE m", database_=new.neo4j_database)  # a write: upgraded
            after = _everything(driver, new.neo4j_database)
        assert after == before
        assert _nearest(new, "up_007") == "up_007"  # the vector index came along
        assert upgrade.recorded_version(home) == NEO4J_VERSION
        again = cli("db", "start", "--json", env=new_env)
        assert again.summary["reused"] is True and "dump" not in again.stderr
    finally:
        cli("db", "stop", "--json", env=new_env)
    # Back to 5.26 on the upgraded store: refused in one line that names the dump.
    refused = cli("db", "start", "--json", env=old_env)
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if line.startswith("mind:")]
    assert len(errors) == 1 and f"last run by Neo4j {NEO4J_VERSION}" in errors[0], refused.stderr
    assert f"MIND_NEO4J_VERSION={NEO4J_VERSION}" in errors[0] and str(folder) in errors[0]
    assert upgrade.prepare_home(LocalNeo4j(new)) is None  # recorded: no second dump on the next start
