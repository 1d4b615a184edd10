"""The quarantine: every record a run could not load, as JSON lines, so nothing is lost."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import IO

from mindkb.settings import Settings

RAW_LIMIT = 100_000  # characters of the raw line kept per entry


def default_path(settings: Settings, command: str) -> Path:
    """data_dir/quarantine/<command>-<UTC timestamp>-<pid>.jsonl (unique per run)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return settings.data_dir / "quarantine" / f"{command}-{stamp}-{os.getpid()}.jsonl"


class Quarantine:
    """Appends entries {source, line, reason, raw}; the file is created on the first entry.

    `count` is every entry; `rejected` only those of records that were not loaded (an entry may
    also note a problem of a record that was loaded, e.g. its unreadable image).
    """

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self.rejected = 0
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()  # the catalogue's reader thread and writer both add entries

    def add(self, source: str | Path, line: int | None, reason: str, raw: str | None, loaded: bool = False) -> None:
        entry = {"source": str(source), "line": line, "reason": reason,
                 "raw": raw[:RAW_LIMIT] if isinstance(raw, str) else raw}
        text = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(text)
            self.count += 1
            self.rejected += not loaded

    def flush(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    @property
    def file(self) -> str | None:
        """The path when something was quarantined, else None."""
        return str(self.path) if self.count else None

    def __enter__(self) -> Quarantine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
