"""Constraints, indexes and the Relation nodes: applied idempotently before any other work."""

from __future__ import annotations

import logging

from neo4j import Driver, ManagedTransaction

from graph.jdk import calendar_version
from graph.params import Rows
from mindkb.errors import MindError
from mindkb.relations import RELATION_NAMES, RELATIONS

KNOWN_LABELS = frozenset({"Product", "Intention", "Relation", "Annotation", *RELATION_NAMES})

INTENTION_VECTOR_INDEX = "intention_embedding"
PRODUCT_VECTOR_INDEX = "product_embedding"

# HNSW settings (Neo4j's defaults for m and ef_construction). Quantization depends on the server:
# on 5.26 int8 quantization caps recall@10 near 0.95 even when the index is asked for 100, so
# vectors are indexed as float32 there; on calendar versions the quantized index found more of the
# true neighbours than the float32 one at the same candidate count and answered as fast; it built in
# 1.07x the time at 126k vectors (BENCHMARKS.md, "Vector index settings on the calendar server").
VECTOR_INDEX_CONFIG = {"quantization": False, "m": 16, "ef_construction": 100}
CALENDAR_VECTOR_INDEX_CONFIG = {**VECTOR_INDEX_CONFIG, "quantization": True}

# Static statements: labels and names here are constants of the schema, never user input.
CONSTRAINTS = (
    "CREATE CONSTRAINT product_asin IF NOT EXISTS FOR (p:Product) REQUIRE p.asin IS UNIQUE",
    "CREATE CONSTRAINT intention_id IF NOT EXISTS FOR (i:Intention) REQUIRE i.id IS UNIQUE",
    "CREATE CONSTRAINT relation_name IF NOT EXISTS FOR (r:Relation) REQUIRE r.name IS UNIQUE",
    "CREATE CONSTRAINT annotation_id IF NOT EXISTS FOR (a:Annotation) REQUIRE a.id IS UNIQUE",
)
INDEXES = (
    "CREATE INDEX intention_status IF NOT EXISTS FOR (i:Intention) ON (i.status)",
    "CREATE INDEX intention_relation IF NOT EXISTS FOR (i:Intention) ON (i.relation)",
    "CREATE INDEX intention_relation_status IF NOT EXISTS FOR (i:Intention) ON (i.relation, i.status)",
    "CREATE INDEX intention_source IF NOT EXISTS FOR (i:Intention) ON (i.source)",
    "CREATE INDEX product_image_state IF NOT EXISTS FOR (p:Product) ON (p.imageState)",
)


_CONFIG_KEYS = {"quantization": "vector.quantization.enabled", "m": "vector.hnsw.m",
                "ef_construction": "vector.hnsw.ef_construction"}

log = logging.getLogger(__name__)


def vector_index_config(server_version: str) -> dict:
    """The HNSW settings vector indexes are created with on a server of this version."""
    try:
        calendar = calendar_version(server_version)
    except ValueError:  # a version string this code does not know: the conservative settings
        calendar = False
    return dict(CALENDAR_VECTOR_INDEX_CONFIG if calendar else VECTOR_INDEX_CONFIG)


def server_version(tx: ManagedTransaction) -> str:
    """The version of the server the session is connected to ("5.26.30", "2026.08.1")."""
    record = tx.run("CALL dbms.components() YIELD name, versions WHERE name = 'Neo4j Kernel' "
                    "RETURN versions[0] AS version").single()
    return str(record["version"]) if record is not None else ""


def _stale_settings(index_config: dict, wanted: dict) -> dict:
    """The HNSW settings in which an existing index differs from `wanted` (vector_index_config).

    `CREATE ... IF NOT EXISTS` keeps an index created under older settings (an int8-quantized
    index found this way had been serving a benchmark that assumed float32)."""
    have = {key: index_setting(index_config, key) for key in _CONFIG_KEYS}
    return {key: v for key, v in have.items() if v is not None and v != wanted[key]}


def index_setting(index_config: dict, key: str) -> object:
    """An existing index's HNSW setting under VECTOR_INDEX_CONFIG's key, None where the server
    reports none; calendar versions report quantization as a kind (`vector.quantization.type`, "NONE")."""
    if key == "quantization" and _CONFIG_KEYS[key] not in index_config and "vector.quantization.type" in index_config:
        return index_config["vector.quantization.type"] != "NONE"
    return index_config.get(_CONFIG_KEYS[key])


def drop_vector_index(tx: ManagedTransaction, name: str) -> None:
    assert name in (INTENTION_VECTOR_INDEX, PRODUCT_VECTOR_INDEX)
    tx.run(f"DROP INDEX {name} IF EXISTS").consume()


def create_constraint(tx: ManagedTransaction, statement: str) -> None:
    tx.run(statement).consume()


def create_vector_index(tx: ManagedTransaction, name: str, label: str, dimensions: int, config: dict) -> None:
    """`config`: vector_index_config's settings for the server."""
    # Index names and labels cannot be parameters in Cypher; both come from the constants above.
    assert name in (INTENTION_VECTOR_INDEX, PRODUCT_VECTOR_INDEX) and label in ("Intention", "Product")
    tx.run(
        f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.embedding "
        "OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, "
        "`vector.similarity_function`: 'cosine', `vector.quantization.enabled`: $quantization, "
        "`vector.hnsw.m`: $m, `vector.hnsw.ef_construction`: $ef_construction}}",
        {"dimensions": dimensions, **{key: config[key] for key in _CONFIG_KEYS}},
    ).consume()


def merge_relations(tx: ManagedTransaction, rows: list[dict]) -> None:
    tx.run(
        "UNWIND $rows AS row MERGE (r:Relation {name: row.name}) "
        "SET r.template = row.template, r.paperAccepted = row.paperAccepted, r.ord = row.ord",
        rows=Rows(rows),
    ).consume()


def vector_indexes(tx: ManagedTransaction) -> dict[str, dict]:
    result = tx.run(
        "SHOW VECTOR INDEXES YIELD name, state, labelsOrTypes, properties, options "
        "RETURN name, state, labelsOrTypes, properties, options"
    )
    return {r["name"]: r.data() for r in result}


def await_indexes(tx: ManagedTransaction, seconds: int) -> None:
    tx.run("CALL db.awaitIndexes($seconds)", seconds=seconds).consume()


def apply_schema(driver: Driver, database: str, embedding_dimensions: int, await_seconds: int = 300) -> dict:
    """Idempotent; checks that an existing vector index fits the configured embedding model.

    Waits up to `await_seconds` for the indexes to come online (0: returns while they populate)."""
    with driver.session(database=database) as session:
        for statement in CONSTRAINTS + INDEXES:
            session.execute_write(create_constraint, statement)
        existing = session.execute_read(vector_indexes)
        config = vector_index_config(session.execute_read(server_version))
        for name, label in ((INTENTION_VECTOR_INDEX, "Intention"), (PRODUCT_VECTOR_INDEX, "Product")):
            if name in existing:
                have = existing[name]["options"]["indexConfig"].get("vector.dimensions")
                if have is not None and int(have) != embedding_dimensions:
                    raise MindError(
                        f"vector index {name} has {have} dimensions but the embedding model gives "
                        f"{embedding_dimensions}; drop the index (DROP INDEX {name}) and run `mind embed` again"
                    )
                stale = _stale_settings(existing[name]["options"]["indexConfig"], config)
                if stale:
                    log.warning("vector index %s was built with %s, not the configured %s; "
                                "DROP INDEX %s and re-run to rebuild it", name, stale, config, name)
            else:
                session.execute_write(create_vector_index, name, label, embedding_dimensions, config)
        session.execute_write(
            merge_relations,
            [
                {"name": r.name, "template": r.template, "paperAccepted": r.paper_accepted, "ord": i}
                for i, r in enumerate(RELATIONS)
            ],
        )
        if await_seconds:
            session.execute_write(await_indexes, await_seconds)
        indexes = session.execute_read(vector_indexes)
    return {
        "constraints": len(CONSTRAINTS),
        "indexes": len(INDEXES),
        "vector_indexes": {
            name: int(info["options"]["indexConfig"]["vector.dimensions"]) for name, info in indexes.items()
        },
        "relations": len(RELATIONS),
        "vector_index_config": config,
    }
