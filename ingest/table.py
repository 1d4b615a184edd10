"""Records from CSV (with a header) or JSON lines, decided by content, with the same shape.

Used by `ingest pairs` and `import intentions`: each record is a dict of column -> value, or the
reason it cannot be one (the caller quarantines it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.reader import is_json_lines_file, iter_lines, open_csv, sniff_json_lines
from mindkb.errors import BadInput


@dataclass(frozen=True)
class Record:
    line: int
    data: dict | None
    raw: str
    error: str | None = None


def _csv_raw(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue().rstrip("\r\n")


def open_table(path: Path, required: tuple[str, ...], max_bytes: int, json_lines: bool | None = None
               ) -> Iterator[Record]:
    """Checks the file's format at once (BadInput), then yields its records lazily."""
    if json_lines is None:
        json_lines = is_json_lines_file(path)
    if json_lines:
        sniff_json_lines(path)
        return _json_records(path, required, max_bytes)
    header, rows = open_csv(path, max_bytes)
    missing = [c for c in required if c not in header]
    if header and missing:
        raise BadInput(f"{path}: not the expected CSV: missing column(s) {', '.join(missing)} "
                       f"(header: {', '.join(header[:12])[:200]})")
    return _csv_records(header, rows, required)


def _json_records(path: Path, required: tuple[str, ...], max_bytes: int) -> Iterator[Record]:
    for line in iter_lines(path, max_bytes):
        if line.error:
            yield Record(line.number, None, line.text, line.error)
            continue
        try:
            data = json.loads(line.text)
        except ValueError as exc:
            yield Record(line.number, None, line.text, f"invalid JSON: {exc}")
            continue
        if not isinstance(data, dict):
            yield Record(line.number, None, line.text, f"not a JSON object (a {type(data).__name__})")
            continue
        missing = [c for c in required if c not in data]
        if missing:
            yield Record(line.number, None, line.text, f"missing field(s) {', '.join(missing)}")
            continue
        yield Record(line.number, data, line.text)


def _csv_records(header: list[str], rows: Iterator[tuple[int, list[str]]], required: tuple[str, ...]
                 ) -> Iterator[Record]:
    for number, row in rows:
        if row and row[0] == "\x00csv-error":
            yield Record(number, None, row[1], f"malformed CSV: {row[1]}")
            continue
        raw = _csv_raw(row)
        if len(row) > len(header):
            yield Record(number, None, raw, f"unknown column: the row has {len(row)} fields, the header {len(header)}")
            continue
        if len(row) < len(header):
            yield Record(number, None, raw, f"the row has {len(row)} fields, the header {len(header)}")
            continue
        yield Record(number, dict(zip(header, row)), raw)
