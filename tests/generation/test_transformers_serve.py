"""The openai backend against a real OpenAI-compatible server: `transformers serve` (transformers'
own, the `serving` extra) serving the tiny LLaVA from its folder on the loopback.

`mind generate --backend openai` runs the three stages through it: request shape, images as data
URLs, the server's streamed answers and concurrent requests meet a real server, and the results
match the in-process backend's (greedy decoding on both sides). The server's log is in the module's
`serve*/serve.log` under the session's temp root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.conftest import reset_graph
from tests.support.generation import build_tiny, rows, run_mind, seed_catalog
from tests.support.server import free_ports

READY_SECONDS = 120


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> tuple[str, str]:
    """(base URL, model folder) of a `transformers serve` process, stopped at the end of the module."""
    folder = build_tiny(tmp_path_factory.mktemp("tiny-llava-served"))
    scratch = tmp_path_factory.mktemp("serve")  # it writes each received image to a temp file
    port = free_ports(1)[0]
    cli = Path(sys.executable).parent / "transformers"
    with open(scratch / "serve.log", "wb") as log:  # the child keeps its own handle
        proc = subprocess.Popen(
            [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning"],
            env={**os.environ, "TMPDIR": str(scratch), "HF_HUB_OFFLINE": "1"}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    health = f"http://127.0.0.1:{port}/health"
    deadline = time.monotonic() + READY_SECONDS
    try:
        while not _ready(health):
            if time.monotonic() > deadline:
                raise AssertionError(f"transformers serve not ready in {READY_SECONDS} s")
            try:  # waits on the process: an early exit ends the wait at once
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError((scratch / "serve.log").read_text(errors="replace")[-2000:])
        # The server loads a model on its first request for it, without a lock: concurrent first
        # requests each load it and fail ("Cannot copy out of meta tensor"). One request loads it first.
        first = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=READY_SECONDS, json={
            "model": str(folder), "max_tokens": 1, "messages": [{"role": "user", "content": "hello"}]})
        assert first.status_code == 200, first.text[:500]
        yield f"http://127.0.0.1:{port}/v1", str(folder)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _outcome(driver, db: str) -> tuple[int, Counter]:
    features = rows(driver, db, "MATCH (p:Product) WHERE p.features IS NOT NULL RETURN count(p) AS n")[0]["n"]
    statuses = Counter(r["s"] for r in rows(driver, db, "MATCH (i:Intention) RETURN i.status AS s"))
    return features, statuses


def test_openai_backend_against_transformers_serve(driver, settings, served, tmp_path, capsys, monkeypatch):
    base_url, folder = served
    db = settings.neo4j_database
    monkeypatch.setenv("MIND_DEVICE", "cpu")
    common = ("--model", folder, "--relations", "UsedFor,Can", "--max-new-tokens", "4", "--temperature", "0",
              "--json")
    outcomes, summaries = {}, {}
    for backend in ("transformers", "openai"):
        reset_graph(driver, settings)
        seed_catalog(driver, db, tmp_path / "images", n=4, pairs=[(0, 1), (2, 3)])
        extra = ("--base-url", base_url, "--concurrency", "4") if backend == "openai" else ("--compile", "off")
        code, summary = run_mind(capsys, "generate", "--backend", backend, *extra, *common)
        assert code == 0, summary
        summaries[backend] = [(s["stage"], s["done"], s["failed"], s["skipped"]) for s in summary["stages"]]
        outcomes[backend] = _outcome(driver, db)
    assert summaries["openai"] == [("features", 4, 0, 0), ("intentions", 4, 0, 0), ("filter", 4, 0, 0)]
    assert summaries["openai"] == summaries["transformers"]
    assert outcomes["openai"] == outcomes["transformers"]
    assert outcomes["openai"][0] == 4 and sum(outcomes["openai"][1].values()) == 4
    assert "GENERATED" not in outcomes["openai"][1]
    got = rows(driver, db, "MATCH (i:Intention) RETURN i.model AS m, i.filterModel AS fm, i.pairImages AS pi")
    assert all(r["m"] == r["fm"] == folder and r["pi"] == "stacked" for r in got)

    code, again = run_mind(capsys, "generate", "--backend", "openai", "--base-url", base_url, *common)
    assert code == 0 and [s["done"] for s in again["stages"]] == [0, 0, 0]
