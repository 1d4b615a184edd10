"""What `--engine ray` costs: the three stages on the same catalogue, in-process and on Ray, one run.

The tiny random LLaVA on the CPU, so both engines do the same CPU work: the in-process engine with
torch's threads on every core, then a local Ray with the same cores split among N actors (1 actor of
all cores, 2 of half, ...). Each run starts from the same freshly seeded catalogue; the Ray runs
include starting their actors (a process, torch, the model) once per stage, and the local Ray's own
start is reported apart. Prints one JSON object.

WIPES the configured database (it seeds its own catalogue; one holding data needs --wipe).
  python -m benchmarks.ray_overhead --json [--products 24] [--relations 10] [--actors 1,2] [--scale-down]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import ray
from neo4j import Driver
from PIL import Image, ImageDraw

from benchmarks.synthetic import prepare_empty
from embedding.models import embedding_dimensions
from generation.requests import GenerateRequest
from generation.runner import run_generate
from generation.stages import STAGES
from generation.tiny import write_tiny_model
from graph.driver import connect, write
from graph.products import merge_co_buys, merge_products
from graph.schema import apply_schema
from mindkb.relations import RELATIONS
from mindkb.settings import Settings, get_settings


def seed(driver: Driver, database: str, folder: Path, products: int, dims: int, wipe: bool) -> None:
    """`products` products with drawn images, and co-buy pairs (0,1), (1,2), ... (a chain)."""
    prepare_empty(driver, database, wipe)
    apply_schema(driver, database, dims)
    rows = []
    for i in range(products):
        path = folder / f"B{i:05d}.png"
        if not path.exists():
            img = Image.new("RGB", (64, 48), ((40 * i) % 256, 90, 160))
            ImageDraw.Draw(img).ellipse((6, 6, 58, 42), outline=(255, 255, 255), width=3)
            img.save(path)
        rows.append({"asin": f"B{i:05d}", "props": {"title": f"blue charging cable {i}", "imageState": "ok",
                                                     "imagePath": str(path)}})
    write(driver, database, merge_products, rows)
    write(driver, database, merge_co_buys, [{"a": f"B{i:05d}", "b": f"B{i + 1:05d}", "source": "bench"}
                                            for i in range(products - 1)])


def timed_run(driver: Driver, settings: Settings, request: GenerateRequest) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    results = run_generate(driver, settings, request)
    return time.perf_counter() - started, [r.summary() for r in results]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=24)
    ap.add_argument("--relations", type=int, default=10, help="Relations per pair (1-20).")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--actors", default="1,2", help="Actor counts to run on Ray, e.g. 1,2.")
    ap.add_argument("--stages", default=",".join(STAGES), help="Stages to run, in order.")
    ap.add_argument("--ray-address", default=None, help="Join this Ray instead of starting a local one.")
    ap.add_argument("--scale-down", action="store_true", help="toy sizes, for a smoke test")
    ap.add_argument("--wipe", action="store_true", help="allow deleting a non-empty database")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.scale_down:
        args.products, args.relations, args.max_new_tokens, args.actors, args.stages = 4, 2, 2, "1", "features"
    settings = get_settings()
    cores = os.cpu_count() or 1
    relations = [r.name for r in RELATIONS[: max(1, min(20, args.relations))]]
    with tempfile.TemporaryDirectory(prefix="mind-bench-ray-") as tmp, connect(settings) as driver:
        folder = Path(tmp)
        write_tiny_model(folder / "tiny")
        dims = embedding_dimensions(settings.embedding_model)
        db = settings.neo4j_database

        def request(engine: str) -> GenerateRequest:
            return GenerateRequest(stages=args.stages.split(","), relations=relations, model=str(folder / "tiny"),
                                   batch_size=args.batch_size, device="cpu", max_new_tokens=args.max_new_tokens,
                                   seed=0, lease_seconds=600, engine=engine)

        seed(driver, db, folder, args.products, dims, args.wipe)
        local_s, local = timed_run(driver, settings, request("in-process"))

        started = time.perf_counter()
        if args.ray_address:
            ray.init(address=args.ray_address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=cores, include_dashboard=False, logging_level=logging.WARNING)
        ray_start_s = time.perf_counter() - started
        cluster_cpus = int(ray.cluster_resources().get("CPU", cores))
        runs = []
        try:
            for actors in (int(a) for a in args.actors.split(",")):
                cpus = max(1, min(cores, cluster_cpus) // actors)
                on_ray = settings.model_copy(update={"ray_actors": actors, "ray_cpus_per_actor": float(cpus)})
                seed(driver, db, folder, args.products, dims, wipe=True)
                seconds, stages = timed_run(driver, on_ray, request("ray"))
                runs.append({"actors": actors, "cpus_per_actor": cpus, "seconds": round(seconds, 2),
                             "ratio_to_in_process": round(seconds / local_s, 2),
                             "stage_seconds": {s["stage"]: s["seconds"] for s in stages},
                             "same_counts": [s["done"] for s in stages] == [s["done"] for s in local]})
        finally:
            ray.shutdown()
    out = {
        "benchmark": "ray_overhead", "cores": cores, "products": args.products, "relations": len(relations),
        "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
        "units": {s["stage"]: s["done"] for s in local},
        "in_process_s": round(local_s, 2), "in_process_stage_seconds": {s["stage"]: s["seconds"] for s in local},
        "ray_start_s": round(ray_start_s, 2), "ray": runs,
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
