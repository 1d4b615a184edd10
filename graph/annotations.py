"""Human evaluation votes on intentions (`mind annotate`): one named function per statement.

Graph model: one `(:Annotation {id})` node per annotator and intention, linked
`(:Annotation)-[:ANNOTATES]->(:Intention)`. The id is deterministic (mindkb-style hash of the
intention id and the annotator), so re-importing the same export merges onto the same nodes.
Properties: id, intentionId, annotator, plausible, typical, humanCentric, filterCorrect,
rationaleCorrect (booleans; rationaleCorrect may be null), statusShown (the filter verdict the
annotator was shown), source ('labelstudio' | 'csv'), sourceFile, sourceRef, createdAt (when the
annotator answered, from the export; the import time when the export has none), importedAt,
updatedAt.

A node per vote rather than properties on a relationship: Neo4j Community has no uniqueness
constraint for relationships, and a node key is what makes re-imports idempotent under
concurrent runs.

All statements are static Cypher with parameters; batches travel as `Rows` and are UNWIND-ed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from neo4j import AsyncManagedTransaction, ManagedTransaction

from graph.params import Rows

# What an annotation read returns (API and report alike).
ANNOTATION = (
    "{.id, .intentionId, .annotator, .plausible, .typical, .humanCentric, .filterCorrect, "
    ".rationaleCorrect, .statusShown, .source, createdAt: toString(a.createdAt)}"
)


# --- export: the sample ----------------------------------------------------------------------------
def filtered_counts(tx: ManagedTransaction, relations: list[str], statuses: list[str]) -> list[dict]:
    """Intentions per relation and status among the given ones: {relation, status, n}."""
    result = tx.run(
        "MATCH (i:Intention) WHERE i.relation IN $relations AND i.status IN $statuses "
        "RETURN i.relation AS relation, i.status AS status, count(*) AS n ORDER BY relation, status",
        relations=relations, statuses=statuses,
    )
    return [r.data() for r in result]


def smallest_stratum_ids(tx: ManagedTransaction, relation: str, status: str, k: int,
                         key: Callable[[str], str]) -> list[str]:
    """The k ids of one relation and status that are smallest under `key`, in key order.

    The ids stream through a bounded heap as Neo4j sends them, so memory follows k and the
    stratum is read once; a retried transaction simply recomputes the answer."""
    result = tx.run(
        "MATCH (i:Intention) WHERE i.relation = $relation AND i.status = $status RETURN i.id AS id",
        relation=relation, status=status,
    )
    return [i for _, i in heapq.nsmallest(k, ((key(r["id"]), r["id"]) for r in result))]


def task_rows(tx: ManagedTransaction, ids: list[str]) -> list[dict]:
    """What an annotator sees of each intention: its text, verdict, rationale and both products."""
    result = tx.run(
        "UNWIND $ids AS id MATCH (i:Intention {id: id}) "
        "OPTIONAL MATCH (a:Product {asin: i.asinA}) OPTIONAL MATCH (b:Product {asin: i.asinB}) "
        "OPTIONAL MATCH (r:Relation {name: i.relation}) "
        "RETURN i.id AS id, i.text AS text, i.relation AS relation, i.status AS status, "
        "i.rationale AS rationale, r.template AS template, "
        "i.asinA AS asinA, a.title AS titleA, a.features AS featuresA, a.imageUrl AS imageUrlA, "
        "a.imagePath AS imagePathA, "
        "i.asinB AS asinB, b.title AS titleB, b.features AS featuresB, b.imageUrl AS imageUrlB, "
        "b.imagePath AS imagePathB",
        ids=Rows(ids),
    )
    return [r.data() for r in result]


# --- import ----------------------------------------------------------------------------------------
def intention_statuses(tx: ManagedTransaction, ids: list[str]) -> dict[str, dict]:
    """The known ids among `ids`: {id: {relation, status}}."""
    result = tx.run(
        "UNWIND $ids AS id MATCH (i:Intention {id: id}) RETURN i.id AS id, i.relation AS relation, "
        "i.status AS status",
        ids=Rows(ids),
    )
    return {r["id"]: {"relation": r["relation"], "status": r["status"]} for r in result}


def merge_annotations(tx: ManagedTransaction, rows: list[dict]) -> dict:
    """rows: {id, intentionId, props, createdAt (datetime or null)}; ids are distinct within a batch.

    An existing annotation takes the new answers (a corrected export updates it) and keeps its node;
    returns {written, created}. Rows whose intention is gone are skipped."""
    record = tx.run(
        "UNWIND $rows AS row MATCH (i:Intention {id: row.intentionId}) "
        "OPTIONAL MATCH (old:Annotation {id: row.id}) "
        "WITH row, i, old IS NULL AS isNew "
        "MERGE (a:Annotation {id: row.id}) "
        "ON CREATE SET a.createdAt = coalesce(row.createdAt, datetime()), a.importedAt = datetime() "
        "SET a += row.props, a.intentionId = row.intentionId, a.updatedAt = datetime(), "
        "  a.createdAt = coalesce(row.createdAt, a.createdAt) "
        "MERGE (a)-[:ANNOTATES]->(i) "
        "RETURN count(a) AS written, sum(CASE WHEN isNew THEN 1 ELSE 0 END) AS created",
        rows=Rows(rows),
    ).single()
    return {"written": record["written"], "created": record["created"]} if record else {"written": 0, "created": 0}


def annotation_count(tx: ManagedTransaction) -> dict:
    """{annotations, annotated}: Annotation nodes and the intentions they annotate."""
    record = tx.run(
        "MATCH (a:Annotation) OPTIONAL MATCH (a)-[:ANNOTATES]->(i:Intention) "
        "RETURN count(DISTINCT a) AS annotations, count(DISTINCT i) AS annotated"
    ).single(strict=True)
    return record.data()


# --- report ----------------------------------------------------------------------------------------
def annotation_votes(tx: ManagedTransaction) -> list[dict]:
    """Every vote with its intention's relation and status, ordered by intention then annotator."""
    result = tx.run(
        "MATCH (a:Annotation)-[:ANNOTATES]->(i:Intention) "
        "RETURN i.id AS intentionId, i.relation AS relation, coalesce(a.statusShown, i.status) AS status, "
        "a.annotator AS annotator, a.plausible AS plausible, a.typical AS typical, "
        "a.humanCentric AS humanCentric, a.filterCorrect AS filterCorrect, "
        "a.rationaleCorrect AS rationaleCorrect ORDER BY intentionId, annotator"
    )
    return [r.data() for r in result]


# --- API -------------------------------------------------------------------------------------------
async def annotations_for_intentions(tx: AsyncManagedTransaction, ids: list[str], limit: int) -> list[dict]:
    """Per intention id, up to `limit` annotations by annotator: {id, annotations}."""
    result = await tx.run(
        "UNWIND $ids AS id MATCH (i:Intention {id: id}) "
        "OPTIONAL MATCH (a:Annotation)-[:ANNOTATES]->(i) "
        "WITH id, a ORDER BY a.annotator, a.id "
        f"WITH id, collect(a {ANNOTATION}) AS annotations "
        "RETURN id, annotations[..$limit] AS annotations",
        ids=ids, limit=limit,
    )
    return [r.data() async for r in result]
