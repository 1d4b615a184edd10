"""Logging set-up for the `mind` command: library modules log, the CLI decides where it goes.

Records go to stderr as one line each ("mind: ..."), like the CLI's own messages, so stdout keeps
only the JSON summary. Progress bars stay tqdm's, on stderr too.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

FORMAT = "mind: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted (it may have been replaced)."""

    _mind = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(level: str = "WARNING") -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries below us are chatty at INFO; their warnings still show.
    for noisy in ("neo4j", "httpx", "urllib3", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
