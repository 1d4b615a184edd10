"""Catalogue writes: products with their image state, CO_BUY edges, and pending also_buy links.

A link whose target is not loaded yet is kept as a `(:PendingLink {key, from, to, source})` node;
loading the target later (same run, a later file or a later run) turns it into the CO_BUY edge and
deletes it. CO_BUY edges keep graph.products' contract: one per pair, smaller asin -> larger.
Asins are ASCII (ingest validates them), so Cypher's string order equals Python's.
"""

from __future__ import annotations

from neo4j import Driver, ManagedTransaction

from graph.params import Rows

# What the import statements write besides their rows; the bulk path (graph/bulkgraph.py) writes the same.
MINIMAL_IMAGE_STATE = "missing"
MINIMAL_IMAGE_REASON = "no catalogue record: known only from a pair or intention file"
IMPORTED_PROMPT_VERSION = "import"

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
        rows=Rows(rows),
    ).consume()
    return summary.counters.nodes_created


def set_empty_lists(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {asin, props} with props {name: []}. neo4j-admin's importer cannot store an empty array
    (it leaves the property unset); the bulk path sets the ones the write statements store after it."""
    record = tx.run("UNWIND $rows AS row MATCH (p:Product {asin: row.asin}) SET p += row.props RETURN count(p) AS n",
                    rows=Rows(rows)).single()
    return record["n"] if record else 0


def merge_minimal_products(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {asin, title}; products known only by id and name. Existing products keep their data."""
    summary = tx.run(
        "UNWIND $rows AS row "
        "MERGE (p:Product {asin: row.asin}) "
        "ON CREATE SET p.title = row.title, p.imageState = $state, p.imageReason = $reason "
        "ON MATCH SET p.title = coalesce(p.title, row.title)",
        rows=Rows(rows), state=MINIMAL_IMAGE_STATE, reason=MINIMAL_IMAGE_REASON,
    ).consume()
    return summary.counters.nodes_created


def set_imported_features(tx: ManagedTransaction, rows: list[dict], source: str) -> int:
    """rows: {asin, features, raw}; stage-1 text from a released run, with provenance.

    Features that the generation stage or another import made are kept: only a product without
    features, or with features from this same source, takes the row.
    """
    summary = tx.run(
        "UNWIND $rows AS row MATCH (p:Product {asin: row.asin}) "
        "WITH p, row WHERE p.features IS NULL OR p.featuresSource = $source "
        "SET p.features = row.features, p.featuresRaw = row.raw, p.featuresSource = $source, "
        "p.featuresModel = $source, p.featuresPromptVersion = $version, "
        "p.featuresAt = coalesce(p.featuresAt, datetime()) "
        "RETURN count(p) AS n",
        rows=Rows(rows), source=source, version=IMPORTED_PROMPT_VERSION,
    ).single()
    return summary["n"] if summary else 0


def set_imported_product_details(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {asin, imageUrl, imageUrls, mainCat, categories, link} from a release's product columns.

    Fills only what the product lacks: a catalogue's own data is never overwritten. The image stays
    `missing` until a file is fetched (`mind ingest catalog --download-images`).
    """
    summary = tx.run(
        "UNWIND $rows AS row MATCH (p:Product {asin: row.asin}) "
        "SET p.imageUrl = coalesce(p.imageUrl, row.imageUrl), p.imageUrls = coalesce(p.imageUrls, row.imageUrls), "
        "p.mainCat = coalesce(p.mainCat, row.mainCat), p.categories = coalesce(p.categories, row.categories), "
        "p.link = coalesce(p.link, row.link) "
        "RETURN count(p) AS n",
        rows=Rows(rows),
    ).single()
    return summary["n"] if summary else 0


def link_co_buys(tx: ManagedTransaction, rows: list[dict]) -> int:
    """rows: {a, b, source} with a < b; links pairs whose ends both exist; returns edges created."""
    summary = tx.run(
        "UNWIND $rows AS row "
        "MATCH (a:Product {asin: row.a}) MATCH (b:Product {asin: row.b}) "
        "MERGE (a)-[r:CO_BUY]->(b) ON CREATE SET r.source = row.source, r.createdAt = datetime()",
        rows=Rows(rows),
    ).consume()
    return summary.counters.relationships_created


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


def link_also_buys(tx: ManagedTransaction, rows: list[dict], source: str) -> dict:
    """rows: {from, to} where `from` exists: a CO_BUY edge when `to` exists too, else a
    PendingLink (one lookup per link for both cases). Returns edges and pending links created.
    """
    summary = tx.run(
        "UNWIND $rows AS row "
        "MATCH (f:Product {asin: row.from}) "
        "OPTIONAL MATCH (t:Product {asin: row.to}) "
        "CALL (row, f, t) { "
        "  WITH * WHERE t IS NOT NULL "
        "  WITH CASE WHEN f.asin < t.asin THEN f ELSE t END AS a, "
        "       CASE WHEN f.asin < t.asin THEN t ELSE f END AS b "
        "  MERGE (a)-[r:CO_BUY]->(b) ON CREATE SET r.source = $source, r.createdAt = datetime() "
        "} "
        "CALL (row, t) { "
        "  WITH * WHERE t IS NULL "
        "  MERGE (l:PendingLink {key: row.from + '>' + row.to}) "
        "  ON CREATE SET l.from = row.from, l.to = row.to, l.source = $source "
        "}",
        rows=Rows(rows), source=source,
    ).consume()
    return {"co_buy": summary.counters.relationships_created, "pending": summary.counters.nodes_created}


def write_catalog_batch(tx: ManagedTransaction, products: list[dict], links: list[dict], source: str) -> dict:
    """One transaction per batch: products, then their links, then links waiting for them."""
    created = merge_catalog_products(tx, products)
    linked = link_also_buys(tx, links, source) if links else {"co_buy": 0, "pending": 0}
    co_buy = linked["co_buy"] + complete_pending_links(tx, [row["asin"] for row in products])
    return {"created": created, "co_buy": co_buy, "pending": linked["pending"]}


def write_pairs_batch(tx: ManagedTransaction, products: list[dict], links: list[dict]) -> dict:
    """Co-buy pairs: minimal products, the edges, and any pending links they complete."""
    created = merge_minimal_products(tx, products)
    co_buy = link_co_buys(tx, links)
    co_buy += complete_pending_links(tx, [row["asin"] for row in products])
    return {"created": created, "co_buy": co_buy}


def count_pending_links(tx: ManagedTransaction) -> int:
    return tx.run("MATCH (l:PendingLink) RETURN count(l) AS n").single(strict=True)["n"]


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


def count_co_buys_by_prefix(tx: ManagedTransaction, prefix: str) -> int:
    """CO_BUY edges leaving products whose asin starts with `prefix` (one benchmark's own data)."""
    return tx.run("MATCH (a:Product)-[r:CO_BUY]->() WHERE a.asin STARTS WITH $prefix RETURN count(r) AS n",
                  prefix=prefix).single(strict=True)["n"]


def graph_counts(tx: ManagedTransaction) -> dict:
    """Node and edge counts that ingest changes (for summaries, tests and re-run checks)."""
    record = tx.run(
        "CALL { MATCH (p:Product) RETURN count(p) AS products } "
        "CALL { MATCH (:Product)-[r:CO_BUY]->(:Product) RETURN count(r) AS co_buy } "
        "CALL { MATCH (l:PendingLink) RETURN count(l) AS pending } "
        "CALL { MATCH (i:Intention) RETURN count(i) AS intentions } "
        "CALL { MATCH (:Intention)-[e:EXPLAINS]->() RETURN count(e) AS explains } "
        "RETURN products, co_buy, pending, intentions, explains"
    ).single(strict=True)
    return dict(record)


def product_properties(tx: ManagedTransaction, asins: list[str]) -> dict[str, dict]:
    result = tx.run("UNWIND $asins AS asin MATCH (p:Product {asin: asin}) RETURN asin, properties(p) AS props",
                    asins=asins)
    return {r["asin"]: r["props"] for r in result}


def co_buy_pairs(tx: ManagedTransaction) -> list[tuple[str, str, str]]:
    """(from asin, to asin, source) of every CO_BUY edge."""
    result = tx.run("MATCH (a:Product)-[r:CO_BUY]->(b:Product) RETURN a.asin AS a, b.asin AS b, r.source AS s "
                    "ORDER BY a, b")
    return [(r["a"], r["b"], r["s"]) for r in result]


def intentions_by_source(tx: ManagedTransaction, source: str) -> list[dict]:
    result = tx.run(
        "MATCH (i:Intention {source: $source}) "
        "OPTIONAL MATCH (i)-[:HAS_RELATION]->(r:Relation) "
        "RETURN properties(i) AS props, labels(i) AS labels, r.name AS relationNode, "
        "COUNT { (i)-[:EXPLAINS]->(:Product) } AS explains ORDER BY i.id",
        source=source,
    )
    return [dict(r) for r in result]
