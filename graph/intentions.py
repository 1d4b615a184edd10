"""Intention nodes with their EXPLAINS and HAS_RELATION edges and the per-relation label.

Intention properties: id, text, relation, status, rationale, model, promptVersion, source,
asinA, asinB (pair order as generated: A is the upper image), createdAt, plus what each stage adds
(rawText, seed, decoding, filterModel, filterPromptVersion, filterRaw, filteredAt, embedding,
embeddingModel, curatedBy, curatedAt, curatorNote).
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.params import Rows


def merge_intentions(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {id, asinA, asinB, relation, props}; an existing id keeps its properties."""
    record = tx.run(
        "UNWIND $rows AS row "
        "MATCH (a:Product {asin: row.asinA}) MATCH (b:Product {asin: row.asinB}) "
        "MATCH (r:Relation {name: row.relation}) "
        "MERGE (i:Intention {id: row.id}) "
        "ON CREATE SET i += row.props, i.relation = row.relation, i.asinA = row.asinA, "
        "  i.asinB = row.asinB, i.createdAt = coalesce(i.createdAt, datetime()) "
        "SET i:$(row.relation) "
        "MERGE (i)-[:EXPLAINS]->(a) MERGE (i)-[:EXPLAINS]->(b) MERGE (i)-[:HAS_RELATION]->(r) "
        "RETURN count(DISTINCT i) AS n",
        rows=Rows(rows),
    ).single()
    return record["n"] if record else 0
