"""The generation stages' statements: work units, leases and results.

Leases live on the unit itself (Product for features, the CO_BUY edge for a pair's intentions,
Intention for the filter) as `<stage>LeaseOwner` + `<stage>LeaseUntil` (server epoch ms). A claim
selects free units, then locks each one (a throw-away SET takes Neo4j's write lock) and checks
again under the lock, so two workers never hold one unit. Results are written only while the
writer still owns the lease, in the same transaction that releases it; a killed worker's leases
simply expire. Times come from the server (`timestamp()`), so workers' clocks do not matter.
"""

from __future__ import annotations

from neo4j import ManagedTransaction

from graph.intentions import merge_intentions
from graph.params import Rows
from graph.spans import cut

# A product has features for (model, version) when all three are set and match. Imported features
# (featuresSource set, e.g. mind-csv) count as done for every model unless $overwrite asks to
# replace them: the stage never overwrites text it did not make unless asked.
_FEATURED = ("(p.features IS NOT NULL AND ((p.featuresModel = $model AND p.featuresPromptVersion = $pv) "
             "OR (p.featuresSource IS NOT NULL AND NOT $overwrite)))")
_USABLE_IMAGE = "(p.imageState = 'ok' AND p.imagePath IS NOT NULL)"
_MISSING_RELATIONS = (
    "[rel IN $relations WHERE NOT EXISTS { "
    "MATCH (a)<-[:EXPLAINS]-(i:Intention)-[:EXPLAINS]->(b) "
    "WHERE i.relation = rel AND i.model = $model AND i.promptVersion = $pv AND i.source = 'mind' }]"
)
# A claim may be kept to a partition of the keys (asin, the pair's first asin, intention id): after < key <= upto.
_SPAN = "({key} > $after AND ($upto IS NULL OR {key} <= $upto))"
_PAIR_READY = (
    "a.features IS NOT NULL AND b.features IS NOT NULL AND "
    "($textOnly OR (a.imageState = 'ok' AND a.imagePath IS NOT NULL AND "
    "b.imageState = 'ok' AND b.imagePath IS NOT NULL))"
)


# --- features ---------------------------------------------------------------------------------


def feature_candidates(tx: ManagedTransaction, model: str, pv: str, text_only: bool, exclude: list[str],
                       limit: int, owner: str = "", overwrite: bool = False, after: str = "",
                       upto: str | None = None) -> list[str]:
    """Asins that need features and are not leased, or leased by `owner` itself (a claim whose answer
    was lost to a dropped connection, a partition retried); no lock: `claim_features` re-checks."""
    result = tx.run(
        f"MATCH (p:Product) WHERE {_SPAN.format(key='p.asin')} AND NOT {_FEATURED} "
        f"AND ($textOnly OR {_USABLE_IMAGE}) "
        "AND (p.featuresLeaseUntil IS NULL OR p.featuresLeaseUntil < timestamp() "
        "     OR p.featuresLeaseOwner = $owner) "
        "AND NOT p.asin IN $exclude "
        "RETURN p.asin AS asin LIMIT $limit",
        model=model, pv=pv, textOnly=text_only, exclude=exclude, limit=limit, owner=owner, overwrite=overwrite,
        after=after, upto=upto,
    )
    return [r["asin"] for r in result]


def claim_features(tx: ManagedTransaction, asins: list[str], owner: str, model: str, pv: str,
                   lease_ms: int, overwrite: bool = False) -> list[dict]:
    """Lock, re-check and lease; returns what the prompt needs for each claimed product."""
    result = tx.run(
        "UNWIND $asins AS asin MATCH (p:Product {asin: asin}) "
        "SET p.featuresLeaseLock = true REMOVE p.featuresLeaseLock "
        f"WITH p WHERE NOT {_FEATURED} "
        "AND (p.featuresLeaseUntil IS NULL OR p.featuresLeaseUntil < timestamp() "
        "     OR p.featuresLeaseOwner = $owner) "
        "SET p.featuresLeaseOwner = $owner, p.featuresLeaseUntil = timestamp() + $leaseMs "
        "RETURN p.asin AS asin, p.title AS title, p.description AS description, "
        "p.imagePath AS imagePath, p.imageState AS imageState",
        asins=asins, owner=owner, model=model, pv=pv, leaseMs=lease_ms, overwrite=overwrite,
    )
    return [r.data() for r in result]


def write_features(tx: ManagedTransaction, rows: list[dict], owner: str, provenance: dict) -> list[str]:
    """rows: {asin, features, raw}; only products this worker still leases are written."""
    result = tx.run(
        "UNWIND $rows AS row MATCH (p:Product {asin: row.asin}) WHERE p.featuresLeaseOwner = $owner "
        "SET p.features = row.features, p.featuresRaw = row.raw, p.featuresModel = $prov.model, "
        "p.featuresPromptVersion = $prov.promptVersion, p.featuresSeed = $prov.seed, "
        "p.featuresDecoding = $prov.decoding, p.featuresAt = datetime(), "
        "p.featuresNoise = CASE WHEN $prov.noise THEN true END "
        "REMOVE p.featuresLeaseOwner, p.featuresLeaseUntil, p.featuresSource "
        "RETURN p.asin AS asin",
        rows=Rows(rows), owner=owner, prov=provenance,
    )
    return [r["asin"] for r in result]


def release_features(tx: ManagedTransaction, asins: list[str], owner: str) -> None:
    tx.run(
        "UNWIND $asins AS asin MATCH (p:Product {asin: asin}) WHERE p.featuresLeaseOwner = $owner "
        "REMOVE p.featuresLeaseOwner, p.featuresLeaseUntil",
        asins=asins, owner=owner,
    ).consume()


def count_feature_work(tx: ManagedTransaction, model: str, pv: str, text_only: bool,
                       overwrite: bool = False) -> int:
    record = tx.run(
        f"MATCH (p:Product) WHERE NOT {_FEATURED} AND ($textOnly OR {_USABLE_IMAGE}) RETURN count(p) AS n",
        model=model, pv=pv, textOnly=text_only, overwrite=overwrite,
    ).single()
    return record["n"]


def feature_work_spans(tx: ManagedTransaction, model: str, pv: str, text_only: bool, size: int,
                       limit: int | None = None, overwrite: bool = False) -> list[dict]:
    """Partitions of about `size` products that need features (graph.spans), leased or not."""
    result = tx.run(
        f"MATCH (p:Product) WHERE p.asin > '' AND NOT {_FEATURED} AND ($textOnly OR {_USABLE_IMAGE}) "
        "RETURN p.asin AS key ORDER BY key",
        model=model, pv=pv, textOnly=text_only, overwrite=overwrite,
    )
    return cut(((r["key"], 1) for r in result), size, limit)


def count_products_without_image(tx: ManagedTransaction, model: str, pv: str,
                                 overwrite: bool = False) -> dict[str, int]:
    """Products that need features but have no usable image, by reason."""
    result = tx.run(
        f"MATCH (p:Product) WHERE NOT {_FEATURED} AND NOT {_USABLE_IMAGE} "
        "RETURN CASE WHEN p.imageState IS NULL OR p.imageState = 'ok' THEN 'no image' "
        "ELSE 'image ' + p.imageState END AS reason, count(p) AS n",
        model=model, pv=pv, overwrite=overwrite,
    )
    return {r["reason"]: r["n"] for r in result}


# --- intentions (the unit is a pair + relation; the lease is on the pair's CO_BUY edge) -------


def pair_candidates(tx: ManagedTransaction, model: str, pv: str, relations: list[str], text_only: bool,
                    exclude: list[str], limit: int, owner: str = "", after: str = "",
                    upto: str | None = None) -> list[dict]:
    result = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) "
        f"WHERE {_SPAN.format(key='a.asin')} AND {_PAIR_READY} "
        "AND (c.intentLeaseUntil IS NULL OR c.intentLeaseUntil < timestamp() OR c.intentLeaseOwner = $owner) "
        "AND NOT (a.asin + '|' + b.asin) IN $exclude "
        f"WITH a, b, {_MISSING_RELATIONS} AS missing WHERE size(missing) > 0 "
        "RETURN a.asin AS a, b.asin AS b LIMIT $limit",
        model=model, pv=pv, relations=relations, textOnly=text_only, exclude=exclude, limit=limit, owner=owner,
        after=after, upto=upto,
    )
    return [r.data() for r in result]


def claim_pairs(tx: ManagedTransaction, pairs: list[dict], owner: str, model: str, pv: str,
                relations: list[str], lease_ms: int) -> list[dict]:
    """Lock each pair's CO_BUY edge, re-check its missing relations and lease it."""
    result = tx.run(
        "UNWIND $pairs AS pair MATCH (a:Product {asin: pair.a})-[c:CO_BUY]->(b:Product {asin: pair.b}) "
        "SET c.intentLeaseLock = true REMOVE c.intentLeaseLock "
        "WITH a, b, c WHERE c.intentLeaseUntil IS NULL OR c.intentLeaseUntil < timestamp() "
        "OR c.intentLeaseOwner = $owner "
        f"WITH a, b, c, {_MISSING_RELATIONS} AS missing WHERE size(missing) > 0 "
        "SET c.intentLeaseOwner = $owner, c.intentLeaseUntil = timestamp() + $leaseMs "
        "RETURN a.asin AS asinA, a.title AS titleA, a.features AS featuresA, a.imagePath AS imageA, "
        "b.asin AS asinB, b.title AS titleB, b.features AS featuresB, b.imagePath AS imageB, missing",
        pairs=pairs, owner=owner, model=model, pv=pv, relations=relations, leaseMs=lease_ms,
    )
    return [r.data() for r in result]


def release_pairs(tx: ManagedTransaction, pairs: list[dict], owner: str) -> list[dict]:
    """Release this worker's leases; returns the pairs it still held (their results may be written)."""
    result = tx.run(
        "UNWIND $pairs AS pair MATCH (a:Product {asin: pair.a})-[c:CO_BUY]->(b:Product {asin: pair.b}) "
        "WHERE c.intentLeaseOwner = $owner REMOVE c.intentLeaseOwner, c.intentLeaseUntil "
        "RETURN a.asin AS a, b.asin AS b",
        pairs=pairs, owner=owner,
    )
    return [r.data() for r in result]


def count_intention_work(tx: ManagedTransaction, model: str, pv: str, relations: list[str],
                         text_only: bool) -> int:
    record = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) "
        f"WHERE {_PAIR_READY} WITH a, b, {_MISSING_RELATIONS} AS missing RETURN sum(size(missing)) AS n",
        model=model, pv=pv, relations=relations, textOnly=text_only,
    ).single()
    return record["n"] or 0


def pair_work_spans(tx: ManagedTransaction, model: str, pv: str, relations: list[str], text_only: bool,
                    size: int, limit: int | None = None) -> list[dict]:
    """Partitions by the pair's first asin, of about `size` missing (pair, relation) units."""
    result = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) "
        f"WHERE a.asin > '' AND {_PAIR_READY} WITH a, b, {_MISSING_RELATIONS} AS missing "
        "WHERE size(missing) > 0 RETURN a.asin AS key, sum(size(missing)) AS n ORDER BY key",
        model=model, pv=pv, relations=relations, textOnly=text_only,
    )
    return cut(((r["key"], r["n"]) for r in result), size, limit)


def count_pairs_not_ready(tx: ManagedTransaction, text_only: bool) -> dict[str, int]:
    """Co-buy pairs that cannot get intentions yet, by reason."""
    result = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) WHERE NOT (" + _PAIR_READY + ") "
        "RETURN CASE WHEN a.features IS NULL OR b.features IS NULL THEN 'product without features' "
        "ELSE 'product without a usable image' END AS reason, count(c) AS n",
        textOnly=text_only,
    )
    return {r["reason"]: r["n"] for r in result}


# --- filter -----------------------------------------------------------------------------------


def filter_candidates(tx: ManagedTransaction, relations: list[str], exclude: list[str], limit: int,
                      owner: str = "", after: str = "", upto: str | None = None) -> list[str]:
    result = tx.run(
        f"MATCH (i:Intention) WHERE {_SPAN.format(key='i.id')} AND i.status = 'GENERATED' "
        "AND i.relation IN $relations "
        "AND (i.filterLeaseUntil IS NULL OR i.filterLeaseUntil < timestamp() OR i.filterLeaseOwner = $owner) "
        "AND NOT i.id IN $exclude "
        "RETURN i.id AS id LIMIT $limit",
        relations=relations, exclude=exclude, limit=limit, owner=owner, after=after, upto=upto,
    )
    return [r["id"] for r in result]


def claim_filter(tx: ManagedTransaction, ids: list[str], owner: str, lease_ms: int) -> list[dict]:
    result = tx.run(
        "UNWIND $ids AS id MATCH (i:Intention {id: id}) "
        "SET i.filterLeaseLock = true REMOVE i.filterLeaseLock "
        "WITH i WHERE i.status = 'GENERATED' AND (i.filterLeaseUntil IS NULL "
        "OR i.filterLeaseUntil < timestamp() OR i.filterLeaseOwner = $owner) "
        "MATCH (a:Product {asin: i.asinA}) MATCH (b:Product {asin: i.asinB}) "
        "SET i.filterLeaseOwner = $owner, i.filterLeaseUntil = timestamp() + $leaseMs "
        "RETURN i.id AS id, i.text AS text, i.relation AS relation, "
        "a.asin AS asinA, a.title AS titleA, a.features AS featuresA, a.imagePath AS imageA, "
        "b.asin AS asinB, b.title AS titleB, b.features AS featuresB, b.imagePath AS imageB",
        ids=ids, owner=owner, leaseMs=lease_ms,
    )
    return [r.data() for r in result]


def write_verdicts(tx: ManagedTransaction, rows: list[dict], owner: str, provenance: dict) -> list[str]:
    """rows: {id, status, rationale, raw}; only GENERATED intentions this worker leases change."""
    result = tx.run(
        "UNWIND $rows AS row MATCH (i:Intention {id: row.id}) "
        "WHERE i.status = 'GENERATED' AND i.filterLeaseOwner = $owner "
        "SET i.status = row.status, i.rationale = row.rationale, i.filterRaw = row.raw, "
        "i.filterModel = $prov.model, i.filterPromptVersion = $prov.promptVersion, "
        "i.filterSeed = $prov.seed, i.filterDecoding = $prov.decoding, i.filteredAt = datetime(), "
        "i.filterPairImages = $prov.pairImages, "
        "i.noise = CASE WHEN $prov.noise THEN true ELSE i.noise END "
        "REMOVE i.filterLeaseOwner, i.filterLeaseUntil "
        "RETURN i.id AS id",
        rows=Rows(rows), owner=owner, prov=provenance,
    )
    return [r["id"] for r in result]


def release_filter(tx: ManagedTransaction, ids: list[str], owner: str) -> None:
    tx.run(
        "UNWIND $ids AS id MATCH (i:Intention {id: id}) WHERE i.filterLeaseOwner = $owner "
        "REMOVE i.filterLeaseOwner, i.filterLeaseUntil",
        ids=ids, owner=owner,
    ).consume()


def filter_work_spans(tx: ManagedTransaction, relations: list[str], size: int,
                      limit: int | None = None) -> list[dict]:
    """Partitions of about `size` intentions waiting for the filter."""
    result = tx.run(
        "MATCH (i:Intention) WHERE i.id > '' AND i.status = 'GENERATED' AND i.relation IN $relations "
        "RETURN i.id AS key ORDER BY key",
        relations=relations,
    )
    return cut(((r["key"], 1) for r in result), size, limit)


def count_filter_work(tx: ManagedTransaction, relations: list[str]) -> int:
    record = tx.run(
        "MATCH (i:Intention) WHERE i.status = 'GENERATED' AND i.relation IN $relations RETURN count(i) AS n",
        relations=relations,
    ).single()
    return record["n"]


# --- transactions made of the statements above --------------------------------------------------


def claim_feature_batch(tx: ManagedTransaction, owner: str, model: str, pv: str, text_only: bool,
                        exclude: list[str], limit: int, lease_ms: int, overwrite: bool = False,
                        after: str = "", upto: str | None = None) -> tuple[int, list[dict]]:
    asins = feature_candidates(tx, model, pv, text_only, exclude, limit, owner, overwrite, after, upto)
    return len(asins), (claim_features(tx, asins, owner, model, pv, lease_ms, overwrite) if asins else [])


def claim_pair_batch(tx: ManagedTransaction, owner: str, model: str, pv: str, relations: list[str],
                     text_only: bool, exclude: list[str], limit: int, lease_ms: int, after: str = "",
                     upto: str | None = None) -> tuple[int, list[dict]]:
    pairs = pair_candidates(tx, model, pv, relations, text_only, exclude, limit, owner, after, upto)
    return len(pairs), (claim_pairs(tx, pairs, owner, model, pv, relations, lease_ms) if pairs else [])


def claim_filter_batch(tx: ManagedTransaction, owner: str, relations: list[str], exclude: list[str],
                       limit: int, lease_ms: int, after: str = "", upto: str | None = None) -> tuple[int, list[dict]]:
    ids = filter_candidates(tx, relations, exclude, limit, owner, after, upto)
    return len(ids), (claim_filter(tx, ids, owner, lease_ms) if ids else [])


def write_intention_batch(tx: ManagedTransaction, rows: list[dict], pairs: list[dict], owner: str) -> int:
    """Release the pairs and, for those still held, merge their intentions: one transaction."""
    held = {(p["a"], p["b"]) for p in release_pairs(tx, pairs, owner)}
    mine = [r for r in rows if (r["asinA"], r["asinB"]) in held]
    return merge_intentions(tx, mine) if mine else 0


# --- leases of workers that died (kill -9, power loss) ------------------------------------------


def live_lease_owners(tx: ManagedTransaction) -> list[str]:
    """Owners of leases that have not expired yet, over the three kinds of unit."""
    result = tx.run(
        "CALL { MATCH (p:Product) WHERE p.featuresLeaseUntil >= timestamp() RETURN p.featuresLeaseOwner AS owner "
        "UNION MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseUntil >= timestamp() RETURN c.intentLeaseOwner AS owner "
        "UNION MATCH (i:Intention) WHERE i.filterLeaseUntil >= timestamp() RETURN i.filterLeaseOwner AS owner } "
        "RETURN DISTINCT owner"
    )
    return [r["owner"] for r in result if r["owner"]]


def drop_feature_leases(tx: ManagedTransaction, owners: list[str]) -> int:
    return tx.run(
        "MATCH (p:Product) WHERE p.featuresLeaseOwner IN $owners "
        "REMOVE p.featuresLeaseOwner, p.featuresLeaseUntil RETURN count(p) AS n", owners=owners,
    ).single()["n"]


def drop_pair_leases(tx: ManagedTransaction, owners: list[str]) -> int:
    return tx.run(
        "MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseOwner IN $owners "
        "REMOVE c.intentLeaseOwner, c.intentLeaseUntil RETURN count(c) AS n", owners=owners,
    ).single()["n"]


def drop_filter_leases(tx: ManagedTransaction, owners: list[str]) -> int:
    return tx.run(
        "MATCH (i:Intention) WHERE i.filterLeaseOwner IN $owners "
        "REMOVE i.filterLeaseOwner, i.filterLeaseUntil RETURN count(i) AS n", owners=owners,
    ).single()["n"]


def drop_leases(tx: ManagedTransaction, owners: list[str]) -> int:
    """Release every lease of `owners` (workers known to be dead); one transaction."""
    return sum(f(tx, owners) for f in (drop_feature_leases, drop_pair_leases, drop_filter_leases))
