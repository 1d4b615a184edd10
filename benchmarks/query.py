"""Latency p50/p99 of `recommend` and `searchIntentions` over HTTP vs the same vector query in Cypher.

Builds a synthetic graph (random unit vectors; WIPES the configured database), starts
`mind serve` on 127.0.0.1, and times sequential requests in one run. Prints one JSON object.
  python -m benchmarks.query --json [--intentions 200000] [--requests 100] [--scale-down]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import torch
from neo4j_graphrag.embeddings import SentenceTransformerEmbeddings
from neo4j_graphrag.retrievers import VectorRetriever

from benchmarks.synthetic import build
from embedding.models import embedding_dimensions, load_sentence_model, resolve_model_path
from graph import queries
from graph.aio import AsyncGraph, make_async_driver
from graph.driver import connect
from graph.schema import INTENTION_VECTOR_INDEX
from mindkb.settings import Settings, get_settings
from retrieval.search import ACCEPTED

REPO = Path(__file__).resolve().parents[1]

TEXTS = ["going camping with friends this weekend", "make morning coffee at the office",
         "practice yoga at home", "protect my new phone", "bake bread for a winter party",
         "a gift for someone who loves gardening", "cycling to work in the rain", "play music at a party"]
SEARCH = "query($t: String!) { searchIntentions(text: $t, k: 10) { score intention { id text } } }"
RECOMMEND = ("query($t: String!) { recommend(intention: $t, k: 10) { score product { asin title } "
             "evidence { score intention { id } } } }")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base_url: str, server: subprocess.Popen, limit: float = 240, err: IO[bytes] | None = None) -> None:
    """Until /healthz answers 200; SystemExit (with the tail of `err`, a file) if the server dies or
    `limit` seconds pass."""
    deadline = time.time() + limit
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.time() > deadline:
                tail = ""
                if err is not None:
                    err.seek(0)
                    tail = ": " + err.read().decode(errors="replace")[-500:]
                raise SystemExit(f"server did not start{tail}")
            time.sleep(0.5)


@contextmanager
def mind_serve(startup_s: float = 240) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `mind serve` on a free 127.0.0.1 port, healthy: (base URL, process).

    Its stderr goes to a temporary file, never an unread pipe that could fill and stall it."""
    port = free_port()
    with tempfile.TemporaryFile() as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=err)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(base_url, server, startup_s, err)
            yield base_url, server
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextmanager
def serving(startup_s: float = 180) -> Iterator[httpx.Client]:
    """`mind_serve`, with a client bound to it."""
    with mind_serve(startup_s) as (base_url, _), httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


def time_http(client: httpx.Client, query: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        text = f"{TEXTS[i % len(TEXTS)]} {i}"  # unseen by the API's embedding cache: every request encodes
        r = client.post("/graphql", json={"query": query, "variables": {"t": text}})
        out.append((time.perf_counter() - t0) * 1000)
        body = r.json()
        assert r.status_code == 200 and not body.get("errors"), body
    return out


async def time_cypher(settings: Settings, vectors: list[list[float]], n: int) -> list[float]:
    driver = make_async_driver(settings)
    graph = AsyncGraph(driver, settings.neo4j_database)
    out = []
    try:
        for i in range(n + 3):
            t0 = time.perf_counter()
            await graph.read(queries.search_intentions, vectors[i % len(vectors)], 10, 50, None, list(ACCEPTED))
            if i >= 3:  # the first calls warm the connection pool
                out.append((time.perf_counter() - t0) * 1000)
    finally:
        await driver.close()
    return out


def time_graphrag(settings: Settings, n: int, texts: list[str] | None = None) -> list[float]:
    """The peer a user would otherwise pick: neo4j-graphrag's VectorRetriever over the same index,
    with the same MiniLM (sentence-transformers on torch, one thread like the API), unseen texts."""
    torch.set_num_threads(max(1, settings.api_torch_threads))
    embedder = SentenceTransformerEmbeddings(model=resolve_model_path(settings.embedding_model))
    out = []
    with connect(settings) as driver:
        retriever = VectorRetriever(driver, INTENTION_VECTOR_INDEX, embedder, return_properties=["id", "text"],
                                    neo4j_database=settings.neo4j_database)
        for i in range(n + 3):
            t0 = time.perf_counter()
            text = texts[i % len(texts)] if texts else f"{TEXTS[i % len(TEXTS)]} {i}"
            retriever.search(query_text=text, top_k=10)
            if i >= 3:
                out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--intentions", type=int, default=200_000)
    ap.add_argument("--products", type=int, default=None, help="default: intentions / 10")
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--reuse", action="store_true", help="keep the graph already in the database")
    ap.add_argument("--scale-down", action="store_true", help="tiny sizes, for a smoke test (seconds)")
    ap.add_argument("--wipe", action="store_true", help="allow deleting a non-empty database")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.scale_down:
        args.intentions, args.requests = 1000, 10
    products = args.products or max(20, args.intentions // 10)
    settings = get_settings()
    built: dict = {"reused": True}
    t0 = time.perf_counter()
    if not args.reuse:
        with connect(settings) as driver:
            built = build(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model),
                          products, args.intentions, vectors=True, model=settings.embedding_model,
                          wipe=args.wipe)
    build_s = round(time.perf_counter() - t0, 1)

    with serving() as client:
        time_http(client, SEARCH, 3), time_http(client, RECOMMEND, 3)  # warm-up
        search_ms = time_http(client, SEARCH, args.requests)
        recommend_ms = time_http(client, RECOMMEND, args.requests)

    model = load_sentence_model(settings.embedding_model, settings.device)
    vectors = model.encode(TEXTS, normalize_embeddings=True).tolist()
    cypher_ms = asyncio.run(time_cypher(settings, vectors, args.requests))
    graphrag_ms = time_graphrag(settings, args.requests)
    out = {
        "benchmark": "query", "graph": built, "build_seconds": build_s, "requests": args.requests,
        "searchIntentions_http_ms": {"p50": pct(search_ms, .5), "p99": pct(search_ms, .99)},
        "recommend_http_ms": {"p50": pct(recommend_ms, .5), "p99": pct(recommend_ms, .99)},
        "vector_query_cypher_ms": {"p50": pct(cypher_ms, .5), "p99": pct(cypher_ms, .99)},
        "graphrag_vector_retriever_ms": {"p50": pct(graphrag_ms, .5), "p99": pct(graphrag_ms, .99)},
        "search_vs_cypher": round(pct(search_ms, .5) / pct(cypher_ms, .5), 2),
        "search_vs_graphrag": round(pct(search_ms, .5) / pct(graphrag_ms, .5), 2),
        "note": "HTTP figures include embedding the text (unseen) with MiniLM on CPU; the Cypher one is the "
                "same filtered queryNodes statement with a precomputed vector",
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
