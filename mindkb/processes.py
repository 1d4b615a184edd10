"""Whether a local process still runs: lease owners and the local Neo4j are checked by pid."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True for a running process (another user's too); a zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
