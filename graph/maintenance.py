"""Whole-graph housekeeping (used by tests and benchmarks)."""

from __future__ import annotations

from neo4j import Driver


def delete_everything(driver: Driver, database: str) -> None:
    """Remove all nodes and relationships in batches (auto-commit, so it fits any heap)."""
    with driver.session(database=database) as session:
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def count_nodes(driver: Driver, database: str, label: str | None = None) -> int:
    from graph.schema import KNOWN_LABELS

    if label is not None and label not in KNOWN_LABELS:
        raise ValueError(f"unknown label {label!r}")
    query = f"MATCH (n:{label}) RETURN count(n) AS n" if label else "MATCH (n) RETURN count(n) AS n"
    records, _, _ = driver.execute_query(query, database_=database)
    return records[0]["n"]
