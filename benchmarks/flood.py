"""One client's search latency while others flood the API with distinct GraphQL documents.

Three phases of --seconds each against one real `mind serve`, in one run so they compare:
- alone:     the victim alone: one closed-loop client sending `searchIntentions` with its text in
             a variable (8 texts in turn, so their embeddings are cached as a regular user's are);
- megabyte:  the victim and --attackers clients, each sending distinct documents of ~1 MB (a search
             with a 1 MB text inlined), as fast as they are answered;
- widest:    the victim and --attackers clients sending distinct documents of the widest shape the
             limits let through to validation (MIND_API_MAX_SELECTIONS - 1 fields of one name, the
             quadratic case of the overlapping-fields check), each new to the document cache.
The attackers run in a process of their own and start 2 s before the victim, so neither's client
work delays the other's requests. Per phase: the victim's p50/p99, the attackers' answers by HTTP
status, and the server's RSS.
Builds a synthetic graph first (WIPES the configured database; refuses a non-empty one without
--wipe), unless --reuse. Prints one JSON object.
  python -m benchmarks.flood --json [--seconds 10] [--attackers 4] [--intentions 2000] [--wipe]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator
from multiprocessing.queues import Queue

import httpx

from benchmarks.load import pct, rss_mb

TEXTS = ["going camping with friends this weekend", "make morning coffee at the office",
         "practice yoga at home", "protect my new phone", "bake bread for a winter party",
         "a gift for someone who loves gardening", "cycling to work in the rain", "play music at a party"]
SEARCH = "query($t: String!) { searchIntentions(text: $t, k: 10) { score intention { id text } } }"
MEGABYTE = 1_000_000


def megabyte_documents(attacker: int) -> Iterator[bytes]:
    """Distinct ~1 MB JSON bodies: a search with a 1 MB text inlined, a counter making each new
    (spliced into bytes made once, so the attackers spend their time sending, not encoding)."""
    head, tail = b'{"query": "{ searchIntentions(text: \\"', b"x" * MEGABYTE + b'\\") { score } }"}'
    for n in itertools.count():
        yield head + f"{attacker}-{n} ".encode() + tail


def widest_documents(attacker: int, fields: int) -> Iterator[bytes]:
    """Distinct documents of `fields` selections of one name (a comment makes each text new)."""
    body = "{ " + "__typename " * fields + "}"
    for n in itertools.count():
        yield json.dumps({"query": f"# {attacker}-{n}\n{body}"}).encode()


async def victim(http: httpx.AsyncClient, stop_at: float, latencies: list[float], errors: list[str]) -> None:
    for i in itertools.count():
        if time.monotonic() >= stop_at:
            return
        t0 = time.perf_counter()
        response = await http.post("/graphql", json={"query": SEARCH, "variables": {"t": TEXTS[i % len(TEXTS)]}})
        elapsed = (time.perf_counter() - t0) * 1000
        body = response.json() if response.status_code == 200 else {}
        if body.get("errors") or not body.get("data"):
            errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        else:
            latencies.append(elapsed)


async def attacker(http: httpx.AsyncClient, documents: Iterable[bytes], stop_at: float, statuses: dict[str, int]) -> None:
    for body in documents:
        if time.monotonic() >= stop_at:
            return
        try:
            response = await http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
            key = str(response.status_code)
            if response.status_code == 200 and response.json().get("errors"):
                key += " with errors"
        except httpx.HTTPError as exc:
            key = type(exc).__name__
        statuses[key] = statuses.get(key, 0) + 1


async def _attack(base_url: str, kind: str, attackers: int, fields: int, stop_at: float) -> dict[str, int]:
    statuses: dict[str, int] = {}
    make = {"megabyte": megabyte_documents, "widest": lambda a: widest_documents(a, fields)}[kind]
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=httpx.Limits(max_connections=attackers)) as http:
        await asyncio.gather(*(attacker(http, make(a), stop_at, statuses) for a in range(attackers)))
    return statuses


def _attack_process(base_url: str, kind: str, attackers: int, fields: int, stop_at: float,
                    results: Queue[dict[str, int]]) -> None:
    """In a process of its own; `stop_at` is wall-clock time (time.time), shared with the victim's process."""
    stop_monotonic = time.monotonic() + (stop_at - time.time())
    results.put(asyncio.run(_attack(base_url, kind, attackers, fields, stop_monotonic)))


async def _victim(base_url: str, stop_at: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        await victim(http, stop_at, latencies, errors)
    return latencies, errors


def phase(base_url: str, seconds: float, kind: str | None, attackers: int, fields: int) -> dict:
    """The victim in this process, the attackers (if any) in another: neither's client work delays the other."""
    statuses: dict[str, int] = {}
    process = None
    if kind is not None:
        results = multiprocessing.get_context("spawn").Queue()
        stop_at = time.time() + seconds + 2  # the attackers start first and stop after the victim
        process = multiprocessing.get_context("spawn").Process(
            target=_attack_process, args=(base_url, kind, attackers, fields, stop_at, results))
        process.start()
        time.sleep(2)
    latencies, errors = asyncio.run(_victim(base_url, time.monotonic() + seconds))
    if process is not None:
        statuses = results.get(timeout=300)
        process.join(timeout=60)
    return {"victim_ms": {"n": len(latencies), "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99),
                          "max": round(max(latencies), 2) if latencies else None},
            "victim_errors": len(errors), "sample_error": errors[0] if errors else None,
            "attacker_answers": statuses}


def main() -> None:
    from benchmarks.query import mind_serve
    from benchmarks.synthetic import build
    from embedding.models import embedding_dimensions
    from graph.driver import connect
    from mindkb.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--attackers", type=int, default=4)
    ap.add_argument("--intentions", type=int, default=2000)
    ap.add_argument("--reuse", action="store_true", help="keep the graph already in the database")
    ap.add_argument("--wipe", action="store_true", help="allow deleting a non-empty database")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (0 < args.seconds <= 600 and 1 <= args.attackers <= 64 and 20 <= args.intentions <= 10_000_000):
        raise SystemExit("--seconds must be 0..600, --attackers 1..64 and --intentions 20..10000000")
    settings = get_settings()
    if not args.reuse:
        with connect(settings) as driver:
            build(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model),
                  max(20, args.intentions // 10), args.intentions, vectors=True, model=settings.embedding_model,
                  wipe=args.wipe)

    out: dict = {"benchmark": "flood", "seconds_per_phase": args.seconds, "attackers": args.attackers,
                 "intentions": args.intentions, "limits": {"max_query_bytes": settings.api_max_query_bytes,
                                                           "max_selections": settings.api_max_selections}}
    fields = settings.api_max_selections - 1
    with mind_serve() as (base_url, server):
        phase(base_url, min(3.0, args.seconds), None, 0, fields)  # warm-up: the model, caches, connections
        for name, kind in (("alone", None), ("megabyte", "megabyte"), ("widest", "widest")):
            out[name] = phase(base_url, args.seconds, kind, args.attackers, fields)
            out[name]["server_rss_mb"] = rss_mb(server.pid)
    alone = out["alone"]["victim_ms"]["p50"]
    for name in ("megabyte", "widest"):
        p50 = out[name]["victim_ms"]["p50"]
        out[name]["p50_vs_alone"] = round(p50 / alone, 2) if p50 and alone else None
    out.update(load_average=list(os.getloadavg()), cpus=os.cpu_count())
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
