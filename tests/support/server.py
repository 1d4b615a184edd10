"""The suite's own Neo4j: its own home and ports, started and stopped by the test set-up.

The user's local server (`mind db start`, ~/.local/share/mind/neo4j, ports 7687/7474) is never
touched: the suite exports MIND_NEO4J_HOME, the ports and NEO4J_URI of a server of its own before
anything reads the settings, so every in-process call and every `mind` subprocess talks to it.
The home carries a marker file; the fixtures refuse to wipe a database without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from graph.localdb import LocalNeo4j
from mindkb.settings import Settings, get_settings
from tests.support.paths import REPO

MARKER = ".mind-test-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (all held open until every one is chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def test_home() -> Path:
    """One home per checkout and server version, so two checkouts' suites (or the suite on the
    default version and on 5.26, `make test-lts`) can run side by side."""
    digest = hashlib.sha256(str(REPO).encode()).hexdigest()[:10]
    base = Path(os.environ.get("MIND_TEST_NEO4J_BASE") or REPO / ".cache")
    return base.expanduser() / f"test-neo4j-{digest}-{Settings().neo4j_version}"


def configure_environment() -> dict[str, str]:
    """Point this process (and its children) at the test server; returns what was set."""
    home = test_home()
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by the MIND-KB test set-up; the suite may wipe this database\n")
    ports_file = home / "ports.json"
    ports = json.loads(ports_file.read_text()) if ports_file.exists() else None
    if not ports or not _running(home, ports):
        ports = {"bolt": free_port(), "http": free_port()}
        ports_file.write_text(json.dumps(ports))
    env = {
        "MIND_NEO4J_HOME": str(home),
        "MIND_NEO4J_BOLT_PORT": str(ports["bolt"]),
        "MIND_NEO4J_HTTP_PORT": str(ports["http"]),
        "NEO4J_URI": f"bolt://localhost:{ports['bolt']}",
        "MIND_NEO4J_HEAP": os.environ.get("MIND_TEST_NEO4J_HEAP", "1g"),
        "MIND_NEO4J_PAGECACHE": os.environ.get("MIND_TEST_NEO4J_PAGECACHE", "512m"),
    }
    for name in ("NEO4J_PASSWORD", "MIND_NEO4J_PASSWORD", "NEO4J_USER", "NEO4J_DATABASE"):
        os.environ.pop(name, None)  # the test server's own password file is used
    os.environ.update(env)
    get_settings.cache_clear()
    return env


def _running(home: Path, ports: dict) -> bool:
    settings = Settings(neo4j_home=home, neo4j_bolt_port=ports["bolt"], neo4j_http_port=ports["http"])
    return LocalNeo4j(settings).status().running


def is_test_database(settings: Settings) -> bool:
    """True only for the server this set-up created (marker in its home, its port in the URI)."""
    return ((settings.neo4j_home / MARKER).exists() and settings.uses_local_server
            and settings.neo4j_home == test_home())


@contextmanager
def spare_server(home: Path, uri: bool = False) -> Iterator[tuple[Settings, LocalNeo4j, dict[str, str]]]:
    """A second, small local Neo4j in `home` that a test may stop and start (the suite's server is never
    touched); yields its settings, its launcher and the environment that points `mind` at it (with
    NEO4J_URI when `uri`, for a process whose environment names the suite's server)."""
    bolt, http = free_ports(2)
    env = {"MIND_NEO4J_HOME": str(home), "MIND_NEO4J_BOLT_PORT": str(bolt), "MIND_NEO4J_HTTP_PORT": str(http),
           "MIND_NEO4J_HEAP": "512m", "MIND_NEO4J_PAGECACHE": "128m"}
    if uri:
        env["NEO4J_URI"] = f"bolt://localhost:{bolt}"
    settings = Settings(**env)
    local = LocalNeo4j(settings)
    local.start()
    try:
        yield settings, local, env
    finally:
        local.stop()
