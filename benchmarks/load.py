"""Load on loopback: N concurrent clients for T seconds on recommend, searchIntentions and product.

Each client sends one request at a time (closed loop), rotating over the three queries; the run
stops by itself after --seconds or --max-requests. Reports errors, p50/p99 per query, requests/s
and the RSS of the `mind serve` process at start (after a warm-up) and at the end.

Builds a synthetic graph first (WIPES the configured database; refuses a non-empty one without
--wipe), unless --reuse.
  python -m benchmarks.load --json [--clients 200] [--seconds 60] [--intentions 20000] [--wipe]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


TEXTS = ["going camping with friends this weekend", "make morning coffee at the office",
         "practice yoga at home", "protect my new phone", "bake bread for a winter party",
         "a gift for someone who loves gardening", "cycling to work in the rain", "play music at a party"]
QUERIES = {
    "recommend": ("query($t: String!) { recommend(intention: $t, k: 10) { score product { asin title } "
                  "evidence { score intention { id } } } }"),
    "searchIntentions": "query($t: String!) { searchIntentions(text: $t, k: 10) { score intention { id text } } }",
    "product": ("query($a: ID!) { product(asin: $a) { asin title coBought(first: 5) { nodes { asin title } } "
                "intentions(first: 5) { nodes { id text relation status } } } }"),
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {q: [] for q in QUERIES})
    errors: dict[str, int] = field(default_factory=dict)
    sample_error: str | None = None

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.sample_error = self.sample_error or detail[:300]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


async def _client(n: int, http: httpx.AsyncClient, asins: list[str], stop_at: float, budget: list[int],
                  tally: Tally) -> None:
    i = n
    names = list(QUERIES)
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        name = names[i % len(names)]
        variables = {"a": asins[i % len(asins)]} if name == "product" else {"t": TEXTS[i % len(TEXTS)]}
        i += 1
        t0 = time.perf_counter()
        try:
            response = await http.post("/graphql", json={"query": QUERIES[name], "variables": variables})
        except httpx.HTTPError as exc:
            tally.error(f"{name}: {type(exc).__name__}", repr(exc))
            continue
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            tally.error(f"{name}: HTTP {response.status_code}", response.text)
            continue
        body = response.json()
        if body.get("errors") or not body.get("data"):
            tally.error(f"{name}: GraphQL error", json.dumps(body.get("errors")))
            continue
        tally.latencies[name].append(elapsed)


async def run_load(base_url: str, asins: list[str], clients: int, seconds: float,
                   max_requests: int = 1_000_000, timeout: float = 60.0) -> dict:
    """The load itself, against a server that is already up; returns the figures (no RSS)."""
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as http:
        started = time.monotonic()
        budget = [max_requests]
        await asyncio.gather(*(_client(n, http, asins, started + seconds, budget, tally) for n in range(clients)))
        wall = time.monotonic() - started
    done = sum(len(v) for v in tally.latencies.values())
    return {
        "clients": clients, "seconds": round(wall, 2), "requests": done + sum(tally.errors.values()),
        "ok": done, "errors": sum(tally.errors.values()), "error_kinds": tally.errors,
        "sample_error": tally.sample_error, "requests_per_s": round(done / wall, 1) if wall else None,
        "latency_ms": {q: {"n": len(v), "p50": pct(v, 0.5), "p99": pct(v, 0.99)}
                       for q, v in tally.latencies.items()},
    }


def rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def main() -> None:
    from benchmarks.query import mind_serve
    from benchmarks.synthetic import build
    from embedding.models import embedding_dimensions
    from graph.driver import connect
    from mindkb.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-requests", type=int, default=1_000_000)
    ap.add_argument("--intentions", type=int, default=20_000)
    ap.add_argument("--reuse", action="store_true", help="keep the graph already in the database")
    ap.add_argument("--wipe", action="store_true", help="allow deleting a non-empty database")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (1 <= args.clients <= 5000 and 0 < args.seconds <= 3600):
        raise SystemExit("--clients must be 1..5000 and --seconds 0..3600")
    settings = get_settings()
    products = max(20, args.intentions // 10)
    if not args.reuse:
        with connect(settings) as driver:
            build(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model),
                  products, args.intentions, vectors=True, model=settings.embedding_model, wipe=args.wipe)
    asins = [f"S{n:09d}" for n in range(products)]

    with mind_serve() as (base_url, server):
        asyncio.run(run_load(base_url, asins, clients=min(args.clients, 20), seconds=3))  # warm-up
        rss_start = rss_mb(server.pid)
        result = asyncio.run(run_load(base_url, asins, args.clients, args.seconds, args.max_requests))
        rss_end = rss_mb(server.pid)
    out = {"benchmark": "load", "graph": {"products": products, "intentions": args.intentions}, **result,
           "server_rss_mb": {"start": rss_start, "end": rss_end}, "load_average": list(os.getloadavg()),
           "cpus": os.cpu_count()}
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
