"""Streaming line readers for plain or gzip files, with a per-line size cap and format sniffing.

Files are never read whole: lines come one at a time, so multi-gigabyte catalogues fit in memory.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mindkb.errors import BadInput

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Line:
    """One non-blank line: its 1-based number, its text, or why it could not be read."""

    number: int
    text: str
    error: str | None = None


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it starts with the gzip magic (whatever its name)."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot open ({exc.strerror or exc})") from None
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first `size` decompressed bytes; a corrupt gzip stream is a whole-file failure."""
    with open_binary(path) as handle:
        try:
            return handle.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput(f"{path}: not a readable gzip file ({exc})") from None


def check_text(path: Path, data: bytes) -> str:
    """Rejects binary files (NUL bytes, or not UTF-8 at all) at once."""
    if b"\x00" in data:
        raise BadInput(f"{path}: binary data, not a text file")
    text = data.decode("utf-8", errors="replace")
    if data and text.count("\ufffd") > max(8, len(text) // 20):
        raise BadInput(f"{path}: not UTF-8 text")
    return text


def looks_like_json_lines(text: str) -> bool:
    """True when at least one complete line of the sample is a JSON object."""
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the last line may be cut by the sample size
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                if isinstance(json.loads(line), dict):
                    return True
            except ValueError:
                continue
    return False


def sniff_json_lines(path: Path) -> None:
    """Fails at once (exit 2) unless the file is JSON lines; an empty file is fine."""
    text = check_text(path, head(path))
    if text.strip() and not looks_like_json_lines(text):
        raise BadInput(f"{path}: not JSON lines (no line in its first {SNIFF_BYTES // 1024} KiB is a JSON object)")


def iter_lines(path: Path, max_line_bytes: int) -> Iterator[Line]:
    """Non-blank lines, streamed; over-long or non-UTF-8 lines come with an error instead of text."""
    with open_binary(path) as handle:
        number = 0
        while True:
            try:
                chunk = handle.readline(max_line_bytes + 1)
            except (OSError, EOFError, zlib.error) as exc:
                raise BadInput(f"{path}: stream broken after line {number} ({exc})") from None
            if not chunk:
                return
            number += 1
            if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                # Skip the rest of the line without holding it in memory.
                while True:
                    rest = handle.readline(1 << 20)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield Line(number, chunk[:2000].decode("utf-8", "replace"),
                           f"line longer than {max_line_bytes} bytes")
                continue
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                yield Line(number, chunk.decode("utf-8", "replace"), "line is not valid UTF-8")
                continue
            text = text.strip()
            if text:
                yield Line(number, text)


def open_csv(path: Path, max_field_bytes: int) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header, rows with their starting line number); a file without a header fails at once."""
    csv.field_size_limit(max_field_bytes)
    stream = io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        stream.close()
        return [], iter(())
    except csv.Error as exc:
        stream.close()
        raise BadInput(f"{path}: not a CSV file ({exc})") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        with stream:
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield start, ["\x00csv-error", str(exc)]
                    continue
                if row and any(cell.strip() for cell in row):
                    yield start, row

    return [h.strip().lstrip("\ufeff") for h in header], rows()


def is_json_lines_file(path: Path) -> bool:
    """Decides CSV versus JSON lines from the content (the first non-blank character)."""
    text = check_text(path, head(path)).lstrip()
    return text.startswith("{")
