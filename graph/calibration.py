"""Statements of the vector-search calibration (retrieval/calibrate.py) and its record in the graph.

The record is one `(:MindCalibration {index})` node per vector index, so every API process reads
the same candidate count. Map values cannot be properties, so the recall table is two lists.
"""

from __future__ import annotations

from neo4j import AsyncManagedTransaction, ManagedTransaction

from graph.schema import INTENTION_VECTOR_INDEX

_READ = (
    "MATCH (c:MindCalibration {index: $index}) "
    "RETURN c {.*, measuredAt: toString(c.measuredAt)} AS c LIMIT 1"
)


# Vectors are told apart from other dimensions by the caller: `size(n.embedding)` in the filter
# costs the server several times the read itself.


def count_embedded_intentions(tx: ManagedTransaction) -> int:
    """Intentions with a vector: what the intention index holds."""
    record = tx.run("MATCH (n:Intention) WHERE n.embedding IS NOT NULL RETURN count(n) AS n").single()
    return record["n"] if record else 0


def embedded_intention_ids(tx: ManagedTransaction, after: str, limit: int) -> list[str]:
    """The next `limit` ids of intentions with a vector after `after`, in id order (a cursor on the unique key)."""
    result = tx.run(
        "MATCH (n:Intention) WHERE n.id > $after AND n.embedding IS NOT NULL "
        "RETURN n.id AS id ORDER BY n.id LIMIT $limit",
        after=after, limit=limit,
    )
    return [r["id"] for r in result]


def embedded_intention_vectors(tx: ManagedTransaction, after: str, limit: int) -> list[dict]:
    """The next `limit` intentions with a vector after `after`, in id order: {id, embedding}."""
    result = tx.run(
        "MATCH (n:Intention) WHERE n.id > $after AND n.embedding IS NOT NULL "
        "RETURN n.id AS id, n.embedding AS embedding ORDER BY n.id LIMIT $limit",
        after=after, limit=limit,
    )
    # Not `Record.data()`: it walks every float of every vector in Python, ten times slower.
    return [{"id": r["id"], "embedding": r["embedding"]} for r in result]


def intention_vectors_by_id(tx: ManagedTransaction, ids: list[str]) -> list[dict]:
    """{id, embedding} of the given intentions, in the order given (missing ones left out)."""
    result = tx.run(
        "UNWIND range(0, size($ids) - 1) AS ix MATCH (n:Intention {id: $ids[ix]}) "
        "RETURN n.id AS id, n.embedding AS embedding ORDER BY ix",
        ids=ids,
    )
    return [{"id": r["id"], "embedding": r["embedding"]} for r in result]


def nearest_intention_ids_batch(tx: ManagedTransaction, embeddings: list[list[float]], fetch: int) -> list[list[str]]:
    """Per query vector, the ids of the index's `fetch` nearest intentions, best first."""
    result = tx.run(
        "UNWIND range(0, size($embeddings) - 1) AS ix "
        "CALL (ix) { "
        f"  CALL db.index.vector.queryNodes('{INTENTION_VECTOR_INDEX}', $fetch, $embeddings[ix]) YIELD node, score "
        "  WITH node, score ORDER BY score DESC RETURN collect(node.id) AS ids } "
        "RETURN ix, ids ORDER BY ix",
        embeddings=embeddings, fetch=fetch,
    )
    return [r["ids"] for r in result]


def record_calibration(tx: ManagedTransaction, index: str, props: dict) -> None:
    """One node per index: a re-run replaces every property of the previous record."""
    tx.run(
        "MERGE (c:MindCalibration {index: $index}) SET c = $props, c.index = $index, c.measuredAt = datetime()",
        index=index, props=props,
    ).consume()


def read_calibration(tx: ManagedTransaction, index: str) -> dict | None:
    record = tx.run(_READ, index=index).single()
    return record["c"] if record else None


async def read_calibration_async(tx: AsyncManagedTransaction, index: str) -> dict | None:
    """The same read for the API's async driver."""
    result = await tx.run(_READ, index=index)
    record = await result.single()
    return record["c"] if record else None


def delete_calibration(tx: ManagedTransaction, index: str) -> None:
    tx.run("MATCH (c:MindCalibration {index: $index}) DELETE c", index=index).consume()
