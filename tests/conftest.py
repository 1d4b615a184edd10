"""Shared fixtures: the suite's own real Neo4j (started here, never skipped), the CLI, shared data.

`pytest_configure` points the environment at a Neo4j that only the suite uses (its own home and
ports, see tests/support/server.py) before any settings are read; the session starts it and stops
it at the end if it started it. A missing database fails the tests, it never skips them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from embedding.models import embedding_dimensions
from graph.driver import make_driver
from graph.localdb import LocalNeo4j
from graph.maintenance import delete_everything
from graph.schema import apply_schema
from mindkb.logs import setup_logging
from mindkb.settings import Settings
from tests.support import server
from tests.support.cli import run_cli

# Names that the suite, its subprocesses and the libraries they use would create in the system's
# temp folder; the session's own temp root must hold all of them, so none may appear there.
TEMP_NAMES = ("pytest-of-", "mind-", "ls-data-", "graphiql-", "ray")


def system_temp() -> Path:
    return Path(os.environ.get("MIND_TEST_SYSTEM_TMP") or "/tmp")


def temp_entries() -> set[str]:
    return {p.name for p in system_temp().iterdir() if p.name.startswith(TEMP_NAMES)}


def pytest_configure(config) -> None:
    """One temp root for the whole session (pytest's tmp_path, every subprocess, Ray, Label Studio),
    removed when the session ends: a test run leaves nothing in /tmp or the user's HOME."""
    config.mind_temp_before = temp_entries()
    root = Path(tempfile.mkdtemp(prefix="mind-test-", dir=system_temp()))  # short: Ray's sockets live below
    config.mind_temp_root = root
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)
    # `mind` subprocesses print progress lines to a piped stderr; the tests read that stderr for the
    # one-line errors, so progress is off unless a test asks for it (tests/mindkb/test_output.py).
    os.environ["MIND_PROGRESS"] = "0"
    server.configure_environment()  # clears the cached settings after setting the environment
    setup_logging()  # library warnings reach stderr as they do under the `mind` command
    # Quarantine files and other run output go to a scratch folder, never to the checkout's data/.
    os.environ["MIND_DATA_DIR"] = str(root / "data")


def pytest_unconfigure(config) -> None:
    root = getattr(config, "mind_temp_root", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def nothing_left_in_the_system_temp(request):
    """At teardown: the only new entry of the suite's kinds in the system temp folder is the session's
    own root (removed right after)."""
    yield
    config = request.config
    # Other sessions' own roots (a suite running beside this one) are theirs to remove.
    left = {name for name in temp_entries() - config.mind_temp_before if not name.startswith("mind-test-")}
    assert not left, f"the test session left {sorted(left)} in {system_temp()}"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def neo4j_server(settings: Settings):
    """Start (or reuse) the suite's server; stop it afterwards if this session started it."""
    local = LocalNeo4j(settings)
    started = not local.status().running
    local.start()
    yield settings
    if started:
        local.stop()


@pytest.fixture(scope="session")
def driver(neo4j_server: Settings):
    drv = make_driver(neo4j_server)
    drv.verify_connectivity()
    yield drv
    drv.close()


def reset_graph(driver, settings: Settings) -> None:
    """Back to only the schema and the 20 Relation nodes (the test server's database only)."""
    if not server.is_test_database(settings):
        pytest.fail(f"refusing to wipe {settings.neo4j_uri}: the test set-up did not create it")
    delete_everything(driver, settings.neo4j_database)
    apply_schema(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model))


@pytest.fixture
def empty_graph(driver, settings: Settings):
    """A graph with only the schema and the 20 Relation nodes."""
    reset_graph(driver, settings)
    return driver


@pytest.fixture(scope="session")
def ray_cluster() -> str:
    """A local Ray of 2 CPUs (no dashboard) that the Ray engine tests share; its address lets `mind`
    subprocesses join it (`--ray-address`). Shut down at the end of the session."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def cli():
    return run_cli
