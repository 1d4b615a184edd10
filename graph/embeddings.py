"""Reads of nodes that still need an embedding and batched vector writes.

A node needs one when it has no `embedding` or its `embeddingModel` differs from the configured
model. Reads page through the unique-key index (id / asin cursor), so each batch costs one index
seek rather than a scan of everything already embedded.
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.params import Rows
from graph.spans import cut

_NEEDS = "(n.embedding IS NULL OR n.embeddingModel IS NULL OR n.embeddingModel <> $model)"


def count_intentions_to_embed(tx: ManagedTransaction, model: str) -> int:
    return tx.run(f"MATCH (n:Intention) WHERE {_NEEDS} RETURN count(n) AS n", model=model).single(strict=True)["n"]


def count_products_to_embed(tx: ManagedTransaction, model: str) -> int:
    return tx.run(f"MATCH (n:Product) WHERE {_NEEDS} RETURN count(n) AS n", model=model).single(strict=True)["n"]


def intentions_to_embed(tx: ManagedTransaction, model: str, after: str, limit: int,
                        upto: str | None = None) -> list[dict]:
    """The next `limit` intentions by id after `after` (and up to `upto`) that need an embedding: {key, text}."""
    result = tx.run(
        f"MATCH (n:Intention) WHERE n.id > $after AND ($upto IS NULL OR n.id <= $upto) AND {_NEEDS} "
        "RETURN n.id AS key, coalesce(n.text, '') AS text ORDER BY n.id LIMIT $limit",
        model=model, after=after, limit=limit, upto=upto,
    )
    return [r.data() for r in result]


def products_to_embed(tx: ManagedTransaction, model: str, after: str, limit: int,
                      upto: str | None = None) -> list[dict]:
    """The next products by asin that need an embedding, with the fields their text is built from
    (features that a model with random weights wrote are left out: noise)."""
    result = tx.run(
        f"MATCH (n:Product) WHERE n.asin > $after AND ($upto IS NULL OR n.asin <= $upto) AND {_NEEDS} "
        "RETURN n.asin AS key, n.title AS title, n.brand AS brand, "
        "CASE WHEN n.featuresNoise THEN null ELSE n.features END AS features "
        "ORDER BY n.asin LIMIT $limit",
        model=model, after=after, limit=limit, upto=upto,
    )
    return [r.data() for r in result]


def intention_embed_spans(tx: ManagedTransaction, model: str, size: int) -> list[dict]:
    """The intentions that need an embedding as key ranges of about `size` (graph.spans)."""
    result = tx.run(f"MATCH (n:Intention) WHERE n.id > '' AND {_NEEDS} RETURN n.id AS key ORDER BY key", model=model)
    return cut(((r["key"], 1) for r in result), size)


def product_embed_spans(tx: ManagedTransaction, model: str, size: int) -> list[dict]:
    result = tx.run(f"MATCH (n:Product) WHERE n.asin > '' AND {_NEEDS} RETURN n.asin AS key ORDER BY key",
                    model=model)
    return cut(((r["key"], 1) for r in result), size)


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
