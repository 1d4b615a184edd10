"""The generation stages' statements: work units, leases and results.

Leases live on the unit itself (Product for features, the CO_BUY edge for a pair's intentions,
Intention for the filter) as `<stage>LeaseOwner` + `<stage>LeaseUntil` (server epoch ms). A claim
selects free units, then locks each one (a throw-away SET takes Neo4j's write lock) and checks
again under the lock, so two workers never hold one unit. Results are written only while the
writer still owns the lease, in the same transaction that releases it; a killed worker's leases
simply expire. Times come from the server (`timestamp()`), so workers' clocks do not matter.

Every stage has the same statements, so the loop in `generation/stage.py` runs them all alike:
`count_*` (units to do), `claim_*_batch`, `*_work_spans` (the work as key ranges), `commit_*` (the
results written under the leases and every lease of the batch released, in one transaction) and,
where some units cannot be done yet, `*_not_ready` (those units by reason). Each takes the run's
`Scope` and reads the parameters it needs from it; a stage's `Lease` says where its leases live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from neo4j import ManagedTransaction

from graph.intentions import merge_intentions
from graph.params import Rows
from graph.spans import cut


@dataclass(frozen=True)
class Scope:
    """What a run's statements look for: results of `model` under prompt version `pv`, intentions and
    verdicts of `relations`, units without a usable image too (`text_only`), imported features
    replaced (`overwrite`)."""

    model: str
    pv: str
    relations: tuple[str, ...] = ()
    text_only: bool = False
    overwrite: bool = False

    def params(self) -> dict:
        return {"model": self.model, "pv": self.pv, "relations": list(self.relations), "textOnly": self.text_only,
                "overwrite": self.overwrite}


@dataclass(frozen=True)
class Lease:
    """Where a stage's leases live: the units' pattern (binding `u`) and the properties' prefix
    (`<prefix>LeaseOwner`, `<prefix>LeaseUntil`)."""

    match: str
    prefix: str


FEATURES_LEASE = Lease("(u:Product)", "features")
PAIR_LEASE = Lease("()-[u:CO_BUY]->()", "intent")
FILTER_LEASE = Lease("(u:Intention)", "filter")
# The statements below are built from these constants only (a pattern and a property prefix cannot be
# parameters); `_known` refuses any other Lease.
KNOWN_LEASES = (FEATURES_LEASE, PAIR_LEASE, FILTER_LEASE)


def _known(leases: Sequence[Lease]) -> Sequence[Lease]:
    for lease in leases:
        if lease not in KNOWN_LEASES:
            raise ValueError(f"not a lease of graph/generation.py: {lease!r}")
    return leases

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


def feature_candidates(tx: ManagedTransaction, scope: Scope, exclude: list[str], limit: int, owner: str = "",
                       after: str = "", upto: str | None = None) -> list[str]:
    """Asins that need features and are not leased, or leased by `owner` itself (a claim whose answer
    was lost to a dropped connection, a partition retried); no lock: `claim_features` re-checks."""
    result = tx.run(
        f"MATCH (p:Product) WHERE {_SPAN.format(key='p.asin')} AND NOT {_FEATURED} "
        f"AND ($textOnly OR {_USABLE_IMAGE}) "
        "AND (p.featuresLeaseUntil IS NULL OR p.featuresLeaseUntil < timestamp() "
        "     OR p.featuresLeaseOwner = $owner) "
        "AND NOT p.asin IN $exclude "
        "RETURN p.asin AS asin LIMIT $limit",
        **scope.params(), exclude=exclude, limit=limit, owner=owner, after=after, upto=upto,
    )
    return [r["asin"] for r in result]


def claim_features(tx: ManagedTransaction, scope: Scope, asins: list[str], owner: str, lease_ms: int) -> list[dict]:
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
        **scope.params(), asins=asins, owner=owner, leaseMs=lease_ms,
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


def count_feature_work(tx: ManagedTransaction, scope: Scope) -> int:
    record = tx.run(
        f"MATCH (p:Product) WHERE NOT {_FEATURED} AND ($textOnly OR {_USABLE_IMAGE}) RETURN count(p) AS n",
        **scope.params(),
    ).single(strict=True)
    return record["n"]


def feature_work_spans(tx: ManagedTransaction, scope: Scope, size: int, limit: int | None = None) -> list[dict]:
    """Partitions of about `size` products that need features (graph.spans), leased or not."""
    result = tx.run(
        f"MATCH (p:Product) WHERE p.asin > '' AND NOT {_FEATURED} AND ($textOnly OR {_USABLE_IMAGE}) "
        "RETURN p.asin AS key ORDER BY key",
        **scope.params(),
    )
    return cut(((r["key"], 1) for r in result), size, limit)


def features_not_ready(tx: ManagedTransaction, scope: Scope) -> dict[str, int]:
    """Products that need features but have no usable image (none with text-only), by reason."""
    result = tx.run(
        f"MATCH (p:Product) WHERE NOT $textOnly AND NOT {_FEATURED} AND NOT {_USABLE_IMAGE} "
        "RETURN CASE WHEN p.imageState IS NULL OR p.imageState = 'ok' THEN 'no image' "
        "ELSE 'image ' + p.imageState END AS reason, count(p) AS n",
        **scope.params(),
    )
    return {r["reason"]: r["n"] for r in result}


# --- intentions (the unit is a pair + relation; the lease is on the pair's CO_BUY edge) -------


def pair_candidates(tx: ManagedTransaction, scope: Scope, exclude: list[str], limit: int, owner: str = "",
                    after: str = "", upto: str | None = None) -> list[dict]:
    result = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) "
        f"WHERE {_SPAN.format(key='a.asin')} AND {_PAIR_READY} "
        "AND (c.intentLeaseUntil IS NULL OR c.intentLeaseUntil < timestamp() OR c.intentLeaseOwner = $owner) "
        "AND NOT (a.asin + '|' + b.asin) IN $exclude "
        f"WITH a, b, {_MISSING_RELATIONS} AS missing WHERE size(missing) > 0 "
        "RETURN a.asin AS a, b.asin AS b LIMIT $limit",
        **scope.params(), exclude=exclude, limit=limit, owner=owner, after=after, upto=upto,
    )
    return [r.data() for r in result]


def claim_pairs(tx: ManagedTransaction, scope: Scope, pairs: list[dict], owner: str, lease_ms: int) -> list[dict]:
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
        **scope.params(), pairs=pairs, owner=owner, leaseMs=lease_ms,
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


def count_intention_work(tx: ManagedTransaction, scope: Scope) -> int:
    record = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) "
        f"WHERE {_PAIR_READY} WITH a, b, {_MISSING_RELATIONS} AS missing RETURN sum(size(missing)) AS n",
        **scope.params(),
    ).single(strict=True)
    return record["n"] or 0


def pair_work_spans(tx: ManagedTransaction, scope: Scope, size: int, limit: int | None = None) -> list[dict]:
    """Partitions by the pair's first asin, of about `size` missing (pair, relation) units."""
    result = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) "
        f"WHERE a.asin > '' AND {_PAIR_READY} WITH a, b, {_MISSING_RELATIONS} AS missing "
        "WHERE size(missing) > 0 RETURN a.asin AS key, sum(size(missing)) AS n ORDER BY key",
        **scope.params(),
    )
    return cut(((r["key"], r["n"]) for r in result), size, limit)


def pairs_not_ready(tx: ManagedTransaction, scope: Scope) -> dict[str, int]:
    """(pair, relation) units that cannot get an intention yet, by reason."""
    result = tx.run(
        "MATCH (a:Product)-[c:CO_BUY]->(b:Product) WHERE NOT (" + _PAIR_READY + ") "
        "RETURN CASE WHEN a.features IS NULL OR b.features IS NULL THEN 'product without features' "
        "ELSE 'product without a usable image' END AS reason, count(c) * size($relations) AS n",
        **scope.params(),
    )
    return {r["reason"]: r["n"] for r in result}


# --- filter -----------------------------------------------------------------------------------


def filter_candidates(tx: ManagedTransaction, scope: Scope, exclude: list[str], limit: int, owner: str = "",
                      after: str = "", upto: str | None = None) -> list[str]:
    result = tx.run(
        f"MATCH (i:Intention) WHERE {_SPAN.format(key='i.id')} AND i.status = 'GENERATED' "
        "AND i.relation IN $relations "
        "AND (i.filterLeaseUntil IS NULL OR i.filterLeaseUntil < timestamp() OR i.filterLeaseOwner = $owner) "
        "AND NOT i.id IN $exclude "
        "RETURN i.id AS id LIMIT $limit",
        **scope.params(), exclude=exclude, limit=limit, owner=owner, after=after, upto=upto,
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


def filter_work_spans(tx: ManagedTransaction, scope: Scope, size: int, limit: int | None = None) -> list[dict]:
    """Partitions of about `size` intentions waiting for the filter."""
    result = tx.run(
        "MATCH (i:Intention) WHERE i.id > '' AND i.status = 'GENERATED' AND i.relation IN $relations "
        "RETURN i.id AS key ORDER BY key",
        **scope.params(),
    )
    return cut(((r["key"], 1) for r in result), size, limit)


def count_filter_work(tx: ManagedTransaction, scope: Scope) -> int:
    record = tx.run(
        "MATCH (i:Intention) WHERE i.status = 'GENERATED' AND i.relation IN $relations RETURN count(i) AS n",
        **scope.params(),
    ).single(strict=True)
    return record["n"]


# --- transactions made of the statements above: what every stage runs -----------------------


def claim_feature_batch(tx: ManagedTransaction, scope: Scope, owner: str, exclude: list[str], limit: int,
                        lease_ms: int, after: str = "", upto: str | None = None) -> tuple[int, list[dict]]:
    asins = feature_candidates(tx, scope, exclude, limit, owner, after, upto)
    return len(asins), (claim_features(tx, scope, asins, owner, lease_ms) if asins else [])


def claim_pair_batch(tx: ManagedTransaction, scope: Scope, owner: str, exclude: list[str], limit: int,
                     lease_ms: int, after: str = "", upto: str | None = None) -> tuple[int, list[dict]]:
    pairs = pair_candidates(tx, scope, exclude, limit, owner, after, upto)
    return len(pairs), (claim_pairs(tx, scope, pairs, owner, lease_ms) if pairs else [])


def claim_filter_batch(tx: ManagedTransaction, scope: Scope, owner: str, exclude: list[str], limit: int,
                       lease_ms: int, after: str = "", upto: str | None = None) -> tuple[int, list[dict]]:
    ids = filter_candidates(tx, scope, exclude, limit, owner, after, upto)
    return len(ids), (claim_filter(tx, ids, owner, lease_ms) if ids else [])


def _write_then_release(tx: ManagedTransaction, write: Callable[..., list[str]],
                        release: Callable[[ManagedTransaction, list[str], str], None], key: str,
                        units: Sequence[dict], rows: list[dict], owner: str, provenance: dict) -> int:
    """Write the rows still under our leases, then free the leases of the units left without a result."""
    written = set(write(tx, rows, owner, provenance)) if rows else set()
    leftover = [u[key] for u in units if u[key] not in written]
    if leftover:
        release(tx, leftover, owner)
    return len(written)


def commit_features(tx: ManagedTransaction, units: list[dict], rows: list[dict], owner: str,
                    provenance: dict) -> int:
    """Features of the products still leased; every lease of `units` released. Returns rows written."""
    return _write_then_release(tx, write_features, release_features, "asin", units, rows, owner, provenance)


def commit_intentions(tx: ManagedTransaction, units: list[dict], rows: list[dict], owner: str,
                      provenance: dict) -> int:
    """Release the pairs and, for those still held, merge their intentions (whose props already carry
    the provenance). Returns the intentions written."""
    held = {(p["a"], p["b"]) for p in release_pairs(tx, [{"a": u["asinA"], "b": u["asinB"]} for u in units], owner)}
    mine = [r for r in rows if (r["asinA"], r["asinB"]) in held]
    return merge_intentions(tx, mine) if mine else 0


def commit_verdicts(tx: ManagedTransaction, units: list[dict], rows: list[dict], owner: str,
                    provenance: dict) -> int:
    """Verdicts of the intentions still leased; every lease of `units` released. Returns rows written."""
    return _write_then_release(tx, write_verdicts, release_filter, "id", units, rows, owner, provenance)


# --- leases of workers that died (kill -9, power loss) ------------------------------------------


def live_lease_owners(tx: ManagedTransaction, leases: Sequence[Lease]) -> list[str]:
    """Owners of leases that have not expired yet, over every stage's kind of unit."""
    scans = " UNION ".join(f"MATCH {lease.match} WHERE u.{lease.prefix}LeaseUntil >= timestamp() "
                           f"RETURN u.{lease.prefix}LeaseOwner AS owner" for lease in _known(leases))
    result = tx.run(f"CALL {{ {scans} }} RETURN DISTINCT owner")
    return [r["owner"] for r in result if r["owner"]]


def drop_leases(tx: ManagedTransaction, owners: list[str], leases: Sequence[Lease]) -> int:
    """Release every lease of `owners` (workers known to be dead), over every stage's kind of unit; one
    transaction."""
    return sum(tx.run(f"MATCH {lease.match} WHERE u.{lease.prefix}LeaseOwner IN $owners "
                      f"REMOVE u.{lease.prefix}LeaseOwner, u.{lease.prefix}LeaseUntil RETURN count(u) AS n",
                      owners=owners).single(strict=True)["n"] for lease in _known(leases))
