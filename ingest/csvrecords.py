"""CSV cut into records that cannot swallow each other.

Each record is parsed by Python's csv module, but the lines it may take are chosen here: a quote
left open at the end of a line continues onto the next line only when the format allows quoted
fields over several lines (`multiline`), never past a CRLF in a file whose records end with CRLF
(the layout of the MIND authors' output: CRLF between records, bare LF inside fields), and only up to
the field and record bounds. Such a record must then parse strictly and have the header's number of
fields; otherwise only its first line is set aside and reading resumes at the line after it, so
one stray quote costs one line. Bytes are decoded per record: a record that is not UTF-8 is set
aside whole, with the number of its bad line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.reader import Limits, Lines, PhysicalLine
from mindkb.errors import BadInput

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvRecord:
    """A record's first line, its fields (None when set aside), its text, and why it was set aside."""

    line: int
    fields: list[str] | None
    raw: str
    error: str | None = None


class _Feed:
    """The lines one csv.reader call parses; notes whether the reader wanted more than the first."""

    def __init__(self, first: str, more: Callable[[], str | None] | None = None):
        self._pending: str | None = first
        self._more = more
        self.wanted_more = False

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self._pending is not None:
            line, self._pending = self._pending, None
            return line
        self.wanted_more = True
        more = self._more() if self._more is not None else None
        if more is None:
            raise StopIteration
        return more


def _decoded(line: PhysicalLine) -> str:
    # surrogateescape keeps the record's extent exact; bad bytes are reported after parsing.
    return line.data.decode("utf-8", "surrogateescape")


def _valid_utf8(line: PhysicalLine) -> bool:
    try:
        line.data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _raw(lines: list[PhysicalLine]) -> str:
    return b"".join(line.data for line in lines).decode("utf-8", "replace").rstrip("\r\n")


def _parse(feed: _Feed, strict: bool, limit: int) -> list[str]:
    csv.field_size_limit(limit)  # process-wide; set per record so another reader cannot lower it
    return next(csv.reader(feed, strict=strict))


class CsvRecords:
    """The header (read at once: a file that is not CSV fails before any write), then the records."""

    def __init__(self, path: Path, limits: Limits, multiline: bool,
                 looks_like_record: Callable[[dict[str, str]], bool] | None = None):
        self.path = path
        self.limits = limits
        self.multiline = multiline
        self.looks_like_record = looks_like_record
        self._lines = Lines(path, limits.record_bytes)
        try:
            self.header, self.crlf = self._read_header()
        except BaseException:
            self._lines.close()
            raise

    @property
    def lines(self) -> int:
        """Lines read so far, blank ones and the header included."""
        return self._lines.count

    def _read_header(self) -> tuple[list[str], bool]:
        while (first := self._lines.next()) is not None and not first.data.strip():
            pass
        if first is None:
            return [], False
        if first.error:
            raise BadInput(f"{self.path}: not a CSV file (header {first.error})")
        data = first.data[len(BOM):] if first.data.startswith(BOM) else first.data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{self.path}: the CSV header is not UTF-8 text") from None
        feed = _Feed(text)
        try:
            header = _parse(feed, False, self.limits.record_bytes)
        except (csv.Error, StopIteration) as exc:
            raise BadInput(f"{self.path}: not a CSV file ({exc})") from None
        if feed.wanted_more:
            raise BadInput(f"{self.path}: the CSV header has an unclosed quote")
        return [h.strip() for h in header], first.crlf

    def __iter__(self) -> Iterator[CsvRecord]:
        try:
            while (first := self._lines.next()) is not None:
                if first.error:
                    yield CsvRecord(first.number, None, first.text(), first.error)
                elif first.data.strip():
                    record = self._record(first)
                    if record is not None:
                        yield record
        finally:
            self._lines.close()

    def close(self) -> None:
        self._lines.close()

    def _record(self, first: PhysicalLine) -> CsvRecord | None:
        feed = _Feed(_decoded(first))
        try:
            row = _parse(feed, False, self.limits.record_bytes)
        except csv.Error as exc:
            return CsvRecord(first.number, None, first.text(), f"malformed CSV: {exc}")
        if feed.wanted_more:  # a quote is open at the end of the line
            if not self.multiline:
                return self._set_aside(first, "unclosed quote: a field of this format does not continue "
                                              "past its line")
            if self.crlf and first.crlf:
                return self._set_aside(first, "unclosed quote: records in this file end with CRLF, "
                                              "and the line ends without closing it")
            return self._spanning(first)
        return self._checked([first], row)

    def _set_aside(self, first: PhysicalLine, reason: str) -> CsvRecord:
        return CsvRecord(first.number, None, first.text(), reason)

    def _spanning(self, first: PhysicalLine) -> CsvRecord | None:
        """A record whose quoted field continues on the next lines, within the bounds."""
        taken, held = [first], []
        size = len(first.data)
        cut: list[str] = []

        def more() -> str | None:
            nonlocal size
            if self.crlf and taken[-1].crlf:
                cut.append("before the record's end (CRLF)")
                return None  # a quote never spans a record's end
            line = self._lines.next()
            if line is None:
                cut.append("before the end of the file")
                return None
            over = size + len(line.data) > self.limits.record_bytes
            if line.error or over or size - len(first.data) + len(line.data) > self.limits.field_bytes:
                held.append(line)
                cut.append(f"within {self.limits.record_bytes if over else self.limits.field_bytes} bytes")
                return None
            if not self.crlf and self._whole_record(line):
                held.append(line)
                cut.append(f"before line {line.number}, a record of its own")
                return None
            size += len(line.data)
            taken.append(line)
            return _decoded(line)

        feed = _Feed(_decoded(first), more)
        try:
            row = _parse(feed, True, self.limits.record_bytes)
            problem = None if len(row) == len(self.header) else \
                f"gives {len(row)} fields, the header {len(self.header)}"
        except csv.Error as exc:
            row, problem = [], str(exc)
        if problem is None:
            return self._checked(taken, row)
        self._lines.push_back(taken[1:] + held)
        span = f"lines {first.number}-{taken[-1].number}" if len(taken) > 1 else f"line {first.number}"
        if cut:
            reason = f"unclosed quote: not closed {cut[0]}"
        else:
            reason = f"malformed CSV: the quoted field over {span} {problem}"
        return self._set_aside(first, f"{reason}; reading resumes at line {first.number + 1}")

    def _whole_record(self, line: PhysicalLine) -> bool:
        """In a file whose records and fields both end lines with LF, a quoted field that would take
        a line which is a complete record by itself (the header's field count, no quote left open,
        and what the format's `looks_like_record` asks, e.g. ids where ids belong) is more likely
        a stray quote than text: the field stops before that line."""
        feed = _Feed(_decoded(line))
        try:
            row = _parse(feed, False, self.limits.record_bytes)
        except csv.Error:
            return False
        if feed.wanted_more or len(row) != len(self.header):
            return False
        return self.looks_like_record is None or self.looks_like_record(dict(zip(self.header, row, strict=True)))

    def _checked(self, lines: list[PhysicalLine], row: list[str]) -> CsvRecord | None:
        """A record of known extent: bad bytes, field count and field sizes; None when blank."""
        number, raw = lines[0].number, _raw(lines)
        bad = next((line.number for line in lines if not _valid_utf8(line)), None)
        if bad is not None:
            where = "" if len(lines) == 1 else f" (line {bad})"
            return CsvRecord(number, None, raw, f"line is not valid UTF-8{where}")
        if not any(cell.strip() for cell in row):
            return None
        if len(row) > len(self.header):
            return CsvRecord(number, None, raw,
                             f"unknown column: the row has {len(row)} fields, the header {len(self.header)}")
        if len(row) < len(self.header):
            return CsvRecord(number, None, raw, f"the row has {len(row)} fields, the header {len(self.header)}")
        limit = self.limits.field_bytes
        for name, cell in zip(self.header, row, strict=True):
            if len(cell) > limit // 4 and len(cell.encode("utf-8")) > limit:
                return CsvRecord(number, None, raw, f"field {name!r} longer than {limit} bytes")
        return CsvRecord(number, row, raw)
