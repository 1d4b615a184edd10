"""`mind annotate import`: votes from a Label Studio export or a filled-in CSV into the graph.

One vote = one annotator's answers on one intention. Its node id is a hash of (intention id,
annotator), so importing the same export twice, or an export that grew, creates nothing for the
votes already stored (their answers are updated in place). Bad votes go to the quarantine with
the line they start on and the reason; the good ones of the same file still load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neo4j import Driver

from evaluation.annotation import MAX_FILE_BYTES, csvformat, labelstudio
from evaluation.annotation.answers import Reject, Vote, annotation_id
from graph.annotations import intention_statuses, merge_annotations
from graph.driver import chunked, read, write
from mindkb.annotation import PROPERTY, QUESTIONS
from mindkb.errors import BadInput, BadOption, literal
from mindkb.quarantine import Quarantine
from mindkb.relations import STATUSES

FORMATS = ("auto", "labelstudio", "csv")
BATCH = 2000


# --- import ----------------------------------------------------------------------------------------
def detect_format(path: Path, fmt: str) -> str:
    if fmt not in FORMATS:
        raise BadOption("{format} must be one of " + ", ".join(FORMATS))
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "labelstudio"
    if suffix in (".csv", ".tsv"):
        return "csv"
    raise BadOption(literal(path) + ": cannot tell the format from the name; use {format} labelstudio|csv")


def read_text(path: Path) -> str:
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BadInput(f"{path}: {size:,} bytes, more than the {MAX_FILE_BYTES:,} allowed; split the export")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})") from None


def parse_file(path: Path, fmt: str) -> tuple[str, list[Vote | Reject]]:
    """Everything the file holds, or BadInput when its structure is broken (nothing is written then)."""
    fmt = detect_format(path, fmt)
    text = read_text(path)
    reader = labelstudio.read_export if fmt == "labelstudio" else csvformat.read_answers
    try:
        return fmt, list(reader(text, path.name))
    except ValueError as exc:
        raise BadInput(f"{path}: {exc}") from None


def _row(vote: Vote) -> dict:
    props: dict[str, object] = {PROPERTY[q]: vote.answers.get(q) for q in QUESTIONS}
    props.update(annotator=vote.annotator, source=vote.source, sourceFile=vote.source_file,
                 sourceRef=vote.ref,
                 statusShown=vote.status_shown if vote.status_shown in STATUSES else None)
    return {"id": annotation_id(vote.intention_id, vote.annotator), "intentionId": vote.intention_id,
            "createdAt": vote.created_at, "props": props}


def _batches(items: list[Vote | Reject]) -> Iterator[list[Vote | Reject]]:
    yield from chunked(items, BATCH)


def import_votes(driver: Driver, database: str, path: Path, parsed: tuple[str, list[Vote | Reject]],
                 quarantine: Quarantine) -> dict:
    """Validate and store every vote of a parsed Label Studio export or filled-in CSV (parse_file)."""
    fmt, items = parsed
    summary: dict[str, Any] = {"file": str(path), "format": fmt, "read": 0, "annotations": 0, "created": 0, "updated": 0,
               "skipped": 0, "unannotated_tasks": 0, "quarantined": 0, "quarantine_file": None}
    seen: dict[tuple[str, str], int] = {}
    intentions: set[str] = set()
    annotators: set[str] = set()
    for batch in _batches(items):
        ids = sorted({i.intention_id for i in batch if isinstance(i, Vote)})
        known = read(driver, database, intention_statuses, ids) if ids else {}
        rows = []
        for item in batch:
            if isinstance(item, Reject):
                if item.kind == "unannotated":
                    summary["unannotated_tasks"] += 1
                    continue
                summary["read"] += 1
                if item.kind == "bad":
                    quarantine.add(path, item.line, item.reason, item.raw)
                else:
                    summary["skipped"] += 1
                continue
            summary["read"] += 1
            if item.intention_id not in known:
                quarantine.add(path, item.line, f"{item.ref}: unknown intention id {item.intention_id!r}", item.raw)
                continue
            key = (item.intention_id, item.annotator)
            if key in seen:
                quarantine.add(path, item.line, f"{item.ref}: annotator {item.annotator!r} already answered "
                               f"intention {item.intention_id!r} at line {seen[key]} (the first is kept)", item.raw)
                continue
            seen[key] = item.line
            rows.append(_row(item))
            intentions.add(item.intention_id)
            annotators.add(item.annotator)
        if rows:
            result = write(driver, database, merge_annotations, rows)
            summary["annotations"] += result["written"]
            summary["created"] += result["created"]
    quarantine.flush()
    summary["updated"] = summary["annotations"] - summary["created"]
    summary["quarantined"] = quarantine.count
    summary["quarantine_file"] = quarantine.file
    summary["intentions"] = len(intentions)
    summary["annotators"] = len(annotators)
    return summary
