"""Shared fixtures: a real local Neo4j (started here when needed; never skipped) and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph.driver import make_driver
from graph.maintenance import delete_everything
from graph.schema import apply_schema
from mindkb.embedding import embedding_dimensions
from mindkb.localdb import LocalNeo4j
from mindkb.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (as in CI); MIND_SHARED_DIR overrides it for other layouts.
SHARED = Path(os.environ.get("MIND_SHARED_DIR") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def neo4j_server(settings: Settings) -> Settings:
    """Start (or reuse) the local server; a missing database fails the tests, it never skips them."""
    if settings.uses_local_server:
        LocalNeo4j(settings).start()
    return settings


@pytest.fixture(scope="session")
def driver(neo4j_server: Settings):
    drv = make_driver(neo4j_server)
    drv.verify_connectivity()
    yield drv
    drv.close()


@pytest.fixture
def empty_graph(driver, settings: Settings):
    """A graph with only the schema and the 20 Relation nodes."""
    delete_everything(driver, settings.neo4j_database)
    apply_schema(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model))
    return driver


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
    """Run `mind` in a subprocess, exactly as a user would (same interpreter, same settings)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "mindkb", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd or REPO,
    )
    return CliResult(proc)


@pytest.fixture
def cli():
    return run_cli
