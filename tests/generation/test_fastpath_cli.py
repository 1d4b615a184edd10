"""`mind generate --compile auto|on|off` against the real Neo4j: the switch reaches the backend,
whose measurements come back in the summary; a bad value is refused before any work.

The three runs call the `mind` entry point in this process (one import of torch, not three); the
refusal runs as a user would, in a subprocess, for its exit code and its one line."""

from __future__ import annotations

import pytest

from tests.support.generation import build_tiny, run_mind, seed_catalog


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny-llava-compile"))


def test_compile_switch(empty_graph, settings, tiny_dir, tmp_path, cli, capsys, monkeypatch):
    seed_catalog(empty_graph, settings.neo4j_database, tmp_path / "images", n=3, pairs=[(0, 1)])
    monkeypatch.setenv("MIND_MODEL", str(tiny_dir))
    monkeypatch.setenv("MIND_DEVICE", "cpu")
    seen = {}
    for mode in ("off", "on", "auto"):
        code, summary = run_mind(capsys, "generate", "--stage", "features", "--limit", "1", "--max-new-tokens", "3",
                                 "--compile", mode, "--json")
        assert code == 0 and summary["done"] == 1
        seen[mode] = summary["generation"]
    assert seen["off"]["path"] == "plain" and seen["off"]["plain"]["requests"] == 1
    # on: the fast path (its decode step is compiled only on CUDA); auto: plain on the CPU
    assert seen["on"]["path"] == "fast" and seen["on"]["compiled"] is False
    assert seen["on"]["fast"]["requests"] == 1 and seen["on"]["fast"]["new_tokens"] == 3
    assert seen["auto"]["path"] == "plain"

    bad = cli("generate", "--compile", "fast", "--json", env={"MIND_MODEL": str(tiny_dir), "MIND_DEVICE": "cpu"})
    assert bad.returncode == 2
    assert "--compile" in bad.stderr and "'auto', 'on', 'off'" in bad.stderr and "Traceback" not in bad.stderr
