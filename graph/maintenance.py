"""Whole-graph housekeeping (used by tests and benchmarks)."""

from __future__ import annotations

from neo4j import Driver, ManagedTransaction

from graph.schema import KNOWN_LABELS


def delete_everything(driver: Driver, database: str) -> None:
    """Remove all nodes and relationships in batches (auto-commit, so it fits any heap)."""
    with driver.session(database=database) as session:
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS").consume()


def count_nodes(driver: Driver, database: str, label: str | None = None) -> int:
    if label is not None and label not in KNOWN_LABELS:
        raise ValueError(f"unknown label {label!r}")
    query = f"MATCH (n:{label}) RETURN count(n) AS n" if label else "MATCH (n) RETURN count(n) AS n"
    records, _, _ = driver.execute_query(query, database_=database)
    return records[0]["n"]


# --- a whole-graph fingerprint: what crash tests compare between a killed-and-resumed run and a clean one


def label_counts(tx: ManagedTransaction) -> dict[str, int]:
    result = tx.run("MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n")
    return {r["label"]: r["n"] for r in result}


def relationship_counts(tx: ManagedTransaction) -> dict[str, int]:
    result = tx.run("MATCH ()-[r]->() RETURN type(r) AS type, count(r) AS n")
    return {r["type"]: r["n"] for r in result}


def node_keys(tx: ManagedTransaction) -> dict[str, list[str]]:
    record = tx.run(
        "CALL { MATCH (p:Product) RETURN collect(p.asin) AS products } "
        "CALL { MATCH (i:Intention) RETURN collect(i.id) AS intentions } "
        "CALL { MATCH (a:Product)-[:CO_BUY]->(b:Product) RETURN collect(a.asin + '>' + b.asin) AS coBuys } "
        "CALL { MATCH (i:Intention)-[:EXPLAINS]->(p:Product) RETURN collect(i.id + '>' + p.asin) AS explains } "
        "RETURN products, intentions, coBuys, explains"
    ).single(strict=True)
    return {k: sorted(v) for k, v in record.items()}


def work_state(tx: ManagedTransaction) -> dict[str, int]:
    """Leftovers a finished run must not have: open intentions, leases; and what has vectors."""
    return dict(tx.run(
        "CALL { MATCH (i:Intention {status: 'GENERATED'}) RETURN count(i) AS generated } "
        "CALL { MATCH (p:Product) WHERE p.featuresLeaseOwner IS NOT NULL RETURN count(p) AS featureLeases } "
        "CALL { MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseOwner IS NOT NULL RETURN count(c) AS pairLeases } "
        "CALL { MATCH (i:Intention) WHERE i.filterLeaseOwner IS NOT NULL RETURN count(i) AS filterLeases } "
        "CALL { MATCH (p:Product) WHERE p.features IS NOT NULL RETURN count(p) AS featured } "
        "CALL { MATCH (i:Intention) WHERE i.embedding IS NOT NULL RETURN count(i) AS intentionVectors } "
        "CALL { MATCH (p:Product) WHERE p.embedding IS NOT NULL RETURN count(p) AS productVectors } "
        "RETURN generated, featureLeases, pairLeases, filterLeases, featured, intentionVectors, productVectors"
    ).single(strict=True))


def graph_snapshot(tx: ManagedTransaction) -> dict:
    return {"labels": label_counts(tx), "relationships": relationship_counts(tx), **node_keys(tx),
            **work_state(tx)}
