"""The intention vector index rebuilt with other HNSW settings over the same stored vectors.

For each setting (quantization, m, ef_construction) the index is dropped and built again, then
measured: build time, recall@10 by fetch (retrieval/calibrate.py's noisy queries against exact
search; nothing recorded), and the raw filtered query's p50 at fetch 100 over 300 noisy queries.
Ratios compare each setting with the first. Afterwards the index is built once more with the
settings `mind` uses on this server (graph/schema.py `vector_index_config`), so the graph is left as
it was found. `--base` starts the local server of a `make bench-small` (or `benchmarks.neo4j_versions`)
home, restarted with the population buffer the bulk load would choose for its vectors (graph/population.py);
without it the configured server is used as it runs. The graph must be loaded and embedded.

  python -m benchmarks.vector_index --json --base .cache/bench-small \\
    --settings 'false,16,100;true,16,100;true,16,64'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.neo4j_versions import environment
from graph import calibration, queries, schema
from graph.aio import AsyncGraph, make_async_driver
from graph.driver import make_driver, read, write
from graph.localdb import LocalNeo4j
from graph.population import chosen_buffer_mb, with_population_buffer
from mindkb.settings import NEO4J_VERSION, Settings, get_settings
from retrieval.calibrate import calibrate, index_dimensions
from retrieval.search import ACCEPTED


def parse(text: str) -> list[dict]:
    """'true,16,100;false,12,64' as [{quantization, m, ef_construction}, ...]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        q, m, ef = (x.strip() for x in part.split(","))
        if q not in ("true", "false"):
            raise SystemExit(f"--settings: quantization must be true or false, not {q!r}")
        out.append({"quantization": q == "true", "m": int(m), "ef_construction": int(ef)})
    if not out:
        raise SystemExit("--settings: at least one setting, e.g. 'true,16,100'")
    return out


async def raw_ms(settings: Settings, vectors: list[list[float]]) -> list[float]:
    """The search's own statement (graph/queries.py) at fetch 100, k 10, ACCEPTED, one call at a time."""
    driver = make_async_driver(settings)
    graph = AsyncGraph(driver, settings.neo4j_database)
    out = []
    try:
        for i, vector in enumerate(vectors):
            t0 = time.perf_counter()
            await graph.read(queries.search_intentions, vector, 10, 100, None, list(ACCEPTED))
            if i >= 30:  # the first calls warm the plan and the pages
                out.append((time.perf_counter() - t0) * 1000)
    finally:
        await driver.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", default="false,16,100;true,16,100;true,16,64",
                    help="quantization,m,ef_construction per setting, ';'-separated (the first is the baseline)")
    ap.add_argument("--base", type=Path, default=None, help="a benchmarks.neo4j_versions home to start")
    ap.add_argument("--queries", type=int, default=300, help="raw queries timed per setting")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings_list = parse(args.settings)
    local = None
    if args.base is not None:
        version = os.environ.get("MIND_NEO4J_VERSION", NEO4J_VERSION)
        for name in ("NEO4J_PASSWORD", "MIND_NEO4J_PASSWORD"):
            os.environ.pop(name, None)  # the home's own generated password
        os.environ.update(environment(version, args.base.resolve()))

    settings = get_settings()
    if args.base is not None:
        local = LocalNeo4j(settings)
        local.start()
    out: dict = {"benchmark": "vector_index", "load_average_start": [round(x, 2) for x in os.getloadavg()],
                 "results": []}
    try:
        if local is not None:  # rebuilt as the bulk load builds: with the population buffer chosen for the size
            with make_driver(settings) as driver:
                count = read(driver, settings.neo4j_database, calibration.count_embedded_intentions)
                dims = index_dimensions(driver, settings.neo4j_database)
            out["population_buffer_mb"], out["population_buffer_from"] = chosen_buffer_mb(settings, count, dims)
            local.stop()
            settings = with_population_buffer(settings, count, dims)
            local = LocalNeo4j(settings)
            local.start()
        with make_driver(settings) as driver:
            db = settings.neo4j_database
            dims = index_dimensions(driver, db)
            out["vectors"] = read(driver, db, calibration.count_embedded_intentions)
            out["server"] = read(driver, db, schema.server_version)
            rng = np.random.default_rng(1)
            rows = read(driver, db, calibration.embedded_intention_vectors, "", args.queries)
            base = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
            noisy = base + 0.5 * rng.standard_normal(base.shape).astype(np.float32) / np.sqrt(dims)
            vectors = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).tolist()

            def rebuild(config: dict) -> float:
                """Seconds to drop the intention index and build it online again with `config`."""
                write(driver, db, schema.drop_vector_index, schema.INTENTION_VECTOR_INDEX)
                t0 = time.perf_counter()
                write(driver, db, schema.create_vector_index, schema.INTENTION_VECTOR_INDEX, "Intention", dims, config)
                write(driver, db, schema.await_indexes, 7200)
                return time.perf_counter() - t0

            for config in settings_list:
                built = rebuild(config)
                table = calibrate(driver, db, record=False, fetches=(10, 50, 100, 150))
                ms = asyncio.run(raw_ms(settings, vectors))
                row = {**config, "build_s": round(built, 1), "recall_by_fetch": table["recall_by_fetch"],
                       "raw_fetch_100_p50_ms": round(statistics.median(ms), 2)}
                first = out["results"][0] if out["results"] else row
                row["build_over_first"] = round(row["build_s"] / first["build_s"], 2)
                row["raw_over_first"] = round(row["raw_fetch_100_p50_ms"] / first["raw_fetch_100_p50_ms"], 2)
                out["results"].append(row)
                print(f"{config}: built in {built:.1f} s, recall {table['recall_by_fetch']}", file=sys.stderr)
            restored = schema.vector_index_config(out["server"])
            out["restored"] = {**restored, "build_s": round(rebuild(restored), 1)}
    finally:
        if local is not None:
            local.stop()
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
