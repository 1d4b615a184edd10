"""Reads of nodes that still need an embedding and batched vector writes.

A node needs one when it has no `embedding` or its `embeddingModel` differs from the configured
model. Reads page through the unique-key index (id / asin cursor), so each batch costs one index
seek rather than a scan of everything already embedded.
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.params import Rows

_NEEDS = "(n.embedding IS NULL OR n.embeddingModel IS NULL OR n.embeddingModel <> $model)"


def count_intentions_to_embed(tx: ManagedTransaction, model: str) -> int:
    return tx.run(f"MATCH (n:Intention) WHERE {_NEEDS} RETURN count(n) AS n", model=model).single()["n"]


def count_products_to_embed(tx: ManagedTransaction, model: str) -> int:
    return tx.run(f"MATCH (n:Product) WHERE {_NEEDS} RETURN count(n) AS n", model=model).single()["n"]


def intentions_to_embed(tx: ManagedTransaction, model: str, after: str, limit: int) -> list[dict]:
    """The next `limit` intentions by id after `after` that need an embedding: {key, text}."""
    result = tx.run(
        f"MATCH (n:Intention) WHERE n.id > $after AND {_NEEDS} "
        "RETURN n.id AS key, coalesce(n.text, '') AS text ORDER BY n.id LIMIT $limit",
        model=model, after=after, limit=limit,
    )
    return [r.data() for r in result]


def products_to_embed(tx: ManagedTransaction, model: str, after: str, limit: int) -> list[dict]:
    """The next products by asin that need an embedding, with the fields their text is built from."""
    result = tx.run(
        f"MATCH (n:Product) WHERE n.asin > $after AND {_NEEDS} "
        "RETURN n.asin AS key, n.title AS title, n.brand AS brand, n.features AS features "
        "ORDER BY n.asin LIMIT $limit",
        model=model, after=after, limit=limit,
    )
    return [r.data() for r in result]


def set_intention_embeddings(tx: ManagedTransaction, rows: list[dict], model: str) -> None:
    """rows: {key, embedding}; stored as a vector property with the model name beside it."""
    tx.run(
        "UNWIND $rows AS row MATCH (n:Intention {id: row.key}) "
        "CALL db.create.setNodeVectorProperty(n, 'embedding', row.embedding) "
        "SET n.embeddingModel = $model",
        rows=Rows(rows), model=model,
    ).consume()


def set_product_embeddings(tx: ManagedTransaction, rows: list[dict], model: str) -> None:
    tx.run(
        "UNWIND $rows AS row MATCH (n:Product {asin: row.key}) "
        "CALL db.create.setNodeVectorProperty(n, 'embedding', row.embedding) "
        "SET n.embeddingModel = $model",
        rows=Rows(rows), model=model,
    ).consume()


def set_intention_embeddings_plain(tx: ManagedTransaction, rows: list[dict], model: str) -> None:
    """Like set_intention_embeddings with a plain SET (stored as float64): the loader benchmark compares both."""
    tx.run(
        "UNWIND $rows AS row MATCH (n:Intention {id: row.key}) "
        "SET n.embedding = row.embedding, n.embeddingModel = $model",
        rows=Rows(rows), model=model,
    ).consume()
