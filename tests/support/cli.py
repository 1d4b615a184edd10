"""Running `mind` as a user would: a subprocess with the same interpreter and environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def summary(self) -> dict:
        """The JSON object on the last stdout line (the --json contract)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, f"no stdout; stderr={self.stderr!r}"
        return json.loads(lines[-1])


def run_cli(*args: str, env: dict | None = None, timeout: float = 600, cwd: Path | None = None) -> CliResult:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd or REPO,
    )
    return CliResult(proc)
