"""Reads behind `mind eval`, `mind stats` and `mind export sft`: one named function per statement.

All statements are static Cypher with parameters; batched reads UNWIND a list. `:PendingLink`
nodes (ingest's links to products not loaded yet) are never counted: only labels named here are.
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.schema import PRODUCT_VECTOR_INDEX


def product_vectors(tx: ManagedTransaction, asins: list[str]) -> dict[str, list[float]]:
    result = tx.run(
        "UNWIND $asins AS asin MATCH (p:Product {asin: asin}) WHERE p.embedding IS NOT NULL "
        "RETURN p.asin AS asin, p.embedding AS embedding",
        asins=asins,
    )
    return {r["asin"]: r["embedding"] for r in result}


def neighbour_pair_intentions(tx: ManagedTransaction, vectors: list[list[float]], k: int) -> list[dict]:
    """Accepted intentions explaining any of the k products nearest to each vector:
    {id, embedding, asinA, asinB} (the pair's product vectors come from product_vectors, cached)."""
    result = tx.run(
        "UNWIND $vectors AS v "
        f"CALL db.index.vector.queryNodes('{PRODUCT_VECTOR_INDEX}', $k, v) YIELD node "
        "WITH DISTINCT node "
        "MATCH (i:Intention)-[:EXPLAINS]->(node) WHERE i.status = 'ACCEPTED' AND i.embedding IS NOT NULL "
        "WITH DISTINCT i "
        "RETURN i.id AS id, i.embedding AS embedding, i.asinA AS asinA, i.asinB AS asinB ORDER BY id",
        vectors=vectors, k=k,
    )
    return [r.data() for r in result]


def intention_ids_for_pairs(tx: ManagedTransaction, pairs: list[list[str]]) -> list[dict]:
    """Per pair [a, b] (either order), the ids of every intention that explains both: {a, b, ids}."""
    result = tx.run(
        "UNWIND $pairs AS pair "
        "OPTIONAL MATCH (:Product {asin: pair[0]})<-[:EXPLAINS]-(i:Intention)-[:EXPLAINS]->"
        "(:Product {asin: pair[1]}) "
        "RETURN pair[0] AS a, pair[1] AS b, collect(DISTINCT i.id) AS ids",
        pairs=pairs,
    )
    return [r.data() for r in result]


def intention_ids_for_texts(tx: ManagedTransaction, texts: list[str]) -> list[dict]:
    """Intentions whose text, lower-cased and trimmed, is one of `texts`: {text, ids}."""
    result = tx.run(
        "MATCH (i:Intention) WITH i, toLower(trim(i.text)) AS text WHERE text IN $texts "
        "RETURN text, collect(i.id) AS ids",
        texts=texts,
    )
    return [r.data() for r in result]


def relation_status_counts(tx: ManagedTransaction) -> list[dict]:
    """Intentions per relation and status: {relation, status, n}."""
    result = tx.run(
        "MATCH (i:Intention) RETURN i.relation AS relation, i.status AS status, count(*) AS n "
        "ORDER BY relation, status"
    )
    return [r.data() for r in result]


def kb_totals(tx: ManagedTransaction) -> dict:
    """Products, co-buy records (CO_BUY edges) and intentions; PendingLink nodes are not counted."""
    record = tx.run(
        "CALL { MATCH (p:Product) RETURN count(p) AS products } "
        "CALL { MATCH (:Product)-[r:CO_BUY]->(:Product) RETURN count(r) AS coBuy } "
        "CALL { MATCH (i:Intention) RETURN count(i) AS intentions } "
        "RETURN products, coBuy, intentions"
    ).single()
    return record.data()


def accepted_intentions_page(tx: ManagedTransaction, relations: list[str], after: str, limit: int) -> list[dict]:
    """The next accepted intentions by id after `after`, with their pair's names."""
    result = tx.run(
        "MATCH (i:Intention) WHERE i.id > $after AND i.status = 'ACCEPTED' AND i.relation IN $relations "
        "WITH i ORDER BY i.id LIMIT $limit "
        "OPTIONAL MATCH (a:Product {asin: i.asinA}) OPTIONAL MATCH (b:Product {asin: i.asinB}) "
        "RETURN i.id AS id, i.text AS text, i.relation AS relation, i.asinA AS asinA, i.asinB AS asinB, "
        "a.title AS nameA, b.title AS nameB ORDER BY id",
        relations=relations, after=after, limit=limit,
    )
    return [r.data() for r in result]
