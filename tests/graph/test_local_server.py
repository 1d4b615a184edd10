"""The local Neo4j launcher and the `mind db` / `mind cypher` commands against the real server."""

from __future__ import annotations

import socket
import subprocess
import urllib.request

import pytest

from graph.localdb import LocalNeo4j
from mindkb.errors import MindError
from mindkb.settings import Settings

# Also run on the 5.26 LTS server (`make test-lts`).
pytestmark = pytest.mark.server_versions


def test_db_start_twice_reuses_the_running_server(neo4j_server, cli):
    first = cli("db", "start", "--json")
    second = cli("db", "start", "--json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.summary["status"] == "running"
    assert second.summary["reused"] is True
    assert second.summary["pid"] == first.summary["pid"]


def test_browser_answers_and_the_server_is_the_configured_version(neo4j_server, cli, settings):
    with urllib.request.urlopen(f"http://localhost:{settings.neo4j_http_port}/browser/", timeout=10) as resp:
        assert resp.status == 200
    out = cli("cypher", "CALL dbms.components() YIELD versions RETURN versions[0] AS v")
    assert out.returncode == 0, out.stderr
    assert f'"{settings.neo4j_version}"' in out.stdout  # the default unless MIND_NEO4J_VERSION says otherwise


def test_status_never_prints_the_password(neo4j_server, cli, settings):
    out = cli("db", "status", "--json")
    assert out.returncode == 0
    assert out.summary["running"] is True
    password = settings.password()
    assert password not in out.stdout and password not in out.stderr


def test_cypher_json_rows_and_parameters(neo4j_server, cli):
    out = cli("cypher", "--json", "-p", "x=41", "UNWIND range(1, 3) AS i RETURN i + $x AS n")
    assert out.returncode == 0, out.stderr
    assert out.summary["columns"] == ["n"]
    assert [r["n"] for r in out.summary["rows"]] == [42, 43, 44]


def test_cypher_bad_query_is_one_line_and_exit_2(neo4j_server, cli):
    out = cli("cypher", "MATCH (n RETURN n")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cypher error" in lines[0]
    assert "Traceback" not in out.stderr


def test_unreachable_database_is_one_line_and_exit_1(cli):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = cli("cypher", "RETURN 1", env={"NEO4J_URI": f"bolt://127.0.0.1:{port}", "NEO4J_PASSWORD": "whatever1"})
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1 and "cannot reach Neo4j" in out.stderr
    assert "whatever1" not in out.stderr


def test_wrong_password_is_one_line_and_never_echoed(neo4j_server, cli):
    out = cli("cypher", "RETURN 1", env={"NEO4J_PASSWORD": "definitely-wrong-pw"})
    assert out.returncode == 1
    assert "rejected the credentials" in out.stderr
    assert "definitely-wrong-pw" not in out.stderr + out.stdout


def test_missing_maven_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MindError, match="Maven"):
        LocalNeo4j.maven()


def test_port_taken_by_a_foreign_process_is_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        local = LocalNeo4j(Settings(MIND_NEO4J_HOME=str(tmp_path / "home"), MIND_NEO4J_BOLT_PORT=port))
        with pytest.raises(MindError, match=f"port {port} is already in use"):
            local.start()


def test_stop_never_kills_a_process_it_did_not_start(tmp_path):
    home = tmp_path / "home"
    local = LocalNeo4j(Settings(MIND_NEO4J_HOME=str(home)))
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        local.pid_file.parent.mkdir(parents=True)
        local.pid_file.write_text(str(sleeper.pid))
        status = local.stop()
        assert status.pid is None
        assert sleeper.poll() is None, "a foreign process was killed"
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.slow
def test_second_server_on_other_ports_starts_and_stops(tmp_path):
    """A full start/stop cycle with its own home and ports, alongside the main test server, and a login
    with a password that starts with a dash."""
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    env = {"MIND_NEO4J_HOME": str(tmp_path / "neo4j"), "MIND_NEO4J_BOLT_PORT": str(ports[0]),
           "MIND_NEO4J_HTTP_PORT": str(ports[1]), "MIND_NEO4J_HEAP": "512m", "MIND_NEO4J_PAGECACHE": "128m",
           "MIND_NEO4J_VECTOR_MERGE_FACTOR": "7", "MIND_NEO4J_VECTOR_POPULATION_BUFFER_MB": "24",
           "NEO4J_URI": f"bolt://localhost:{ports[0]}",
           # a password the admin tool would read as an option without `--` (token_urlsafe makes such)
           "NEO4J_PASSWORD": "-dash-first-Pw9"}
    settings = Settings(**env)
    local = LocalNeo4j(settings)
    try:
        status = local.start()
        assert status.running and status.managed and not status.reused
        # The server started with the vector-index settings (settings Neo4j rejects at start-up if
        # misspelt, as its config validation is strict).
        conf = (tmp_path / "neo4j" / "conf" / "neo4j.conf").read_text().splitlines()
        assert "internal.dbms.index.vector.standard_merge_factor=7" in conf
        assert "internal.dbms.index.vector.population_ram_buffer_size=24" in conf
        pw_file = settings.local_password_file
        assert oct(pw_file.stat().st_mode & 0o777) == "0o600"
        from graph.driver import make_driver

        with make_driver(settings) as drv:
            records, _, _ = drv.execute_query("RETURN 7 AS x", database_="neo4j")
            assert records[0]["x"] == 7
        with urllib.request.urlopen(f"http://localhost:{ports[1]}/browser/", timeout=10) as resp:
            assert resp.status == 200
    finally:
        stopped = local.stop()
    assert stopped.running is False
    assert local.status().pid is None
    assert local.stop().pid is None  # stopping again is harmless
