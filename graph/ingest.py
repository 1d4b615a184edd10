"""Catalogue writes: products with their image state, CO_BUY edges, and pending also_buy links.

A link whose target is not loaded yet is kept as a `(:PendingLink {key, from, to, source})` node;
loading the target later (same run, a later file or a later run) turns it into the CO_BUY edge and
deletes it. CO_BUY edges keep graph.products' contract: one per pair, smaller asin -> larger.
Asins are ASCII (ingest validates them), so Cypher's string order equals Python's.
"""

from __future__ import annotations

from neo4j import Driver, ManagedTransaction

INGEST_SCHEMA = (
    "CREATE CONSTRAINT pending_link_key IF NOT EXISTS FOR (l:PendingLink) REQUIRE l.key IS UNIQUE",
    "CREATE INDEX pending_link_to IF NOT EXISTS FOR (l:PendingLink) ON (l.to)",
)


def _schema_statement(tx: ManagedTransaction, statement: str) -> None:
    tx.run(statement).consume()


def ensure_ingest_schema(driver: Driver, database: str) -> None:
    """Idempotent; the constraint and index that keep pending-link lookups fast."""
    with driver.session(database=database) as session:
        for statement in INGEST_SCHEMA:
            session.execute_write(_schema_statement, statement)


def merge_catalog_products(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {asin, props, image}; image {imageState, imagePath, imageReason} or null.

    A 'missing' image never overwrites an 'ok' one (a re-run without --images-dir keeps the image
    found before). Returns the number of new Product nodes.
    """
    summary = tx.run(
        "UNWIND $rows AS row "
        "MERGE (p:Product {asin: row.asin}) SET p += row.props "
        "WITH p, row WHERE row.image IS NOT NULL "
        "  AND (row.image.imageState <> 'missing' OR coalesce(p.imageState, 'missing') <> 'ok') "
        "SET p += row.image",
        rows=rows,
    ).consume()
    return summary.counters.nodes_created


def merge_minimal_products(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {asin, title}; products known only by id and name. Existing products keep their data."""
    summary = tx.run(
        "UNWIND $rows AS row "
        "MERGE (p:Product {asin: row.asin}) "
        "ON CREATE SET p.title = row.title, p.imageState = 'missing', "
        "  p.imageReason = 'no catalogue record: known only from a pair or intention file' "
        "ON MATCH SET p.title = coalesce(p.title, row.title)",
        rows=rows,
    ).consume()
    return summary.counters.nodes_created


def link_co_buys(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {a, b, source} with a < b; links pairs whose ends both exist; returns edges created."""
    summary = tx.run(
        "UNWIND $rows AS row "
        "MATCH (a:Product {asin: row.a}) MATCH (b:Product {asin: row.b}) "
        "MERGE (a)-[r:CO_BUY]->(b) ON CREATE SET r.source = row.source, r.createdAt = datetime()",
        rows=rows,
    ).consume()
    return summary.counters.relationships_created


def keep_pending_links(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {key, from, to, source}; remembers links whose target product does not exist yet."""
    summary = tx.run(
        "UNWIND $rows AS row "
        "WITH row WHERE NOT EXISTS { MATCH (:Product {asin: row.to}) } "
        "MERGE (l:PendingLink {key: row.key}) "
        "ON CREATE SET l.from = row.from, l.to = row.to, l.source = row.source",
        rows=rows,
    ).consume()
    return summary.counters.nodes_created


def complete_pending_links(tx: ManagedTransaction, asins: list[str]) -> int:
    """Turns pending links that point at `asins` (now loaded) into CO_BUY edges; returns edges created."""
    summary = tx.run(
        "UNWIND $asins AS asin "
        "MATCH (l:PendingLink {to: asin}) "
        "MATCH (x:Product {asin: l.from}) MATCH (y:Product {asin: asin}) "
        "WITH l, CASE WHEN x.asin < y.asin THEN x ELSE y END AS a, "
        "        CASE WHEN x.asin < y.asin THEN y ELSE x END AS b "
        "MERGE (a)-[r:CO_BUY]->(b) ON CREATE SET r.source = l.source, r.createdAt = datetime() "
        "DELETE l",
        asins=asins,
    ).consume()
    return summary.counters.relationships_created


def write_catalog_batch(tx: ManagedTransaction, products: list[dict], links: list[dict]) -> dict:
    """One transaction per batch: products, then their links, then links waiting for them."""
    created = merge_catalog_products(tx, products)
    co_buy = link_co_buys(tx, links) if links else 0
    pending = keep_pending_links(tx, links) if links else 0
    co_buy += complete_pending_links(tx, [row["asin"] for row in products])
    return {"created": created, "co_buy": co_buy, "pending": pending}


def write_pairs_batch(tx: ManagedTransaction, products: list[dict], links: list[dict]) -> dict:
    """Co-buy pairs: minimal products, the edges, and any pending links they complete."""
    created = merge_minimal_products(tx, products)
    co_buy = link_co_buys(tx, links)
    co_buy += complete_pending_links(tx, [row["asin"] for row in products])
    return {"created": created, "co_buy": co_buy}


def count_pending_links(tx: ManagedTransaction) -> int:
    return tx.run("MATCH (l:PendingLink) RETURN count(l) AS n").single()["n"]


def existing_intention_ids(tx: ManagedTransaction, ids: list[str]) -> list[str]:
    result = tx.run("UNWIND $ids AS id MATCH (i:Intention {id: id}) RETURN i.id AS id", ids=ids)
    return [record["id"] for record in result]


def delete_by_asin_prefix(tx: ManagedTransaction, prefix: str, limit: int) -> int:
    """Deletes up to `limit` products (and their edges) whose asin starts with `prefix`."""
    summary = tx.run(
        "MATCH (p:Product) WHERE p.asin STARTS WITH $prefix WITH p LIMIT $limit DETACH DELETE p",
        prefix=prefix, limit=limit,
    ).consume()
    return summary.counters.nodes_deleted


def delete_pending_by_prefix(tx: ManagedTransaction, prefix: str, limit: int) -> int:
    summary = tx.run(
        "MATCH (l:PendingLink) WHERE l.from STARTS WITH $prefix WITH l LIMIT $limit DELETE l",
        prefix=prefix, limit=limit,
    ).consume()
    return summary.counters.nodes_deleted
