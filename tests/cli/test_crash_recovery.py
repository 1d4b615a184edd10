"""Crash safety: `mind ingest catalog`, `mind generate` and `mind embed` killed with SIGKILL at several
points of real progress (watched in the database), then re-run: the graph equals an uninterrupted run's.

Small inputs and small batches make many batches, so the kills land before, between and during writes.
"""

from __future__ import annotations

import json
import random

import pytest

from benchmarks.synthetic import build as build_synthetic
from embedding.models import embedding_dimensions
from graph.driver import read
from graph.maintenance import delete_everything, label_counts, work_state
from graph.schema import apply_schema
from tests.support.generation import build_tiny, seed_catalog
from tests.support.ingest import product, write_lines
from tests.support.processes import finish, kill_when, snapshot, start_mind


def _reset(driver, settings) -> None:
    delete_everything(driver, settings.neo4j_database)
    apply_schema(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model))


def _kill_then_finish(driver, settings, args, env, points, tmp_path) -> list[str]:
    """One run per kill point (each killed when its probe holds), then a run to the end; returns logs."""
    logs = []
    for n, (name, probe) in enumerate(points):
        log = tmp_path / f"killed-{n}.log"
        proc = start_mind(*args, env=env, log=log)
        killed = kill_when(proc, lambda probe=probe: probe(driver, settings.neo4j_database))
        assert killed, f"the run finished before kill point {name!r}: {log.read_text()[-1000:]}"
        logs.append(log.read_text(errors="replace"))
    log = tmp_path / "final.log"
    logs.append(finish(start_mind(*args, env=env, log=log), log))
    return logs


def _state(driver, db) -> dict:
    return read(driver, db, work_state)


def _labels(driver, db) -> dict:
    return read(driver, db, label_counts)


# --- ingest -------------------------------------------------------------------------------------
def _catalogue(path, n: int = 3000):
    rng = random.Random(11)
    asins = [f"K{i:05d}" for i in range(n)]
    lines = []
    for i, asin in enumerate(asins):
        also = rng.sample(asins, 3) + [f"ABSENT{rng.randrange(50):03d}"]  # some links stay pending
        lines.append(product(asin, f"item {i}", also_buy=also))
        if i % 500 == 7:
            lines.append("{broken json")
    return write_lines(path, lines)


def test_ingest_catalog_killed_three_times_equals_one_clean_run(empty_graph, settings, tmp_path):
    db = settings.neo4j_database
    catalogue = _catalogue(tmp_path / "meta.json")
    args = ("ingest", "catalog", str(catalogue), "--quarantine", str(tmp_path / "q.jsonl"), "--json")
    env = {"MIND_WRITE_BATCH_SIZE": "10"}
    finish(start_mind(*args, env=env, log=tmp_path / "clean.log"), tmp_path / "clean.log")
    clean = snapshot(empty_graph, db)
    assert clean["labels"]["Product"] == 3000 and clean["labels"].get("PendingLink", 0) > 0

    _reset(empty_graph, settings)
    products = lambda d, db_: _labels(d, db_).get("Product", 0)  # noqa: E731
    points = [("first batch", lambda d, db_: products(d, db_) >= 1),
              ("a third", lambda d, db_: products(d, db_) >= 1000),
              ("two thirds", lambda d, db_: products(d, db_) >= 2000)]
    _kill_then_finish(empty_graph, settings, args, env, points, tmp_path)
    assert snapshot(empty_graph, db) == clean


# --- generate -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny-llava-crash"))


PAIRS = [(0, 1), (2, 3), (4, 5), (6, 7), (1, 2)]
RELATIONS = "UsedFor,Can,IsA,Cause"


def test_generate_killed_in_each_stage_equals_one_clean_run(empty_graph, settings, tiny_dir, tmp_path):
    db = settings.neo4j_database
    images = tmp_path / "images"
    args = ("generate", "--stage", "all", "--relations", RELATIONS, "--batch-size", "2",
            "--max-new-tokens", "4", "--json")
    # Long leases: the re-run must take over a killed worker's units at once, not after expiry.
    env = {"MIND_MODEL": str(tiny_dir), "MIND_DEVICE": "cpu", "MIND_GENERATION_LEASE_SECONDS": "3600"}
    seed_catalog(empty_graph, db, images, n=8, pairs=PAIRS)
    finish(start_mind(*args, env=env, log=tmp_path / "clean.log"), tmp_path / "clean.log")
    clean = snapshot(empty_graph, db)
    assert len(clean["intentions"]) == len(PAIRS) * 4 and clean["generated"] == 0

    _reset(empty_graph, settings)
    seed_catalog(empty_graph, db, images, n=8, pairs=PAIRS)
    points = [
        ("features: first batch claimed", lambda d, db_: _state(d, db_)["featureLeases"] >= 1),
        ("intentions: mid-stage", lambda d, db_: _labels(d, db_).get("Intention", 0) >= 6),
        ("filter: mid-stage", lambda d, db_: _labels(d, db_).get("Intention", 0) == len(PAIRS) * 4
         and _state(d, db_)["generated"] <= len(PAIRS) * 4 - 4),
    ]
    _kill_then_finish(empty_graph, settings, args, env, points, tmp_path)
    final = snapshot(empty_graph, db)
    assert final == clean
    assert final["generated"] == 0 and final["featured"] == 8
    assert final["featureLeases"] == final["pairLeases"] == final["filterLeases"] == 0


# --- embed --------------------------------------------------------------------------------------
def test_embed_killed_three_times_equals_one_clean_run(empty_graph, settings, tmp_path):
    db = settings.neo4j_database
    dims = embedding_dimensions(settings.embedding_model)
    build = lambda: build_synthetic(empty_graph, db, dims, products=70, intentions=240, vectors=False,  # noqa: E731
                                    model=settings.embedding_model, wipe=True)
    args = ("embed", "--json")
    env = {"MIND_EMBED_BATCH_SIZE": "4"}  # pages of 32 texts
    build()
    # A clean run only adds vectors (properties): the expected graph is this one with every vector set.
    clean = {**snapshot(empty_graph, db), "intentionVectors": 240, "productVectors": 70}
    points = [("first page", lambda d, db_: _state(d, db_)["intentionVectors"] >= 1),
              ("mid intentions", lambda d, db_: _state(d, db_)["intentionVectors"] >= 120),
              ("products", lambda d, db_: _state(d, db_)["productVectors"] >= 1)]
    logs = _kill_then_finish(empty_graph, settings, args, env, points, tmp_path)
    assert snapshot(empty_graph, db) == clean
    # The last run still had work (only that): the kills lost nothing committed.
    assert 0 < json.loads(logs[-1].strip().splitlines()[-1])["embedded"] < 310
