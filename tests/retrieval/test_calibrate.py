"""The search's candidate count measured on a real vector index of random unit vectors."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from neo4j import Driver, ManagedTransaction

from api.fetch import SearchFetch
from graph.aio import AsyncGraph, make_async_driver
from graph.calibration import delete_calibration, record_calibration
from graph.driver import read, write, write_batches
from graph.embeddings import set_intention_embeddings
from graph.intentions import merge_intentions
from graph.products import merge_products
from graph.schema import INTENTION_VECTOR_INDEX
from mindkb.settings import Settings
from retrieval import calibrate as cal
from tests.conftest import reset_graph

N = 3000
DIMS = 384
FETCHES = (10, 20, 50, 100, 250, 500)


def _calibrations(tx: ManagedTransaction) -> list[dict]:
    return [r.data() for r in tx.run("MATCH (c:MindCalibration) RETURN c.index AS index, c.seed AS seed")]


@pytest.fixture(scope="module")
def vectors(driver: Driver, settings: Settings) -> np.ndarray:
    """N random unit vectors as intentions of one co-bought pair (ids in the vectors' order)."""
    reset_graph(driver, settings)
    db = settings.neo4j_database
    write_batches(driver, db, merge_products, [{"asin": "B0CALIB001", "props": {}},
                                               {"asin": "B0CALIB002", "props": {}}], 10)
    rng = np.random.default_rng(3)
    m = rng.standard_normal((N, DIMS)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    ids = [f"cal{i:05d}" for i in range(N)]
    write_batches(driver, db, merge_intentions,
                  [{"id": i, "asinA": "B0CALIB001", "asinB": "B0CALIB002", "relation": "UsedFor",
                    "props": {"text": i, "status": "ACCEPTED"}} for i in ids], 1000)
    rows = [{"key": k, "embedding": v} for k, v in zip(ids, m.tolist(), strict=True)]
    with driver.session(database=db) as session:
        for start in range(0, N, 500):
            session.execute_write(set_intention_embeddings, rows[start:start + 500], "random")
    return m


def test_exact_top_streams_batches_to_the_brute_force_answer(driver, settings, vectors):
    db = settings.neo4j_database
    queries = cal.noisy_queries(vectors[:5], cal.NOISE, 1)
    exclude = [f"cal{i:05d}" for i in range(5)]
    got = cal.exact_top(queries, exclude, cal.stream_vectors(driver, db, DIMS, page=777))
    sims = queries @ vectors.T
    sims[np.arange(5), np.arange(5)] = -np.inf  # each query's source left out
    want = [{f"cal{j:05d}" for j in np.argsort(-row)[:10]} for row in sims]
    assert got == want
    # The noise keeps a query near its source: cosine about 1 / sqrt(1 + 0.5^2).
    assert np.allclose((queries * vectors[:5]).sum(axis=1), 0.894, atol=0.03)


def test_calibration_chooses_the_smallest_fetch_reaching_the_target_and_records_it(driver, settings, vectors):
    db = settings.neo4j_database
    result = cal.calibrate(driver, db, fetches=FETCHES, seed=11, population=lambda n, d: (float(n), "setting"))
    table = [result["recall_by_fetch"][str(f)] for f in FETCHES]
    assert table == sorted(table), table  # more candidates never find fewer true neighbours
    assert table[-1] >= cal.TARGET and all(0 <= r <= 1 for r in table)
    fetch = result["fetch"]
    assert result["met"] and result["recall_by_fetch"][str(fetch)] >= cal.TARGET
    assert all(result["recall_by_fetch"][str(f)] < cal.TARGET for f in FETCHES if f < fetch)
    assert result["vectors"] == N and result["sample"] == cal.SAMPLE and result["dimensions"] == DIMS
    assert result["population_buffer_mb"] == float(N) and result["population_buffer_from"] == "setting"
    assert result["seconds"] >= result["exact_s"] > 0

    stored = cal.recorded(driver, db)
    assert stored["fetch"] == fetch and stored["recall_by_fetch"] == result["recall_by_fetch"]
    assert stored["seed"] == 11 and stored["measured_at"]

    async def api_read() -> int | None:
        async_driver = make_async_driver(settings)
        try:
            return await cal.read_calibrated_fetch(AsyncGraph(async_driver, db))
        finally:
            await async_driver.close()

    assert asyncio.run(api_read()) == fetch

    # A re-run replaces the record rather than adding one.
    again = cal.calibrate(driver, db, fetches=(10, 500), seed=12, sample=16)
    assert read(driver, db, _calibrations) == [{"index": "intention_embedding", "seed": 12}]
    stored = cal.recorded(driver, db)
    assert stored["fetch"] == again["fetch"] and set(stored["recall_by_fetch"]) == {"10", "500"}
    assert stored["sample"] == 16 and stored["population_buffer_mb"] is None


def test_calibration_is_due_when_the_index_is_new_or_changed_size(driver, settings, vectors):
    assert cal.due(None, 9_999) is None  # below MIN_VECTORS: nothing to measure
    assert cal.due(None, 10_000) == "no calibration yet"
    assert cal.due({"vectors": 10_000}, 12_000) is None  # grew by exactly the share
    assert "12001" in cal.due({"vectors": 10_000}, 12_001)
    assert "79999" in cal.due({"vectors": 100_000}, 79_999)
    db = settings.neo4j_database
    cal.calibrate(driver, db, fetches=(10, 500), sample=8)
    assert cal.calibrate_if_due(driver, db, min_vectors=100) == {"calibrated": False, "vectors": N}
    assert cal.calibrate_if_due(driver, db) == {"calibrated": False, "vectors": N}


def test_mind_db_calibrate_prints_and_records_the_choice(driver, settings, vectors, cli):
    proc = cli("db", "calibrate", "--json", "--sample", "16")
    assert proc.returncode == 0, proc.stderr
    out = proc.summary
    assert out["sample"] == 16 and set(out["recall_by_fetch"]) == {str(f) for f in cal.FETCHES}
    assert out["population_buffer_from"] == "chosen" and out["population_buffer_mb"] >= 1
    assert cal.recorded(driver, settings.neo4j_database)["fetch"] == out["fetch"]


def test_calibration_needs_an_index_with_vectors(empty_graph, settings, cli):
    proc = cli("db", "calibrate", "--json")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("mind: the intention index holds 0 vectors")


def test_the_api_asks_the_index_for_the_calibrated_count_unless_the_setting_is_set(driver, settings, vectors):
    db = settings.neo4j_database
    plain = settings.model_copy(update={"api_search_min_fetch": 150})
    plain.model_fields_set.discard("api_search_min_fetch")  # as when MIND_API_SEARCH_MIN_FETCH is unset
    chosen = Settings(**{**settings.model_dump(), "api_search_min_fetch": 99})

    async def least(s: Settings) -> int:
        async_driver = make_async_driver(s)
        try:
            return await SearchFetch(s).least(AsyncGraph(async_driver, db))
        finally:
            await async_driver.close()

    write(driver, db, delete_calibration, INTENTION_VECTOR_INDEX)
    assert asyncio.run(least(plain)) == 150  # never calibrated: the setting's default
    write(driver, db, record_calibration, INTENTION_VECTOR_INDEX, {"fetch": 37, "vectors": N})
    assert asyncio.run(least(plain)) == 37  # the index's own measure
    assert asyncio.run(least(chosen)) == 99  # MIND_API_SEARCH_MIN_FETCH set: the user's choice wins
