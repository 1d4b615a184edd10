"""Byte-level reading for every loader: plain or gzip files, bounded physical lines, format sniffing.

Files are never read whole: lines come one at a time as bytes, so multi-gigabyte catalogues fit
in memory and a bad byte or an over-long line costs only its own record. Text is decoded per record
by the format readers (`ingest/table.py`, `ingest/csvrecords.py`), never for the whole stream.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mindkb.errors import BadInput
from mindkb.settings import Settings

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024
RAW_KEPT = 2000  # bytes of an over-long line kept for its quarantine entry


@dataclass(frozen=True)
class Limits:
    """The most one record (all its lines) and one field may hold, in bytes."""

    record_bytes: int
    field_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.ingest_max_record_bytes, min(settings.ingest_max_field_bytes,
                                                         settings.ingest_max_record_bytes))


@dataclass(frozen=True)
class PhysicalLine:
    """One line as read: its 1-based number, its bytes (terminator included), or why it was cut."""

    number: int
    data: bytes
    error: str | None = None

    @property
    def crlf(self) -> bool:
        return self.data.endswith(b"\r\n")

    def text(self) -> str:
        """For messages and the quarantine: undecodable bytes shown as U+FFFD."""
        return self.data.decode("utf-8", "replace").rstrip("\r\n")


class Lines:
    """A file's physical lines, each at most `max_bytes`, with push-back.

    A CSV record that fails after taking several lines gives back all but its first, so reading
    resumes at the line after the one set aside. `count` is the number of lines read from the file.
    """

    def __init__(self, path: Path, max_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self.count = 0
        self._handle: BinaryIO | None = open_binary(path)
        self._back: list[PhysicalLine] = []

    def next(self) -> PhysicalLine | None:
        if self._back:
            return self._back.pop()
        if self._handle is None:
            return None
        try:
            chunk = self._handle.readline(self.max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput(f"{self.path}: stream broken after line {self.count} ({exc})") from None
        if not chunk:
            self.close()
            return None
        self.count += 1
        if len(chunk) > self.max_bytes and not chunk.endswith(b"\n"):
            self._skip_rest()
            return PhysicalLine(self.count, chunk[:RAW_KEPT], f"line longer than {self.max_bytes} bytes")
        return PhysicalLine(self.count, chunk)

    def push_back(self, lines: list[PhysicalLine]) -> None:
        """Lines to read again, in their order."""
        self._back.extend(reversed(lines))

    def _skip_rest(self) -> None:
        """The rest of an over-long line, read and dropped without holding it."""
        assert self._handle is not None
        while True:
            try:
                rest = self._handle.readline(1 << 20)
            except (OSError, EOFError, zlib.error) as exc:
                raise BadInput(f"{self.path}: stream broken after line {self.count} ({exc})") from None
            if not rest or rest.endswith(b"\n"):
                return

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


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
            except (ValueError, RecursionError):
                continue
    return False


def sniff_json_lines(path: Path) -> None:
    """Fails at once (exit 2) unless the file is JSON lines; an empty file is fine."""
    text = check_text(path, head(path))
    if text.strip() and not looks_like_json_lines(text):
        raise BadInput(f"{path}: not JSON lines (no line in its first {SNIFF_BYTES // 1024} KiB is a JSON object)")


def is_json_lines_file(path: Path) -> bool:
    """Decides CSV versus JSON lines from the content (the first non-blank character)."""
    text = check_text(path, head(path)).lstrip()
    return text.startswith("{")


def utf8(data: bytes) -> str | None:
    """The text of a line, or None when its bytes are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
