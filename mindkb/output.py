"""What commands print: progress on stderr, one JSON summary object as the last stdout line.

How progress shows is the `progress` and `progress_interval` settings' choice; the entry points
(`mind`, the benchmarks) read the settings and hand them to `configure_progress` before any work.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm

from mindkb.settings import Settings


@dataclass
class ProgressOptions:
    """`chosen`: True a bar, False none, None by stderr (a bar on a terminal, else log lines);
    `interval`: seconds between two log lines. The defaults are the settings' defaults."""

    chosen: bool | None = None
    interval: float = 5.0


_options = ProgressOptions()


def configure_progress(settings: Settings) -> None:
    """Progress from now on as `settings.progress` and `settings.progress_interval` ask."""
    _options.chosen, _options.interval = settings.progress, settings.progress_interval


def emit(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, default=str, ensure_ascii=False) + "\n")
    else:
        for key, value in summary.items():
            if isinstance(value, (dict, list)):
                value = json.dumps(value, default=str, ensure_ascii=False)
            sys.stdout.write(f"{key}: {value}\n")
    sys.stdout.flush()


def progress_mode() -> str:
    """bar on a terminal (or MIND_PROGRESS=1), log lines when stderr is a file or pipe, off with MIND_PROGRESS=0."""
    chosen = _options.chosen
    if chosen is False:
        return "off"
    return "bar" if chosen or sys.stderr.isatty() else "lines"


def progress_wanted() -> bool:
    return progress_mode() == "bar"


def line_interval() -> float:
    """Seconds between two progress lines when stderr is not a terminal (MIND_PROGRESS_INTERVAL, default 5)."""
    return _options.interval


class _WholeLines:
    """A stream that drops tqdm's bare carriage returns and newlines (its cursor moves on a terminal)."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> None:
        if text.strip():
            self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class LineProgress(tqdm):
    """tqdm's counts and rate as whole log lines on stderr, at most one per interval (and one at the end):
    a log file or CI output shows steady progress instead of a silent wait or carriage-return noise.
    A heartbeat thread writes the line again when a whole interval passes without an update (one
    slow batch), so a reader never waits more than an interval for a sign of life."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.update(ncols=0, mininterval=line_interval(), maxinterval=max(line_interval(), 10.0), miniters=1,
                      file=_WholeLines(kwargs.get("file") or sys.stderr))
        self._last_line = ""
        self._last_at = time.monotonic()
        self._stopped = threading.Event()
        super().__init__(*args, **kwargs)
        if not self.disable:
            threading.Thread(target=self._heartbeat, name="progress-lines", daemon=True).start()

    def _heartbeat(self) -> None:
        interval = line_interval()
        while not self._stopped.wait(interval / 2):
            if time.monotonic() - self._last_at >= interval:
                with self.get_lock():
                    if not self._stopped.is_set():
                        self.display(msg=self.__str__())

    def display(self, msg: str | None = None, pos: int | None = None) -> None:
        if self.n == 0 and not self.disable and msg is None:
            return  # the opening 0% line says nothing
        line = msg if msg is not None else self.__str__()
        if line and line != self._last_line:
            self._last_line = line
            self._last_at = time.monotonic()
            self.fp.write(line.strip() + "\n")
            self.fp.flush()

    def close(self) -> None:
        self._stopped.set()
        super().close()


def progress(total: int | None = None, desc: str = "", unit: str = "it", **kwargs: Any) -> tqdm:
    """Progress on stderr: a tqdm bar on a terminal, a log line every few seconds elsewhere, none when off."""
    mode = progress_mode()
    if mode == "lines":
        return LineProgress(total=total, desc=desc, unit=unit, file=sys.stderr, **kwargs)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=mode == "off",
                dynamic_ncols=True, **kwargs)


def note(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()
