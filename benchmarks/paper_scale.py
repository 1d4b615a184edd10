"""The paper's scale: load time, API latency under 1/8/32 clients next to raw Cypher, recall@10.

Builds a synthetic knowledge base shaped like the paper's (107,215 products, 126,142 co-buy records,
1,264,441 intentions over the 20 relations in the paper's proportions),
either through the transactional graph/ writers with the vector indexes created before the load
(`--load incremental`, the path for updates) or as CSVs through `neo4j-admin database import`
into the local server, then the indexes built once (`--load bulk`, graph/bulk.py). Vectors are random unit vectors with the
structure text embeddings have (a relation and a topic component plus noise), so nearest
neighbours mean something; the embedding cost of the data is measured by benchmarks/embed.py.
Then starts `mind serve` on 127.0.0.1 and times `recommend` and `searchIntentions` (the API embeds
each query text: every text is used once, so no cache helps) against the same filtered
queryNodes statement with a precomputed vector and against neo4j-graphrag's VectorRetriever
(same index, same MiniLM), and measures recall@10 of the vector index against exact numpy search.
The bulk path builds the indexes with the population buffer graph/population.py chooses for the
graph's size (unless MIND_NEO4J_VECTOR_POPULATION_BUFFER_MB is set); once the indexes are online
the search's candidate count is calibrated (retrieval/calibrate.py), and the API is served and
measured at that count. Prints one JSON object, with the goals checked.

  python -m benchmarks.paper_scale --json --scale 1.0 --wipe      # full scale
  python -m benchmarks.paper_scale --json --scale 0.005 --wipe    # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from neo4j import Driver

from benchmarks.query import RECOMMEND, SEARCH, pct, serving, time_graphrag
from benchmarks.synthetic import WORDS, prepare_empty, refuse_loaded, sentence
from embedding.encoder import TextEncoder
from embedding.models import embedding_dimensions, load_sentence_model
from graph import bulk, queries
from graph.aio import AsyncGraph, make_async_driver
from graph.driver import connect, write_batches
from graph.embeddings import set_intention_embeddings, set_intention_embeddings_plain, set_product_embeddings
from graph.intentions import merge_intentions
from graph.population import chosen_buffer_mb, with_population_buffer
from graph.products import merge_co_buys, merge_products
from graph.schema import apply_schema, await_indexes
from mindkb.ids import intention_id, pair_key
from mindkb.relations import RELATIONS
from mindkb.settings import Settings, get_settings
from retrieval.calibrate import calibrate, unit
from retrieval.search import ACCEPTED

REPO = Path(__file__).resolve().parents[1]

PAPER = {"products": 107_215, "co_buys": 126_142, "intentions": 1_264_441}
STATUS_SHARES = (("ACCEPTED", 0.70), ("REJECTED", 0.20), ("GENERATED", 0.10))
TOPICS_AT_FULL_SCALE = 1000
VECTOR_WRITERS = {"procedure": set_intention_embeddings, "set": set_intention_embeddings_plain}

ACTIVITIES = ("camping", "hiking", "a road trip", "yoga", "running", "cycling", "baking", "gardening",
              "fishing", "painting", "home office", "a birthday party", "winter travel", "a beach day",
              "cooking dinner", "cleaning the kitchen", "a baby shower", "gaming", "studying", "skiing")
NEEDS = ("keep drinks cold", "stay warm", "protect my phone", "carry my gear", "light the tent",
         "organise my desk", "make coffee", "listen to music", "store leftovers", "clean up quickly",
         "take photos", "charge devices", "sleep better", "stay dry", "cook outdoors", "give a gift")


PREFIXES = ("", "I need to ", "help me ", "the best way to ", "looking for a way to ")


def query_texts(seed: int) -> list[str]:
    """Short, realistic and all distinct (1,636 texts), shuffled: no text repeats within a run."""
    texts = [f"{pre}{need} for {act}" for pre, need, act in itertools.product(PREFIXES, NEEDS, ACTIVITIES)]
    texts += [f"{act} essentials" for act in ACTIVITIES] + [f"something to {need}" for need in NEEDS]
    random.Random(seed).shuffle(texts)
    return texts


def sizes(scale: float) -> dict:
    return {k: max(20, round(v * scale)) for k, v in PAPER.items()}


class Synthetic:
    """The whole synthetic KB, deterministic from the seed; vectors kept for the exact search."""

    def __init__(self, scale: float, dims: int, seed: int):
        n = sizes(scale)
        rng = np.random.default_rng(seed)
        self.rng = random.Random(seed)
        self.asins = [f"S{i:09d}" for i in range(n["products"])]
        topics = max(4, round(TOPICS_AT_FULL_SCALE * scale))
        topic_vecs = unit(rng.standard_normal((topics, dims)))
        rel_vecs = unit(rng.standard_normal((len(RELATIONS), dims)))
        self.product_topic = rng.integers(0, topics, n["products"])
        noise = rng.standard_normal((n["products"], dims)).astype(np.float32) / np.sqrt(dims)
        self.product_vecs = unit(0.8 * topic_vecs[self.product_topic] + 0.6 * noise)
        # Co-buys: distinct unordered pairs of distinct products, mostly within a topic.
        pairs: set[tuple[str, str]] = set()
        by_topic = [np.flatnonzero(self.product_topic == t) for t in range(topics)]
        while len(pairs) < n["co_buys"]:
            a = int(rng.integers(0, n["products"]))
            group = by_topic[self.product_topic[a]]
            b = int(group[rng.integers(0, len(group))]) if rng.random() < 0.8 else int(rng.integers(0, n["products"]))
            if a != b:
                pairs.add(pair_key(self.asins[a], self.asins[b]))
        self.pairs = sorted(pairs)
        # Intentions: relations in the paper's proportions, spread over the pairs (about 10 each).
        weights = np.array([r.paper_accepted for r in RELATIONS], dtype=float)
        counts = np.floor(weights / weights.sum() * n["intentions"]).astype(int)
        counts[np.argsort(-weights)[: n["intentions"] - counts.sum()]] += 1
        self.relation = rng.permutation(np.repeat(np.arange(len(RELATIONS)), counts))
        self.pair_of = np.sort(rng.integers(0, len(self.pairs), n["intentions"]))  # batches follow pairs
        shares = np.array([s for _, s in STATUS_SHARES])
        self.status = rng.choice(len(STATUS_SHARES), n["intentions"], p=shares / shares.sum())
        asin_ix = {a: i for i, a in enumerate(self.asins)}
        pair_topic = np.array([self.product_topic[asin_ix[a]] for a, _ in self.pairs])
        vecs = np.empty((n["intentions"], dims), dtype=np.float32)
        for start in range(0, n["intentions"], 100_000):
            sl = slice(start, start + 100_000)
            noise = rng.standard_normal((len(self.relation[sl]), dims)).astype(np.float32) / np.sqrt(dims)
            vecs[sl] = unit(0.35 * rel_vecs[self.relation[sl]] + 0.6 * topic_vecs[pair_topic[self.pair_of[sl]]]
                            + 0.7 * noise)
        self.intention_vecs = vecs
        self.ids = [intention_id(*self.pairs[p], RELATIONS[r].name, "synthetic", "v1", str(i))
                    for i, (p, r) in enumerate(zip(self.pair_of, self.relation, strict=True))]

    def product_rows(self) -> Iterator[dict]:
        for a in self.asins:
            yield {"asin": a, "props": {"title": f"{self.rng.choice(WORDS)} {self.rng.choice(WORDS)} item {a}",
                                        "brand": self.rng.choice(WORDS).title()}}

    def intention_rows(self, start: int, stop: int) -> list[dict]:
        rows = []
        for i in range(start, stop):
            a, b = self.pairs[self.pair_of[i]]
            rel = RELATIONS[self.relation[i]]
            rows.append({"id": self.ids[i], "asinA": a, "asinB": b, "relation": rel.name,
                         "props": {"text": sentence(self.rng, rel.template),
                                   "status": STATUS_SHARES[self.status[i]][0], "model": "synthetic",
                                   "promptVersion": "v1", "source": "synthetic"}})
        return rows


def load(driver: Driver, database: str, kb: Synthetic, model: str, batch: int, threads: int, vector_write: str) -> dict:
    """Products, co-buys, then intentions and their vectors in `threads` parallel writers."""
    timings = {}
    t0 = time.perf_counter()
    write_batches(driver, database, merge_products, kb.product_rows(), batch)

    def product_job(start: int) -> None:
        rows = [{"key": k, "embedding": v} for k, v in
                zip(kb.asins[start:start + batch], kb.product_vecs[start:start + batch].tolist(), strict=True)]
        with driver.session(database=database) as session:
            session.execute_write(set_product_embeddings, rows, model)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(product_job, range(0, len(kb.asins), batch)))
    timings["products_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    write_batches(driver, database, merge_co_buys, ({"a": a, "b": b, "source": "synthetic"} for a, b in kb.pairs),
                  batch)
    timings["co_buys_s"] = time.perf_counter() - t1

    set_vectors = VECTOR_WRITERS[vector_write]

    def job(start: int) -> int:
        stop = min(start + batch, len(kb.ids))
        rows = kb.intention_rows(start, stop)
        vectors = [{"key": k, "embedding": v}
                   for k, v in zip(kb.ids[start:stop], kb.intention_vecs[start:stop].tolist(), strict=True)]
        with driver.session(database=database) as session:
            session.execute_write(merge_intentions, rows)
            session.execute_write(set_vectors, vectors, model)
        return stop - start

    t2 = time.perf_counter()
    starts = range(0, len(kb.ids), batch)
    with ThreadPoolExecutor(threads) as pool:
        done = 0
        for n in pool.map(job, starts):
            done += n
            if done % (batch * 20) < batch:
                print(f"intentions {done}/{len(kb.ids)} {done / (time.perf_counter() - t2):.0f}/s", file=sys.stderr)
    timings["intentions_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    with driver.session(database=database) as session:
        session.execute_write(await_indexes, 3600)
    timings["await_indexes_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    return {"path": "incremental", **{k: round(v, 1) for k, v in timings.items()},
            "products_per_s": round(len(kb.asins) / timings["products_s"]),
            "intentions_per_s": round(len(kb.ids) / (timings["intentions_s"] + timings["await_indexes_s"])),
            "batch": batch, "threads": threads, "vector_write": vector_write}


PRODUCT_TYPES = {"title": "string", "brand": "string"}
INTENTION_TYPES = {"text": "string", "status": "string", "model": "string", "promptVersion": "string",
                   "source": "string"}


def load_bulk(settings: Settings, kb: Synthetic, model: str, dims: int, folder: Path, wipe: bool) -> dict:
    """CSVs for neo4j-admin, the import into the local server, then the indexes built once."""
    if not settings.uses_local_server:
        raise SystemExit("benchmark: --load bulk imports into the local server (`mind db start`); "
                         "use --load incremental for a remote one")
    with connect(settings) as driver:
        refuse_loaded(driver, settings.neo4j_database, wipe)
    # The indexes are built once over the imported vectors: the buffer fits their number (graph/population.py).
    buffer_mb, buffer_from = chosen_buffer_mb(settings, len(kb.ids), dims)
    settings = with_population_buffer(settings, len(kb.ids), dims)
    t0 = time.perf_counter()
    files = bulk.BulkFiles(folder)
    files.relations()
    files.products(kb.product_rows(), PRODUCT_TYPES, kb.product_vecs, model)
    files.co_buys(kb.pairs, "synthetic")
    step = 50_000
    rows = (row for start in range(0, len(kb.ids), step)
            for row in kb.intention_rows(start, min(start + step, len(kb.ids))))
    files.intentions(rows, INTENTION_TYPES, kb.intention_vecs, model)
    csv_s = time.perf_counter() - t0
    print(f"bulk CSVs written in {csv_s:.0f} s: {files.counts}", file=sys.stderr)
    report = bulk.load(settings, files, dims, wipe=wipe)
    total = time.perf_counter() - t0
    return {"path": "bulk", "csv_s": round(csv_s, 1), "import_s": report["import_s"], "start_s": report["start_s"],
            "indexes_s": report["indexes_s"], "total_s": round(total, 1),
            "csv_gb": round(sum(f.stat().st_size for f in folder.glob("*.csv")) / 1e9, 2),
            "intentions_per_s": round(len(kb.ids) / total),
            "population_buffer_mb": buffer_mb, "population_buffer_from": buffer_from,
            "vector_index_config": report["schema"]["vector_index_config"]}


async def clients(concurrency: int, requests: int, seconds: float,
                  call: Callable[[int], Awaitable[object]]) -> tuple[list[float], int]:
    """`concurrency` workers share a budget of `requests` calls and `seconds`: (per-call ms, errors)."""
    out: list[float] = []
    errors = 0
    counter = itertools.count()
    deadline = time.perf_counter() + seconds

    async def worker():
        nonlocal errors
        while time.perf_counter() < deadline and (i := next(counter)) < requests:
            t0 = time.perf_counter()
            try:
                await call(i)
            except Exception as exc:  # counted, and the first one shown: the run goes on
                if not errors:
                    print(f"error: {exc!r}"[:500], file=sys.stderr)
                errors += 1
                continue
            out.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out, errors


def summary(ms: list[float], wall: float, errors: int = 0) -> dict:
    return {"n": len(ms), "p50": pct(ms, .5), "p99": pct(ms, .99), "per_s": round(len(ms) / wall, 1),
            "errors": errors}


async def latency(base_url: str, settings: Settings, texts: list[str], vectors: dict[str, list[float]],
                  levels: list[int], requests: int, seconds: float, api_fetch: int, warmup: int = 20) -> dict:
    """Per concurrency level: the two API calls over HTTP and the raw filtered vector query."""
    fresh = iter(itertools.cycle(texts))  # every API call embeds a text not seen before (until the pool wraps)
    driver = make_async_driver(settings)
    graph = AsyncGraph(driver, settings.neo4j_database)
    out: dict = {}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=120,
                                     limits=httpx.Limits(max_connections=max(levels))) as client:
            def http(query: str, timings: list[dict[str, float]] | None = None) -> Callable[[int], Awaitable[None]]:
                async def call(_i: int) -> None:
                    r = await client.post("/graphql", json={"query": query, "variables": {"t": next(fresh)}})
                    body = r.json()
                    assert r.status_code == 200 and not body.get("errors"), body
                    if timings is not None:
                        timings.append(server_timing(r.headers.get("server-timing", "")))
                return call

            async def raw(i: int) -> None:
                await graph.read(queries.search_intentions, vectors[texts[i % len(texts)]], 10, api_fetch,
                                 None, list(ACCEPTED))

            for _ in range(warmup):  # warm the pools, the model and the server's JIT and query plans
                await http(SEARCH)(0), await http(RECOMMEND)(0), await raw(0)
            for level in levels:
                row: dict = {}
                timings: dict[str, list[dict[str, float]]] = {"searchIntentions": [], "recommend": []}
                for name, call in (("raw_cypher", raw), ("searchIntentions", http(SEARCH, timings["searchIntentions"])),
                                   ("recommend", http(RECOMMEND, timings["recommend"]))):
                    t0 = time.perf_counter()
                    ms, errors = await clients(level, requests, seconds, call)
                    row[name] = summary(ms, time.perf_counter() - t0, errors)
                for name in ("searchIntentions", "recommend"):
                    row[f"{name}_over_raw_p50"] = round(row[name]["p50"] / row["raw_cypher"]["p50"], 2)
                for name, parts in timings.items():  # the server's own split (its Server-Timing header)
                    row[f"{name}_server_timing_p50"] = {
                        part: pct([t[part] for t in parts if part in t], .5)
                        for part in ("encode", "db", "graphql") if any(part in t for t in parts)}
                out[str(level)] = row
    finally:
        await driver.close()
    return out


def server_timing(header: str) -> dict[str, float]:
    """`Server-Timing: encode;dur=1.9, db;dur=6.8, graphql;dur=10.1` as {"encode": 1.9, ...} (ms)."""
    out = {}
    for part in header.split(","):
        name, _, ms = part.strip().partition(";dur=")
        if name and ms:
            out[name] = float(ms)
    return out


def search_profile(base_url: str, settings: Settings, texts: list[str], one: dict, n: int = 300) -> dict:
    """Where one client's searchIntentions p50 goes: the raw statement, the API's query encoder (the
    same model, backend and threads, in this process, unseen texts), and HTTP + GraphQL with nothing
    behind them (`{ __typename }`); `rest` is what remains (the over-fetch's result building, the
    worker-thread hop, the hits' fields). `floor_ratio`: search / raw if the rest were free. The
    server's own split of the same calls (its Server-Timing header, p50 of each part) comes with it:
    `outside_graphql_ms` is the client's p50 less the server's whole-operation p50 (HTTP, ASGI)."""
    encoder = TextEncoder.load(settings.embedding_model, settings.device, 1, 0, settings.embedding_backend,
                               settings.api_torch_threads, settings.cache_dir)
    for text in texts[:20]:
        encoder.encode_one(text)
    encode = []
    for text in texts[20:20 + n]:
        t0 = time.perf_counter()
        encoder.encode_one(text)
        encode.append((time.perf_counter() - t0) * 1000)
    floor = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for i in range(n + 20):
            t0 = time.perf_counter()
            r = client.post("/graphql", json={"query": "{ __typename }"})
            if i >= 20:
                floor.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
    raw, search = one["raw_cypher"]["p50"], one["searchIntentions"]["p50"]
    parts = {"raw_cypher_ms": raw, "encode_ms": pct(encode, .5), "http_graphql_floor_ms": pct(floor, .5)}
    fixed = parts["encode_ms"] + parts["http_graphql_floor_ms"]
    server = one.get("searchIntentions_server_timing_p50", {})
    inside = {f"server_{part}_ms": ms for part, ms in server.items()}
    if "graphql" in server:
        inside["outside_graphql_ms"] = round(search - server["graphql"], 2)
        inside["server_other_ms"] = round(server["graphql"] - server.get("encode", 0) - server.get("db", 0), 2)
    return {**parts, "rest_ms": round(search - raw - fixed, 2), "search_ms": search,
            "floor_ratio": round((raw + fixed) / raw, 2), "backend": settings.embedding_backend, **inside}


async def recall(settings: Settings, kb: Synthetic, queries_n: int, fetches: list[int], seed: int,
                 api_fetch: int) -> dict:
    """recall@10 of queryNodes(fetch) top 10 against exact cosine search over every intention vector."""
    fetches = sorted(set(fetches) | {api_fetch})
    rng = np.random.default_rng(seed + 1)
    picks = rng.choice(len(kb.ids), min(queries_n, len(kb.ids)), replace=False)
    noise = rng.standard_normal((len(picks), kb.intention_vecs.shape[1])).astype(np.float32)
    q = unit(kb.intention_vecs[picks] + 0.5 * noise / np.sqrt(kb.intention_vecs.shape[1]))
    t0 = time.perf_counter()
    exact = np.empty((len(q), 10), dtype=np.int64)
    for start in range(0, len(q), 100):
        sims = q[start:start + 100] @ kb.intention_vecs.T
        top = np.argpartition(-sims, 10, axis=1)[:, :10]
        exact[start:start + 100] = top
    exact_s = time.perf_counter() - t0
    truth = [{kb.ids[j] for j in row} for row in exact]
    driver = make_async_driver(settings)
    graph = AsyncGraph(driver, settings.neo4j_database)
    out = {"queries": len(q), "exact_numpy_s": round(exact_s, 1), "by_fetch": {}}
    try:
        sem = asyncio.Semaphore(4)
        for fetch in fetches:
            async def one(ix: int, fetch: int = fetch) -> float:
                async with sem:
                    got = await graph.read(queries.nearest_intention_ids, q[ix].tolist(), fetch)
                return len(truth[ix] & set(got[:10])) / 10

            t1 = time.perf_counter()
            scores = await asyncio.gather(*(one(ix) for ix in range(len(q))))
            out["by_fetch"][str(fetch)] = {"recall_at_10": round(float(np.mean(scores)), 4),
                                           "seconds": round(time.perf_counter() - t1, 1)}
    finally:
        await driver.close()
    # The headline: what searchIntentions gets (it asks the index for api_fetch, keeps 10).
    out["api_fetch"] = api_fetch
    out["recall_at_10"] = out["by_fetch"][str(api_fetch)]["recall_at_10"]
    return out


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the paper's sizes (1.0 = full)")
    ap.add_argument("--batch", type=int, default=5000, help="rows per UNWIND transaction")
    ap.add_argument("--threads", type=int, default=2, help="parallel intention writers")
    ap.add_argument("--load", choices=("bulk", "incremental"), default="bulk",
                    help="bulk: neo4j-admin import into the local server; incremental: transactions")
    ap.add_argument("--csv-dir", type=Path, default=None, help="bulk CSVs (default: MIND_DATA_DIR/bulk-paper-scale)")
    ap.add_argument("--vector-write", choices=sorted(VECTOR_WRITERS), default="procedure")
    ap.add_argument("--clients", default="1,8,32", help="concurrency levels")
    ap.add_argument("--requests", type=int, default=400, help="calls per level and operation (upper bound)")
    ap.add_argument("--seconds", type=float, default=30, help="time per level and operation (upper bound)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed calls of each kind first")
    ap.add_argument("--recall-queries", type=int, default=1000)
    ap.add_argument("--recall-fetch", default="10,20,50,100,150", help="queryNodes k values (the API's fetch is the headline)")
    ap.add_argument("--skip-load", action="store_true", help="the graph of the same --scale/--seed is loaded")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--wipe", action="store_true", help="allow deleting a non-empty database")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not 0 < args.scale <= 1.0:
        raise SystemExit("--scale must be in (0, 1]")
    settings = get_settings()
    dims = embedding_dimensions(settings.embedding_model)
    out: dict = {"benchmark": "paper_scale", "scale": args.scale, "cpus": os.cpu_count(),
                 "load_average_start": load_average()}
    t0 = time.perf_counter()
    kb = Synthetic(args.scale, dims, args.seed)
    out["graph"] = {"products": len(kb.asins), "co_buys": len(kb.pairs), "intentions": len(kb.ids),
                    "relations": len(RELATIONS), "dimensions": dims,
                    "statuses": {s: int((kb.status == i).sum()) for i, (s, _) in enumerate(STATUS_SHARES)}}
    out["generate_s"] = round(time.perf_counter() - t0, 1)
    print(f"generated {out['graph']} in {out['generate_s']} s", file=sys.stderr)
    out["neo4j"] = {"version": settings.neo4j_version, "local": settings.uses_local_server,
                    "heap": settings.neo4j_heap, "pagecache": settings.neo4j_pagecache}
    if not args.skip_load and args.load == "bulk":
        folder = args.csv_dir or settings.data_dir / "bulk-paper-scale"
        out["load"] = load_bulk(settings, kb, settings.embedding_model, dims, folder, args.wipe)
        for f in folder.glob("*.csv"):
            f.unlink()
    elif not args.skip_load:
        with connect(settings) as driver:
            prepare_empty(driver, settings.neo4j_database, args.wipe)
            apply_schema(driver, settings.neo4j_database, dims)  # vector indexes online before the load
            out["load"] = load(driver, settings.neo4j_database, kb, settings.embedding_model, args.batch,
                               args.threads, args.vector_write)
    if "load" in out:
        out["load_average_after_load"] = load_average()
        print(f"loaded: {out['load']}", file=sys.stderr)
    out["api_workers"] = settings.api_workers
    built = out.get("load", {})

    def population(_vectors: int, _dimensions: int) -> tuple[float, str]:
        return built["population_buffer_mb"], built["population_buffer_from"]  # what the load built with

    with connect(settings) as driver:
        out["calibration"] = calibrate(driver, settings.neo4j_database, seed=args.seed,
                                       population=population if built.get("population_buffer_mb") else None)
    print(f"calibrated: {out['calibration']}", file=sys.stderr)
    # The API serves at the calibrated count; searchIntentions(k: 10) asks for at least 4k (retrieval/search.py).
    os.environ["MIND_API_SEARCH_MIN_FETCH"] = str(out["calibration"]["fetch"])
    api_fetch = max(4 * 10, out["calibration"]["fetch"])

    texts = query_texts(args.seed)
    model = load_sentence_model(settings.embedding_model, settings.device)
    vectors = dict(zip(texts, model.encode(texts, normalize_embeddings=True).tolist(), strict=True))
    levels = [int(c) for c in args.clients.split(",")]
    with serving() as client:
        out["latency_ms"] = asyncio.run(latency(str(client.base_url), settings, texts, vectors, levels,
                                                args.requests, args.seconds, api_fetch, args.warmup))
        out["search_profile"] = search_profile(str(client.base_url), settings, texts[::-1],
                                               out["latency_ms"][str(levels[0])])
    out["load_average_after_latency"] = load_average()
    peer = time_graphrag(settings, min(args.requests, 200), texts[::-1])  # the same texts, the API's embedding cache aside
    one = out["latency_ms"][str(levels[0])]
    out["graphrag_vector_retriever_ms"] = {"n": len(peer), "p50": pct(peer, .5), "p99": pct(peer, .99)}
    out["searchIntentions_over_graphrag_p50"] = round(one["searchIntentions"]["p50"] / pct(peer, .5), 2)
    out["recall"] = asyncio.run(recall(settings, kb, args.recall_queries,
                                       [int(f) for f in args.recall_fetch.split(",")], args.seed, api_fetch))
    most = out["latency_ms"][str(levels[-1])]
    out["targets"] = {
        "load_le_10_min": out["load"]["total_s"] <= 600 if "load" in out else None,
        "search_p50_le_15ms_one_client": one["searchIntentions"]["p50"] <= 15,
        "search_p99_le_50ms_one_client": one["searchIntentions"]["p99"] <= 50,
        "recommend_p50_le_30ms_one_client": one["recommend"]["p50"] <= 30,
        f"searches_ge_100_per_s_{levels[-1]}_clients_0_errors":
            most["searchIntentions"]["per_s"] >= 100 and most["searchIntentions"]["errors"] == 0,
        "search_over_raw_le_1_3": one["searchIntentions_over_raw_p50"] <= 1.3,
        "search_le_graphrag": out["searchIntentions_over_graphrag_p50"] <= 1.0,
        "recall_ge_0_95": out["recall"]["recall_at_10"] >= 0.95,
    }
    out["load_average_end"] = load_average()
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
