"""Records from CSV (with a header) or JSON lines, decided by content, with the same shape.

The one reading path of every loader (`ingest catalog` and `pairs`, `import intentions`): each
record is a dict of column -> value, or the reason it cannot be one (the caller quarantines it),
with the number of its first line. A table's `lines` counts the physical lines read so far.

A CSV may hold several records per row, each under its own column suffix (FolkScope's release:
`id_a_1, ..., id_a_2, ...`): given `suffixes`, a header with every required column under the first
suffix is read that way, and each row yields one record per suffix (`part` says which).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest.csvrecords import CsvRecords
from ingest.reader import Limits, Lines, is_json_lines_file, sniff_json_lines, utf8
from mindkb.errors import BadInput


@dataclass(frozen=True)
class Record:
    line: int
    data: dict | None
    raw: str
    error: str | None = None
    part: str | None = None  # which record of a row that holds several (for the quarantine's reason)


class Table(Protocol):
    @property
    def lines(self) -> int: ...

    def __iter__(self) -> Iterator[Record]: ...


def open_table(path: Path, required: tuple[str, ...], limits: Limits, json_lines: bool | None = None,
               multiline: bool = False, looks_like_record: Callable[[dict[str, str]], bool] | None = None,
               suffixes: tuple[str, ...] = ()) -> Table:
    """Checks the file's format at once (BadInput), then yields its records lazily.

    `multiline`: the format allows quoted CSV fields over several lines; `looks_like_record`: what a
    line must hold to count as a record of its own, which such a field never takes (see
    ingest/csvrecords.py; it sees the header's own column names); `suffixes`: the column suffixes
    of a CSV layout with several records per row.
    """
    if json_lines is None:
        json_lines = is_json_lines_file(path)
    if json_lines:
        sniff_json_lines(path)
        return JsonLines(path, limits, required)
    records = CsvRecords(path, limits, multiline, looks_like_record)
    header = records.header
    if suffixes and header and all(c + suffixes[0] in header for c in required):
        groups = [s for s in suffixes if any(c + s in header for c in required)]
        missing = [c + s for s in groups for c in required if c + s not in header]
    else:
        groups, missing = [], [c for c in required if c not in header]
    if header and missing:
        records.close()
        raise BadInput(f"{path}: not the expected CSV: missing column(s) {', '.join(missing)} "
                       f"(header: {', '.join(header[:12])[:200]})")
    return SuffixedTable(records, tuple(groups)) if groups else CsvTable(records)


class CsvTable:
    def __init__(self, records: CsvRecords):
        self._records = records

    @property
    def lines(self) -> int:
        return self._records.lines

    def __iter__(self) -> Iterator[Record]:
        header = self._records.header
        for record in self._records:
            if record.fields is None:
                yield Record(record.line, None, record.raw, record.error)
            else:
                yield Record(record.line, dict(zip(header, record.fields, strict=True)), record.raw)


class SuffixedTable:
    """Rows that hold one record per column suffix (`id_a_1` ... `id_a_2` ...): each record gets its
    own columns without the suffix, plus the columns that carry none. A later record whose columns
    are all empty is skipped (a row with one record); a row that cannot be read is one error."""

    def __init__(self, records: CsvRecords, suffixes: tuple[str, ...]):
        self._records = records
        self.suffixes = suffixes
        header = records.header
        self._columns = [[(i, name[:-len(s)]) for i, name in enumerate(header) if name.endswith(s)] for s in suffixes]
        self._shared = [(i, name) for i, name in enumerate(header) if not any(name.endswith(s) for s in suffixes)]

    @property
    def lines(self) -> int:
        return self._records.lines

    def __iter__(self) -> Iterator[Record]:
        for record in self._records:
            if record.fields is None:
                yield Record(record.line, None, record.raw, record.error)
                continue
            fields = record.fields
            shared = {name: fields[i] for i, name in self._shared}
            for n, (suffix, columns) in enumerate(zip(self.suffixes, self._columns, strict=True)):
                own = {name: fields[i] for i, name in columns}
                if n and not any(value.strip() for value in own.values()):
                    continue
                yield Record(record.line, {**shared, **own}, record.raw,
                             part=f"record {n + 1} of the row (columns *{suffix})")


class JsonLines:
    """One JSON object per line; the file is opened when iteration starts."""

    def __init__(self, path: Path, limits: Limits, required: tuple[str, ...] = ()):
        self.path, self.limits, self.required = path, limits, required
        self.lines = 0

    def __iter__(self) -> Iterator[Record]:
        source = Lines(self.path, self.limits.record_bytes)
        try:
            while (line := source.next()) is not None:
                self.lines = source.count
                if line.error:
                    yield Record(line.number, None, line.text(), line.error)
                elif line.data.strip():
                    yield self._record(line.number, line.data)
            self.lines = source.count
        finally:
            source.close()

    def _record(self, number: int, data: bytes) -> Record:
        text = utf8(data)
        if text is None:
            return Record(number, None, data.decode("utf-8", "replace").strip(), "line is not valid UTF-8")
        text = text.strip()
        try:
            value = json.loads(text)
        except ValueError as exc:
            return Record(number, None, text, f"invalid JSON: {exc}")
        except RecursionError:
            return Record(number, None, text, "invalid JSON: nested too deeply")
        if not isinstance(value, dict):
            return Record(number, None, text, f"not a JSON object (a {type(value).__name__})")
        key = long_field(value, self.limits.field_bytes)
        if key is not None:
            return Record(number, None, text, f"field {key[:80]!r} longer than {self.limits.field_bytes} bytes")
        missing = [c for c in self.required if c not in value]
        if missing:
            return Record(number, None, text, f"missing field(s) {', '.join(missing)}")
        return Record(number, value, text)


def long_field(data: dict, limit: int) -> str | None:
    """The first top-level key whose value holds a string of more than `limit` UTF-8 bytes."""
    for key, value in data.items():
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if len(item) > limit // 4 and len(item.encode("utf-8", "surrogatepass")) > limit:
                    return str(key)
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return None
