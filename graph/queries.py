"""Reads and the one curator write behind the GraphQL API: one named async function per statement.

Every statement is static Cypher with parameters. Batched reads take a list of keys (UNWIND) so
the API's DataLoaders turn N lookups into one round trip.
"""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from graph.schema import INTENTION_VECTOR_INDEX, PRODUCT_VECTOR_INDEX
from graph.sources import source_filter

PRODUCT = "{.asin, .title, .brand, .categories, .description, .features, .imageUrl, .mainCat, .price}"
INTENTION = (
    "{.id, .text, .relation, .status, .rationale, .model, .promptVersion, .source, .asinA, .asinB, "
    ".curatedBy, .curatorNote, curatedAt: toString(%s.curatedAt)}"
)
I_MAP = INTENTION % "i"
NODE = INTENTION % "node"


async def _rows(tx: AsyncManagedTransaction, query: str, **params: Any) -> list[dict]:
    result = await tx.run(query, **params)
    return [r.data() async for r in result]


async def products_by_asin(tx: AsyncManagedTransaction, asins: list[str]) -> list[dict]:
    return [r["p"] for r in await _rows(
        tx, f"UNWIND $asins AS asin MATCH (p:Product {{asin: asin}}) RETURN p {PRODUCT} AS p", asins=asins)]


async def co_bought_pages(tx: AsyncManagedTransaction, keys: list[dict]) -> list[dict]:
    """keys: {asin, after, first}; per key up to first+1 neighbours by asin (the extra one says 'more')."""
    return await _rows(
        tx,
        "UNWIND range(0, size($keys) - 1) AS ix WITH ix, $keys[ix] AS k "
        "OPTIONAL MATCH (:Product {asin: k.asin})-[:CO_BUY]-(q:Product) "
        "WHERE k.after IS NULL OR q.asin > k.after "
        "WITH ix, k, q ORDER BY q.asin "
        f"WITH ix, k, collect(q {PRODUCT}) AS items "
        "RETURN ix, items[..k.first + 1] AS items",
        keys=keys,
    )


async def intention_pages(tx: AsyncManagedTransaction, keys: list[dict]) -> list[dict]:
    """keys: {asin, relation, status, sources, after, first}; intentions explaining the product, by id
    (`sources` per key: graph/sources.py, null: every source but noise)."""
    return await _rows(
        tx,
        "UNWIND range(0, size($keys) - 1) AS ix WITH ix, $keys[ix] AS k "
        "OPTIONAL MATCH (i:Intention)-[:EXPLAINS]->(:Product {asin: k.asin}) "
        "WHERE (k.relation IS NULL OR i.relation = k.relation) AND (k.status IS NULL OR i.status = k.status) "
        f"AND (k.after IS NULL OR i.id > k.after) AND {source_filter('i', 'k.sources')} "
        "WITH ix, k, i ORDER BY i.id "
        f"WITH ix, k, collect(i {I_MAP}) AS items "
        "RETURN ix, items[..k.first + 1] AS items",
        keys=keys,
    )


async def intentions_by_id(tx: AsyncManagedTransaction, ids: list[str]) -> list[dict]:
    return [r["i"] for r in await _rows(
        tx, f"UNWIND $ids AS id MATCH (i:Intention {{id: id}}) RETURN i {I_MAP} AS i", ids=ids)]


async def explained_products(tx: AsyncManagedTransaction, ids: list[str]) -> list[dict]:
    """Per intention id, the products it explains: {id, asins}."""
    return await _rows(
        tx,
        "UNWIND $ids AS id MATCH (i:Intention {id: id}) OPTIONAL MATCH (i)-[:EXPLAINS]->(p:Product) "
        "WITH id, p ORDER BY p.asin RETURN id, collect(p.asin) AS asins",
        ids=ids,
    )


async def pair_intentions(
    tx: AsyncManagedTransaction, a: str, b: str, relation: str | None, statuses: list[str],
    sources: list[str] | None = None,
) -> list[dict]:
    """Intentions that explain both products (direction-free), best-known order: relation, id.
    `sources`: graph/sources.py (None: every source but noise)."""
    return [r["i"] for r in await _rows(
        tx,
        "MATCH (:Product {asin: $a})<-[:EXPLAINS]-(i:Intention)-[:EXPLAINS]->(:Product {asin: $b}) "
        f"WHERE ($relation IS NULL OR i.relation = $relation) AND i.status IN $statuses AND {source_filter('i')} "
        f"RETURN DISTINCT i {I_MAP} AS i ORDER BY i.relation, i.id",
        a=a, b=b, relation=relation, statuses=statuses, sources=sources,
    )]


async def search_intentions(
    tx: AsyncManagedTransaction, embedding: list[float], k: int, fetch: int,
    relation: str | None, statuses: list[str] | None, sources: list[str] | None = None,
) -> dict:
    """The `fetch` nearest intentions, filtered, best k kept: {raw, hits: [{score, i}]}.
    `sources`: see graph/sources.py (None: every source but noise).

    The vector index cannot filter, so the caller over-fetches and retries with a larger `fetch`
    while fewer than k survive and the index still had more (`raw == fetch`).
    """
    rows = await _rows(
        tx,
        f"CALL db.index.vector.queryNodes('{INTENTION_VECTOR_INDEX}', $fetch, $embedding) YIELD node, score "
        "WITH count(*) AS raw, collect(CASE WHEN ($statuses IS NULL OR node.status IN $statuses) "
        f"AND ($relation IS NULL OR node.relation = $relation) AND {source_filter('node')} "
        "THEN {score: score, node: node} END) AS kept "
        # Project properties of the k kept hits only, not of every fetched node.
        "UNWIND CASE WHEN size(kept) = 0 THEN [null] ELSE kept[..$k] END AS hit "
        "WITH raw, hit.score AS score, hit.node AS node "
        f"RETURN raw, collect(CASE WHEN node IS NOT NULL THEN {{score: score, i: node {NODE}}} END) AS hits",
        embedding=embedding, k=k, fetch=fetch, relation=relation, statuses=statuses, sources=sources,
    )
    return rows[0] if rows else {"raw": 0, "hits": []}


async def recommendation_facts(
    tx: AsyncManagedTransaction, embedding: list[float], *, intention_fetch: int, statuses: list[str],
    sources: list[str] | None, exclude_ids: list[str], context: str | None, withheld: list[str],
    neighbours: int, product_fetch: int, candidates: list[str] | None,
) -> dict:
    """Everything `recommend` scores, in one statement (one round trip):
    {evidence, contextKnown, direct, indirect, scored}.

    evidence: nearest accepted intentions (of `sources`, graph/sources.py; minus `exclude_ids`) with the asins they
    explain, best first. direct: co-bought with `context` (minus `withheld`); indirect: co-bought
    with the `neighbours` products most like it. scored: every pooled product (`candidates`, or the
    evidence's, the `product_fetch` nearest products' and the complements' asins; never `context`)
    with its cosine to the text (index-normalised, null without a vector).
    """
    rows = await _rows(
        tx,
        "CALL { "
        f"  CALL db.index.vector.queryNodes('{INTENTION_VECTOR_INDEX}', $intentionFetch, $embedding) "
        "  YIELD node, score "
        f"  WHERE node.status IN $statuses AND {source_filter('node')} "
        "    AND NOT node.id IN $excludeIds "
        "  MATCH (node)-[:EXPLAINS]->(p:Product) "
        "  WITH score, node, collect(p.asin) AS asins ORDER BY score DESC "
        f"  RETURN collect({{score: score, i: node {NODE}, asins: asins}}) AS evidence "
        "} "
        "CALL { "
        "  OPTIONAL MATCH (c:Product {asin: $context}) "
        "  OPTIONAL MATCH (c)-[:CO_BUY]-(d:Product) "
        "  WITH c, [a IN collect(DISTINCT d.asin) WHERE NOT a IN $withheld] AS direct "
        "  CALL (c) { "
        "    UNWIND CASE WHEN c.embedding IS NULL THEN [] ELSE [c.embedding] END AS vec "
        f"    CALL db.index.vector.queryNodes('{PRODUCT_VECTOR_INDEX}', $neighbours, vec) YIELD node "
        "    WITH node WHERE node <> c "
        "    MATCH (node)-[:CO_BUY]-(e:Product) WHERE e <> c "
        "    RETURN collect(DISTINCT e.asin) AS near "
        "  } "
        "  RETURN c IS NOT NULL AS contextKnown, direct, [a IN near WHERE NOT a IN direct] AS indirect "
        "} "
        "CALL { "
        "  UNWIND CASE WHEN $candidates IS NULL THEN [1] ELSE [] END AS wanted "
        f"  CALL db.index.vector.queryNodes('{PRODUCT_VECTOR_INDEX}', $productFetch, $embedding) YIELD node, score "
        "  WITH node ORDER BY score DESC "
        "  RETURN collect(node.asin) AS similar "
        "} "
        "WITH evidence, contextKnown, direct, indirect, CASE WHEN $candidates IS NULL "
        "  THEN reduce(a = [], e IN evidence | a + e.asins) + similar + direct + indirect "
        "  ELSE $candidates END AS pool "
        "CALL (pool) { "
        "  UNWIND pool AS asin WITH DISTINCT asin WHERE asin <> coalesce($context, '') "
        "  MATCH (p:Product {asin: asin}) "
        f"  RETURN collect({{p: p {PRODUCT}, sim: CASE WHEN p.embedding IS NULL THEN null "
        "    ELSE vector.similarity.cosine(p.embedding, $embedding) END}) AS scored "
        "} "
        "RETURN evidence, contextKnown, direct, indirect, scored",
        embedding=embedding, intentionFetch=intention_fetch, statuses=statuses, sources=sources,
        excludeIds=exclude_ids, context=context, withheld=withheld, neighbours=neighbours,
        productFetch=product_fetch, candidates=candidates,
    )
    return rows[0]


async def relation_stats(tx: AsyncManagedTransaction, sources: list[str] | None = None) -> list[dict]:
    """Per relation, its intentions by status (of `sources`: graph/sources.py; None: every source but noise)."""
    return await _rows(
        tx,
        "MATCH (r:Relation) "
        f"OPTIONAL MATCH (i:Intention {{relation: r.name}}) WHERE {source_filter('i')} "
        "WITH r, count(i) AS total, count(CASE WHEN i.status = 'ACCEPTED' THEN 1 END) AS accepted, "
        "count(CASE WHEN i.status = 'REJECTED' THEN 1 END) AS rejected, "
        "count(CASE WHEN i.status = 'UNDECIDED' THEN 1 END) AS undecided "
        "RETURN r.name AS name, r.template AS template, total, accepted, rejected, undecided ORDER BY r.ord",
        sources=sources,
    )


async def set_intention_status(
    tx: AsyncManagedTransaction, id: str, status: str, note: str | None, curator: str
) -> dict | None:
    rows = await _rows(
        tx,
        "MATCH (i:Intention {id: $id}) "
        "SET i.status = $status, i.curatorNote = $note, i.curatedBy = $curator, i.curatedAt = datetime() "
        f"RETURN i {I_MAP} AS i",
        id=id, status=status, note=note, curator=curator,
    )
    return rows[0]["i"] if rows else None


async def nearest_intention_ids(tx: AsyncManagedTransaction, embedding: list[float], fetch: int) -> list[str]:
    """Ids of the `fetch` nearest intentions by the vector index, best first (recall measurements)."""
    return [r["id"] for r in await _rows(
        tx,
        f"CALL db.index.vector.queryNodes('{INTENTION_VECTOR_INDEX}', $fetch, $embedding) YIELD node, score "
        "RETURN node.id AS id ORDER BY score DESC",
        embedding=embedding, fetch=fetch,
    )]
