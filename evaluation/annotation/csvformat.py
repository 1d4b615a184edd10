"""The plain CSV for other crowdsourcing tools: one row per task, empty answer columns.

Each annotator fills in `annotator` and the answer columns (yes/no; also y/n, true/false, 1/0) of a
copy; the copies are imported one by one or concatenated (one row per annotator and intention).
Rows with neither an annotator nor any answer are the unfilled template and are skipped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from evaluation.annotation import MAX_ANNOTATOR, MAX_ID, MAX_ROWS
from evaluation.annotation.answers import Reject, Vote, parse_answer, parse_time
from mindkb.annotation import OPTIONAL, QUESTIONS, REQUIRED

TASK_COLUMNS = ("intention_id", "relation", "status", "verdict", "rationale", "intention", "template",
                "asin_a", "title_a", "image_a", "features_a", "asin_b", "title_b", "image_b", "features_b")
ANSWER_COLUMNS = ("annotator", *QUESTIONS, "created_at")
COLUMNS = TASK_COLUMNS + ANSWER_COLUMNS
FIELD_LIMIT = 1_000_000  # characters of one CSV field when reading


def tasks_csv(datas: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for data in datas:
        writer.writerow({**dict.fromkeys(ANSWER_COLUMNS, ""), **{k: data.get(k, "") for k in TASK_COLUMNS}})
    return out.getvalue()


def read_answers(text: str, source: str) -> Iterator[Vote | Reject]:
    """One vote per filled-in row; ValueError when the header lacks a needed column."""
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise ValueError(f"unreadable CSV header: {exc}") from None
    header = [h.strip() if isinstance(h, str) else h for h in header]
    reader.fieldnames = header
    missing = [c for c in ("intention_id", "annotator", *REQUIRED) if c not in header]
    if missing:
        raise ValueError(f"the CSV header lacks the column(s) {', '.join(missing)}")
    previous_end, n = 1, 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(f"unreadable CSV at line {reader.line_num}: {exc}") from None
        n += 1
        if n > MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS:,} rows")
        line, previous_end = previous_end + 1, reader.line_num
        yield _vote(row, line, f"row {n}", source)


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else ""


def _raw(row: dict) -> str:
    return json.dumps({k: v for k, v in row.items() if k is not None}, ensure_ascii=False)


def _vote(row: dict, line: int, ref: str, source: str) -> Vote | Reject:
    annotator = _cell(row, "annotator")
    given = {q: _cell(row, q) for q in QUESTIONS}
    if not annotator and not any(given.values()):
        return Reject(line, f"{ref}: not filled in", None, kind="blank")
    raw = _raw(row)
    if row.get(None):
        return Reject(line, f"{ref}: more fields than the header has columns", raw)
    intention_id = _cell(row, "intention_id")
    if not intention_id or len(intention_id) > MAX_ID:
        return Reject(line, f"{ref}: intention_id missing or longer than {MAX_ID} characters", raw)
    if not annotator:
        return Reject(line, f"{ref}: no annotator", raw)
    if len(annotator) > MAX_ANNOTATOR:
        return Reject(line, f"{ref}: annotator name longer than {MAX_ANNOTATOR} characters", raw)
    missing = [q for q in REQUIRED if not given[q]]
    if missing:
        return Reject(line, f"{ref}: missing answer(s): {', '.join(missing)}", raw)
    answers: dict[str, bool | None] = {}
    for q in QUESTIONS:
        if q in OPTIONAL and not given[q]:
            answers[q] = None
            continue
        try:
            answers[q] = parse_answer(given[q])
        except ValueError as exc:
            return Reject(line, f"{ref}: {q}: {exc}", raw)
    try:
        created = parse_time(_cell(row, "created_at"))
    except ValueError as exc:
        return Reject(line, f"{ref}: created_at: {exc}", raw)
    status = _cell(row, "status").upper() or None
    return Vote(intention_id=intention_id, annotator=annotator, answers=answers, created_at=created,
                status_shown=status, source="csv", source_file=source, ref=ref, line=line, raw=raw)
