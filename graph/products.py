"""Product nodes and CO_BUY edges.

Product properties (the contract between ingest, generation and the API):
  asin, title, brand, categories [str], description str, bulletPoints [str] (Amazon's `feature`),
  mainCat, price, imageUrl, imagePath, imageState ('ok'|'missing'|'unreadable'), imageReason,
  features (stage-1 text), featuresModel, featuresPromptVersion, featuresAt,
  embedding, embeddingModel.
CO_BUY: one edge per pair, from the smaller asin to the larger (mindkb.ids.pair_key).
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.params import Rows


def merge_products(tx: ManagedTransaction, rows: list[dict]) -> None:
    """rows: {asin, props}; a duplicate asin updates the node, never duplicates it."""
    tx.run(
        "UNWIND $rows AS row MERGE (p:Product {asin: row.asin}) SET p += row.props",
        rows=Rows(rows),
    ).consume()


def merge_co_buys(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {a, b, source} with a < b; pairs whose ends are not both loaded are ignored."""
    record = tx.run(
        "UNWIND $rows AS row "
        "MATCH (a:Product {asin: row.a}) MATCH (b:Product {asin: row.b}) "
        "MERGE (a)-[r:CO_BUY]->(b) ON CREATE SET r.source = row.source, r.createdAt = datetime() "
        "RETURN count(r) AS n",
        rows=Rows(rows),
    ).single()
    return record["n"] if record else 0
