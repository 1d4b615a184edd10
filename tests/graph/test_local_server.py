"""The local Neo4j launcher and the `mind db` / `mind cypher` commands against the real server."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from graph import localdb
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


def _open_entries(root: Path) -> list[str]:
    """Entries under root (root included) with any group or other permission bit, links aside."""
    found = []
    for folder, dirs, files in os.walk(root):
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                found.append(f"{oct(st.st_mode & 0o777)} {path}")
    return found


class _CommandLines(threading.Thread):
    """Every process's command line on the machine, read from /proc every 20 ms: which ones held
    `secret`, and whether the admin tool's run was seen at all."""

    def __init__(self, secret: str):
        super().__init__(daemon=True)
        self.secret = secret.encode()
        self.leaks: list[str] = []
        self.saw_admin_tool = False
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = Path(entry.path, "cmdline").read_bytes()
                except OSError:
                    continue
                self.saw_admin_tool |= b"set-initial-password" in cmdline
                if self.secret in cmdline:
                    self.leaks.append(cmdline.replace(b"\0", b" ").decode(errors="replace")[:300])
            time.sleep(0.02)


def test_start_makes_an_existing_home_private(tmp_path):
    """A home from before (folders 0755, auth.ini, the conf and logs 0644): the preparation `start` runs
    first takes group and other bits off all of it; a link out of the home is left alone."""
    home = tmp_path / "home"
    for sub in ("data/dbms", "conf", "logs", "run"):
        (home / sub).mkdir(parents=True)
    for name in ("data/dbms/auth.ini", "conf/neo4j.conf", "logs/query.log", "password"):
        (home / name).write_text("x\n")
        (home / name).chmod(0o644)
    for folder in (home, *(p for p in home.rglob("*") if p.is_dir())):
        folder.chmod(0o755)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the server's\n")
    outside.chmod(0o644)
    (home / "plugins").mkdir(mode=0o755)
    (home / "plugins" / "link").symlink_to(outside)
    assert len(_open_entries(home)) > 8
    LocalNeo4j(Settings(MIND_NEO4J_HOME=str(home))).write_conf()
    assert _open_entries(home) == []
    assert stat.S_IMODE((home / "data" / "dbms" / "auth.ini").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


def test_password_arguments_quote_what_the_admin_tool_would_split_or_escape():
    assert localdb.password_arguments("plain-Pw9") == '-- "plain-Pw9"\n'
    assert localdb.password_arguments('a "b" c\\d\ne') == '-- "a \\"b\\" c\\\\d\\ne"\n'


@pytest.mark.slow
def test_second_server_on_other_ports_starts_and_stops(tmp_path, monkeypatch):
    """A full start/stop cycle with its own home and ports, alongside the main test server, and a login
    with a password that starts with a dash and holds what an argument file quotes (space, quotes, a
    backslash, `#`, non-ASCII). The new home is owner-only, and the password is on no command line:
    neither in those the launcher builds nor in any process's while the server is set up."""
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
           "NEO4J_PASSWORD": '-dash-first Pw9 "q" \\ #x é€'}
    settings = Settings(**env)
    local = LocalNeo4j(settings)
    password = settings.password()
    built: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(cmd, *args, **kwargs):
        built.append([str(c) for c in cmd])
        return real_run(cmd, *args, **kwargs)

    def popen(cmd, *args, **kwargs):
        built.append([str(c) for c in cmd])
        return real_popen(cmd, *args, **kwargs)

    monkeypatch.setattr(localdb.subprocess, "run", run)
    monkeypatch.setattr(localdb.subprocess, "Popen", popen)
    watcher = _CommandLines(password)
    watcher.start()
    try:
        try:
            status = local.start()
        finally:
            watcher.done.set()
            watcher.join()
        assert status.running and status.managed and not status.reused
        assert any("set-initial-password" in cmd for cmd in built) and watcher.saw_admin_tool
        assert not [cmd for cmd in built if any(password in part for part in cmd)]
        assert watcher.leaks == []
        assert _open_entries(tmp_path / "neo4j") == []  # data/, auth.ini, conf/, logs/, the password file
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


def test_a_java_tools_failure_is_told_by_its_exception_not_its_stack_tail():
    from graph.localdb import java_error

    output = ("Exception in thread \"main\" java.lang.IllegalArgumentException: Error evaluating value\n"
              "\tat org.neo4j.Foo.bar(Foo.java:1)\n"
              "Caused by: java.lang.IllegalArgumentException: '/x/tmp' is not an absolute path.\n"
              "\tat org.neo4j.Baz.qux(Baz.java:2)\n\t... 32 more\n")
    assert java_error(output) == "Caused by: java.lang.IllegalArgumentException: '/x/tmp' is not an absolute path."
    assert java_error("just one line") == "just one line" and java_error("") == "?"
