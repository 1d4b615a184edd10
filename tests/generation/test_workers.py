"""`mind generate` processes side by side, killed with -9 and re-run: one result per unit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.generation import build_tiny, leases_expired, rows, seed_catalog, wait_until
from tests.support.paths import REPO
from tests.support.processes import kill_when


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny-llava-cli"))


def _env(tiny_dir, lease="30"):
    return {**os.environ, "MIND_MODEL": str(tiny_dir), "MIND_GENERATION_LEASE_SECONDS": lease,
            "MIND_DEVICE": "cpu", "MIND_PROGRESS": "1"}


def _start(tiny_dir, *args, lease="30"):
    return subprocess.Popen([sys.executable, "-m", "cli", "generate", *args, "--json"], cwd=REPO,
                            env=_env(tiny_dir, lease), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_model_tiny_command_says_noise(cli, tmp_path):
    res = cli("model", "tiny", str(tmp_path / "m"), "--json")
    assert res.returncode == 0, res.stderr
    assert "noise" in res.stderr and "noise" in res.summary["note"]
    assert res.summary["bytes"] < 5_000_000
    assert (tmp_path / "m" / "model.safetensors").exists() and (tmp_path / "m" / "chat_template.jinja").exists()


def test_two_workers_at_once_do_each_unit_once(empty_graph, settings, tiny_dir, tmp_path):
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=6, pairs=[(0, 1), (1, 2), (3, 4), (4, 5)])
    args = ("--stage", "all", "--relations", "UsedFor,Can", "--batch-size", "2", "--max-new-tokens", "4")
    procs = [_start(tiny_dir, *args) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    per_stage = {s: sum(next(x for x in sm["stages"] if x["stage"] == s)["done"] for sm in summaries)
                 for s in ("features", "intentions", "filter")}
    # A unit done by both workers would make a sum larger than the work there was.
    assert per_stage == {"features": 6, "intentions": 8, "filter": 8}
    assert "features" in outs[0][1]  # a progress bar per stage on stderr
    counts = rows(empty_graph, db, "MATCH (i:Intention) RETURN count(i) AS n, count(DISTINCT [i.asinA, i.asinB, "
                  "i.relation]) AS units, sum(CASE WHEN i.status <> 'GENERATED' THEN 1 ELSE 0 END) AS filtered")[0]
    assert counts == {"n": 8, "units": 8, "filtered": 8}


def test_kill_9_then_rerun_gives_one_result_per_unit(empty_graph, settings, tiny_dir, tmp_path):
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=6, pairs=[(0, 1), (2, 3), (4, 5), (1, 2)])
    rels = "UsedFor,Can,Open,IsA,Cause,MadeOf"
    args = ("--stage", "all", "--relations", rels, "--batch-size", "2", "--max-new-tokens", "4")
    proc = _start(tiny_dir, *args, lease="2")
    some_intentions = lambda: rows(empty_graph, db, "MATCH (i:Intention) RETURN count(i) AS n")[0]["n"] >= 2  # noqa: E731
    killed = kill_when(proc, some_intentions, timeout=240, every=0.05)
    proc.communicate()
    assert killed, "the worker finished before it could be killed"
    wait_until(lambda: leases_expired(empty_graph, db), "the killed worker's leases expire", timeout=30)
    rerun = _start(tiny_dir, *args, lease="2")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    stats = rows(empty_graph, db, "MATCH (i:Intention) RETURN count(i) AS n, count(DISTINCT [i.asinA, i.asinB, "
                 "i.relation]) AS units, sum(CASE WHEN i.status = 'GENERATED' THEN 1 ELSE 0 END) AS open")[0]
    assert stats == {"n": 4 * 6, "units": 4 * 6, "open": 0}
    left = rows(empty_graph, db, "MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseOwner IS NOT NULL RETURN count(c) AS n")
    assert left[0]["n"] == 0

