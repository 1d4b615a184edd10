"""Shared pieces of the reliability tests: kill a `mind` process at a point of real progress, compare graphs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from graph.driver import read
from graph.maintenance import graph_snapshot
from tests.support.paths import REPO


def start_mind(*args: str, env: dict | None = None, log: Path) -> subprocess.Popen:
    """`python -m mindkb ARGS` with stdout+stderr into `log` (a pipe could fill and stall the child)."""
    with open(log, "wb") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=REPO, env={**os.environ, **(env or {})},
                                stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 300, every: float = 0.02) -> bool:
    """SIGKILL `proc` as soon as `ready()` holds; False when it finished first (nothing was killed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(every)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        raise AssertionError("the command neither reached the kill point nor finished in time")
    return False


def finish(proc: subprocess.Popen, log: Path, timeout: float = 300) -> str:
    proc.wait(timeout=timeout)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    return text


def snapshot(driver, database: str) -> dict:
    return read(driver, database, graph_snapshot)
