"""Catalogue ingest throughput: products/s (CO_BUY edges included) on a generated catalogue.

    python -m benchmarks.ingest --json                 # 200,000 lines
    python -m benchmarks.ingest --lines 2000 --json    # a quick run

Uses the configured Neo4j. Its products have asins starting with ZB (batched path) and ZC
(baseline); they are deleted before and after, nothing else is touched. The baseline loads a small
sample the naive way, one transaction per product, through the same Cypher; `speedup` is the ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from neo4j import Driver

from graph.driver import connect, read
from graph.ingest import (
    count_co_buys_by_prefix,
    delete_by_asin_prefix,
    delete_pending_by_prefix,
    ensure_ingest_schema,
    write_catalog_batch,
)
from ingest.catalog import CatalogOptions, ingest_catalog
from ingest.records import parse_catalog_line
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings

CATEGORIES = (["Electronics", "Camera & Photo", "Tripods"], ["Clothing, Shoes & Jewelry", "Men", "Shoes"],
              ["Electronics", "Cell Phones & Accessories", "Cases"], ["Sports & Outdoors", "Running"])


def generate(path: Path, lines: int, prefix: str, links: int, seed: int) -> None:
    """Each product lists `links` others nearby in the file (before and after it), like co-buys."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            others = {min(lines - 1, max(0, i + rng.randint(-500, 500))) for _ in range(links)} - {i}
            record = {
                "asin": f"{prefix}{i:08d}",
                "title": f"Synthetic product {i} &amp; accessories",
                "brand": f"Brand {i % 97}",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "description": [f"Generated description of product {i}."],
                "feature": ["lightweight", "durable", f"model {i % 13}"],
                "main_cat": CATEGORIES[i % len(CATEGORIES)][0],
                "price": f"${(i % 500) + 0.99:.2f}",
                "also_buy": [f"{prefix}{j:08d}" for j in sorted(others)],
                "imageURL": [], "imageURLHighRes": [],
            }
            out.write(json.dumps(record) + "\n")


def cleanup(driver: Driver, database: str, prefix: str) -> None:
    with driver.session(database=database) as session:
        while session.execute_write(delete_by_asin_prefix, prefix, 20_000):
            pass
        while session.execute_write(delete_pending_by_prefix, prefix, 20_000):
            pass


def count_co_buy(driver: Driver, database: str, prefix: str) -> int:
    return read(driver, database, count_co_buys_by_prefix, prefix)


def baseline(driver: Driver, database: str, path: Path) -> tuple[int, float]:
    """One transaction per product (the naive loader), same statements."""
    start = time.perf_counter()
    n = 0
    with driver.session(database=database) as session, path.open(encoding="utf-8") as handle:
        for line in handle:
            record = parse_catalog_line(line)
            links = [{"from": record.asin, "to": other} for other in record.also_buy]
            product = {"asin": record.asin, "props": record.props,
                       "image": {"imageState": "missing", "imagePath": None, "imageReason": "benchmark"}}
            session.execute_write(write_catalog_batch, [product], links, "also_buy")
            n += 1
    return n, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Catalogue ingest throughput")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--baseline-lines", type=int, default=None, help="default: min(1000, lines)")
    parser.add_argument("--links", type=int, default=4, help="also_buy entries per product")
    parser.add_argument("--batch-size", type=int, default=None, help="default: MIND_WRITE_BATCH_SIZE")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings()
    database = settings.neo4j_database
    baseline_lines = args.baseline_lines or min(1000, args.lines)

    with tempfile.TemporaryDirectory() as tmp, connect(settings) as driver:
        ensure_ingest_schema(driver, database)
        catalog, sample = Path(tmp) / "catalog.jsonl", Path(tmp) / "sample.jsonl"
        generate(catalog, args.lines, "ZB", args.links, seed=1)
        generate(sample, baseline_lines, "ZC", args.links, seed=2)
        for prefix in ("ZB", "ZC"):
            cleanup(driver, database, prefix)
        try:
            start = time.perf_counter()
            with Quarantine(Path(tmp) / "quarantine.jsonl") as quarantine:
                summary = ingest_catalog(driver, settings, [catalog], CatalogOptions(), quarantine,
                                         batch_size=args.batch_size)
            seconds = time.perf_counter() - start
            edges = count_co_buy(driver, database, "ZB")
            base_n, base_seconds = baseline(driver, database, sample)
        finally:
            for prefix in ("ZB", "ZC"):
                cleanup(driver, database, prefix)

    rate = summary["loaded"] / seconds
    base_rate = base_n / base_seconds
    result = {
        "benchmark": "ingest_catalog",
        "lines": args.lines,
        "loaded": summary["loaded"],
        "co_buy": summary["co_buy"],
        "co_buy_in_graph": edges,
        "quarantined": summary["quarantined"],
        "batch_size": args.batch_size or settings.write_batch_size,
        "seconds": round(seconds, 2),
        "products_per_s": round(rate, 1),
        "baseline": {"method": "one transaction per product", "lines": base_n,
                     "seconds": round(base_seconds, 2), "products_per_s": round(base_rate, 1)},
        "speedup": round(rate / base_rate, 2),
        "target_products_per_s": 5000,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
