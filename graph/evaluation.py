"""Reads behind `mind eval`, `mind stats` and `mind export sft`: one named function per statement.

All statements are static Cypher with parameters; batched reads UNWIND a list. `:PendingLink`
nodes (ingest's links to products not loaded yet) are never counted: only labels named here are.
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.schema import INTENTION_VECTOR_INDEX
from graph.sources import source_filter


def product_vectors(tx: ManagedTransaction, asins: list[str]) -> dict[str, list[float]]:
    result = tx.run(
        "UNWIND $asins AS asin MATCH (p:Product {asin: asin}) WHERE p.embedding IS NOT NULL "
        "RETURN p.asin AS asin, p.embedding AS embedding",
        asins=asins,
    )
    return {r["asin"]: r["embedding"] for r in result}


def nearest_accepted_intentions(tx: ManagedTransaction, vectors: list[list[float]], k: int,
                                sources: list[str] | None = None) -> list[dict]:
    """Per vector (by position `q`), accepted intentions (of `sources`: graph/sources.py) among its k
    nearest: {q, id, asinA, asinB, score} with Neo4j's normalised cosine score, best first per vector."""
    result = tx.run(
        "UNWIND range(0, size($vectors) - 1) AS q "
        f"CALL db.index.vector.queryNodes('{INTENTION_VECTOR_INDEX}', $k, $vectors[q]) YIELD node, score "
        f"WHERE node.status = 'ACCEPTED' AND {source_filter('node')} "
        "RETURN q, node.id AS id, node.asinA AS asinA, node.asinB AS asinB, score ORDER BY q, score DESC, id",
        vectors=vectors, k=k, sources=sources,
    )
    return [r.data() for r in result]


def nearest_accepted_intentions_exact(tx: ManagedTransaction, vector: list[float], k: int,
                                      sources: list[str] | None = None) -> list[dict]:
    """The same as one vector of nearest_accepted_intentions by a full scan: for when the HNSW
    index returns fewer than k (it does on clusters of identical vectors, e.g. many facts with
    the same text). {id, asinA, asinB, score}, score normalised as the index's."""
    result = tx.run(
        "MATCH (i:Intention) WHERE i.status = 'ACCEPTED' AND i.embedding IS NOT NULL "
        f"AND {source_filter('i')} "
        "WITH i, vector.similarity.cosine(i.embedding, $vector) AS score ORDER BY score DESC, i.id LIMIT $k "
        "RETURN i.id AS id, i.asinA AS asinA, i.asinB AS asinB, score",
        vector=vector, k=k, sources=sources,
    )
    return [r.data() for r in result]


def accepted_pairs(tx: ManagedTransaction, sources: list[str] | None = None) -> list[list[str]]:
    """Every co-buy pair that has an accepted intention (of `sources`), as [asinA, asinB]."""
    result = tx.run(
        f"MATCH (i:Intention) WHERE i.status = 'ACCEPTED' AND {source_filter('i')} "
        "WITH DISTINCT i.asinA AS a, i.asinB AS b RETURN a, b ORDER BY a, b",
        sources=sources,
    )
    return [[r["a"], r["b"]] for r in result]


def intention_ids_for_pairs(tx: ManagedTransaction, pairs: list[list[str]]) -> list[dict]:
    """Per pair [a, b] (either order), every intention that explains both:
    {a, b, facts: [{id, source, status}]}."""
    result = tx.run(
        "UNWIND $pairs AS pair "
        "OPTIONAL MATCH (:Product {asin: pair[0]})<-[:EXPLAINS]-(i:Intention)-[:EXPLAINS]->"
        "(:Product {asin: pair[1]}) "
        "WITH pair, i ORDER BY i.id "
        "RETURN pair[0] AS a, pair[1] AS b, "
        "[f IN collect(DISTINCT {id: i.id, source: i.source, status: i.status}) WHERE f.id IS NOT NULL] AS facts",
        pairs=pairs,
    )
    return [r.data() for r in result]


def intention_ids_for_texts(tx: ManagedTransaction, texts: list[str]) -> list[dict]:
    """Intentions whose text, lower-cased and trimmed, is one of `texts`: {text, ids, pairs}."""
    result = tx.run(
        "MATCH (i:Intention) WITH i, toLower(trim(i.text)) AS text WHERE text IN $texts "
        "RETURN text, collect(i.id) AS ids, collect(DISTINCT [i.asinA, i.asinB]) AS pairs",
        texts=texts,
    )
    return [r.data() for r in result]


def relation_status_counts(tx: ManagedTransaction, sources: list[str] | None = None) -> list[dict]:
    """Intentions (of `sources`: graph/sources.py) per relation and status: {relation, status, n}."""
    result = tx.run(
        f"MATCH (i:Intention) WHERE {source_filter('i')} "
        "RETURN i.relation AS relation, i.status AS status, count(*) AS n ORDER BY relation, status",
        sources=sources,
    )
    return [r.data() for r in result]


def kb_totals(tx: ManagedTransaction, sources: list[str] | None = None) -> dict:
    """Products, co-buy records (CO_BUY edges), intentions (of `sources`) and the noise intentions
    the filter left out; PendingLink nodes are not counted."""
    record = tx.run(
        "CALL { MATCH (p:Product) RETURN count(p) AS products } "
        "CALL { MATCH (:Product)-[r:CO_BUY]->(:Product) RETURN count(r) AS coBuy } "
        f"CALL {{ MATCH (i:Intention) WITH i, {source_filter('i')} AS kept "
        "  RETURN count(CASE WHEN kept THEN 1 END) AS intentions, "
        "  count(CASE WHEN NOT kept AND coalesce(i.noise, false) THEN 1 END) AS noiseLeftOut } "
        "RETURN products, coBuy, intentions, noiseLeftOut",
        sources=sources,
    ).single(strict=True)
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
