"""How many candidates the search asks the vector index for, measured on the index itself.

HNSW's own top 10 misses true neighbours, and how many depends on the index: its size, its
segments (graph/population.py), the data. So the candidate count (fetch) is measured once the
index is online rather than set by hand: sample stored intention vectors (seeded), turn each into
an unseen-like query, find its exact top 10 by streaming every indexed vector from Neo4j in
batches (memory bounded by one batch), and take the smallest fetch whose recall@10 reaches the
target. The result is one `(:MindCalibration)` node (graph/calibration.py) every API process reads.

Queries: the sampled vector plus Gaussian noise of norm about NOISE (0.5), renormalised: cosine
about 0.89 to its source, near it but not on it, as a new text about the same need lands (the same
noise as the benchmark's recall measure, benchmarks/paper_scale.py). The source itself is left out
of the truth and of the index's answer: a real unseen text has no stored twin to find, and that
easy hit would flatter recall.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from neo4j import Driver

from graph import calibration as q
from graph.aio import AsyncGraph
from graph.driver import read, write
from graph.schema import INTENTION_VECTOR_INDEX, await_indexes, vector_indexes
from mindkb.errors import MindError

FETCHES = (10, 20, 50, 100, 150, 250, 500)
TARGET = 0.97  # a margin over the serving goal of 0.95: a sample of 64 queries is itself noisy
SAMPLE = 64
SEED = 7
NOISE = 0.5
K = 10
PAGE = 10_000  # vectors per streamed batch: ~15 MB of float32 at 384 dimensions
ID_PAGE = 50_000
# `mind embed` calibrates when the index holds at least MIN_VECTORS (below it HNSW is near exact
# and the setting's fetch is ample) and no calibration exists or the index grew or shrank by more
# than REGROW_SHARE since the last one.
MIN_VECTORS = 10_000
REGROW_SHARE = 0.2

# (vectors, dimensions) -> (population buffer MiB, "setting" or "chosen")
Population = Callable[[int, int], tuple[float, str]]


def index_dimensions(driver: Driver, database: str, wait_seconds: int = 600) -> int:
    """The intention index's dimensions once it is online; a clear error when there is none."""
    write(driver, database, await_indexes, wait_seconds)
    info = read(driver, database, vector_indexes).get(INTENTION_VECTOR_INDEX)
    if info is None:
        raise MindError(f"no vector index {INTENTION_VECTOR_INDEX}: run `mind init` and `mind embed` first")
    if info["state"] != "ONLINE":
        raise MindError(f"vector index {INTENTION_VECTOR_INDEX} is {info['state']}, not ONLINE")
    return int(info["options"]["indexConfig"]["vector.dimensions"])


def sample_ids(driver: Driver, database: str, count: int, n: int, seed: int) -> list[str]:
    """`n` ids of intentions with a vector at seeded positions of the id order (ids only are streamed)."""
    rng = np.random.default_rng(seed)
    wanted = np.sort(rng.choice(count, min(n, count), replace=False))
    picked: list[str] = []
    after, seen, at = "", 0, 0
    while at < len(wanted) and (ids := read(driver, database, q.embedded_intention_ids, after, ID_PAGE)):
        while at < len(wanted) and wanted[at] < seen + len(ids):
            picked.append(ids[int(wanted[at]) - seen])
            at += 1
        seen += len(ids)
        after = ids[-1]
    return picked


def stream_vectors(driver: Driver, database: str, dimensions: int, page: int = PAGE
                   ) -> Iterator[tuple[list[str], np.ndarray]]:
    """Every indexed intention vector, one id-ordered batch at a time: (ids, float32 matrix).
    A vector of other dimensions (an older model's) is not in the index and is left out."""
    after = ""
    while rows := read(driver, database, q.embedded_intention_vectors, after, page):
        after = rows[-1]["id"]
        rows = [r for r in rows if len(r["embedding"]) == dimensions]
        if rows:
            yield [r["id"] for r in rows], np.asarray([r["embedding"] for r in rows], dtype=np.float32)


def unit(m: np.ndarray) -> np.ndarray:
    return (m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def noisy_queries(vectors: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """Each vector plus Gaussian noise of expected norm `noise`, renormalised."""
    rng = np.random.default_rng(seed + 1)
    g = rng.standard_normal(vectors.shape).astype(np.float32) / np.sqrt(vectors.shape[1])
    return unit(unit(vectors) + noise * g)


def exact_top(queries: np.ndarray, exclude: Sequence[str], batches: Iterator[tuple[list[str], np.ndarray]],
              k: int = K) -> list[set[str]]:
    """Per query, the ids of its k most cosine-similar vectors (query i's `exclude[i]` left out),
    merged batch by batch so only one batch is held at a time."""
    nq = len(queries)
    best_scores = np.full((nq, k), -np.inf, dtype=np.float32)
    best_ids = np.full((nq, k), "", dtype=object)
    rows = np.arange(nq)[:, None]
    for ids, matrix in batches:
        sims = queries @ unit(matrix).T
        position = {key: j for j, key in enumerate(ids)}
        for i, key in enumerate(exclude):
            if key in position:
                sims[i, position[key]] = -np.inf
        take = min(k, sims.shape[1])
        top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        scores = np.concatenate([best_scores, sims[rows, top]], axis=1)
        names = np.concatenate([best_ids, np.asarray(ids, dtype=object)[top]], axis=1)
        keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_scores, best_ids = scores[rows, keep], names[rows, keep]
    return [{key for key, s in zip(best_ids[i], best_scores[i], strict=True) if s > -np.inf} for i in range(nq)]


def recall_table(driver: Driver, database: str, queries: np.ndarray, exclude: Sequence[str],
                 truth: list[set[str]], fetches: Sequence[int], k: int = K) -> dict[int, dict]:
    """Per fetch: mean recall@k of the index's answer (the excluded source dropped) and ms per query."""
    table: dict[int, dict] = {}
    embeddings = queries.tolist()
    for fetch in sorted(set(fetches)):
        t0 = time.perf_counter()
        # One more than fetch: the query's own source is in the index, a real unseen text's is not.
        answers = read(driver, database, q.nearest_intention_ids_batch, embeddings, fetch + 1)
        ms = (time.perf_counter() - t0) * 1000 / max(1, len(embeddings))
        scores = [len(set([a for a in got if a != src][:k]) & want) / max(1, len(want))
                  for got, src, want in zip(answers, exclude, truth, strict=True)]
        table[fetch] = {"recall_at_10": round(float(np.mean(scores)), 4), "ms_per_query": round(ms, 2)}
    return table


def choose(table: dict[int, dict], target: float) -> tuple[int, bool]:
    """The smallest fetch whose recall reaches the target; else the largest measured (not met)."""
    for fetch in sorted(table):
        if table[fetch]["recall_at_10"] >= target:
            return fetch, True
    return max(table), False


def _index_size(driver: Driver, database: str) -> tuple[int, int]:
    """(dimensions, vectors) of the intention index once it is online."""
    return index_dimensions(driver, database), read(driver, database, q.count_embedded_intentions)


def calibrate(driver: Driver, database: str, *, sample: int = SAMPLE, seed: int = SEED, noise: float = NOISE,
              fetches: Sequence[int] = FETCHES, target: float = TARGET,
              population: Population | None = None, record: bool = True,
              size: tuple[int, int] | None = None) -> dict:
    """Measure recall@10 of the intention index at each fetch, choose one, and record it in the graph.

    `population(vectors, dimensions)`: the index's population buffer (MiB) and where it came from
    (graph/population.py's `chosen_buffer_mb`), kept with the record. `size`: (dimensions, vectors)
    when the caller has already read them (`_index_size`) for an online index."""
    if not fetches or min(fetches) < K or max(fetches) > 5000:
        raise MindError(f"calibration fetches must lie in {K}..5000")
    if not 1 <= sample <= 1000:
        raise MindError("calibration sample must lie in 1..1000")
    started = time.perf_counter()
    dimensions, count = size or _index_size(driver, database)

    if count <= K:
        raise MindError(f"the intention index holds {count} vectors; calibration needs more than {K}")
    ids = sample_ids(driver, database, count, sample, seed)
    sources = [r for r in read(driver, database, q.intention_vectors_by_id, ids) if len(r["embedding"]) == dimensions]
    if not sources:
        raise MindError(f"no sampled intention vector has the index's {dimensions} dimensions: run `mind embed`")
    ids = [r["id"] for r in sources]
    queries = noisy_queries(np.asarray([r["embedding"] for r in sources], dtype=np.float32), noise, seed)
    t0 = time.perf_counter()
    truth = exact_top(queries, ids, stream_vectors(driver, database, dimensions))
    exact_s = time.perf_counter() - t0
    table = recall_table(driver, database, queries, ids, truth, fetches)
    fetch, met = choose(table, target)
    buffer_mb, buffer_from = population(count, dimensions) if population else (None, None)
    result = {
        "index": INTENTION_VECTOR_INDEX, "fetch": fetch, "target": target, "met": met,
        "recall_by_fetch": {str(f): row["recall_at_10"] for f, row in table.items()},
        "ms_per_query_by_fetch": {str(f): row["ms_per_query"] for f, row in table.items()},
        "sample": len(ids), "noise": noise, "seed": seed, "vectors": count, "dimensions": dimensions,
        "exact_s": round(exact_s, 2), "seconds": round(time.perf_counter() - started, 2),
        "population_buffer_mb": buffer_mb, "population_buffer_from": buffer_from,
    }
    if record:
        write(driver, database, q.record_calibration, INTENTION_VECTOR_INDEX, to_props(result))
    return result


def to_props(result: dict) -> dict:
    """The result as node properties (lists for the table; no maps, no nulls)."""
    fetches = sorted(int(f) for f in result["recall_by_fetch"])
    props = {
        "fetch": result["fetch"], "target": result["target"], "met": result["met"], "fetches": fetches,
        "recalls": [result["recall_by_fetch"][str(f)] for f in fetches],
        "msPerQuery": [result["ms_per_query_by_fetch"][str(f)] for f in fetches],
        "sample": result["sample"], "noise": result["noise"], "seed": result["seed"],
        "vectors": result["vectors"], "dimensions": result["dimensions"], "exactSeconds": result["exact_s"],
        "seconds": result["seconds"], "populationBufferMb": result["population_buffer_mb"],
        "populationBufferFrom": result["population_buffer_from"],
    }
    return {k: v for k, v in props.items() if v is not None}


def from_props(props: dict) -> dict:
    """A recorded calibration in the shape `calibrate` returns (plus when it was measured)."""
    fetches = props.get("fetches") or []
    return {
        "index": props["index"], "fetch": props["fetch"], "target": props.get("target"), "met": props.get("met"),
        "recall_by_fetch": {str(f): r for f, r in zip(fetches, props.get("recalls") or [], strict=False)},
        "ms_per_query_by_fetch": {str(f): m for f, m in zip(fetches, props.get("msPerQuery") or [], strict=False)},
        "sample": props.get("sample"), "noise": props.get("noise"), "seed": props.get("seed"),
        "vectors": props.get("vectors"), "dimensions": props.get("dimensions"),
        "exact_s": props.get("exactSeconds"), "seconds": props.get("seconds"),
        "population_buffer_mb": props.get("populationBufferMb"),
        "population_buffer_from": props.get("populationBufferFrom"), "measured_at": props.get("measuredAt"),
    }


def recorded(driver: Driver, database: str) -> dict | None:
    """The intention index's recorded calibration, or None."""
    props = read(driver, database, q.read_calibration, INTENTION_VECTOR_INDEX)
    return from_props(props) if props else None


def due(previous: dict | None, vectors: int, min_vectors: int = MIN_VECTORS) -> str | None:
    """Why `mind embed` should calibrate now (None: it should not): the rule of MIN_VECTORS and REGROW_SHARE."""
    if vectors < min_vectors:
        return None
    if previous is None or not previous.get("vectors"):
        return "no calibration yet"
    then = previous["vectors"]
    if abs(vectors - then) > REGROW_SHARE * then:
        return f"the index went from {then} to {vectors} vectors"
    return None


def calibrate_if_due(driver: Driver, database: str, population: Population | None = None,
                     min_vectors: int = MIN_VECTORS) -> dict:
    """After `mind embed`: calibrate when `due` says so; the summary says what was done and why."""
    dimensions, vectors = _index_size(driver, database)
    reason = due(recorded(driver, database), vectors, min_vectors)
    if reason is None:
        return {"calibrated": False, "vectors": vectors}
    return {"calibrated": True, "reason": reason,
            **calibrate(driver, database, population=population, size=(dimensions, vectors))}


async def read_calibrated_fetch(graph: AsyncGraph) -> int | None:
    """The fetch the last calibration chose for the intention index (None: never calibrated).
    One read; an API process keeps the value rather than reading it per request."""
    props = await graph.read(q.read_calibration_async, INTENTION_VECTOR_INDEX)
    return int(props["fetch"]) if props and props.get("fetch") else None
