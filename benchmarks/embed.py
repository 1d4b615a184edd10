"""Embedding throughput: `mind embed`'s pipeline vs a bare model.encode of the same texts, one run.

WIPES the configured database (it builds its own synthetic graph). Prints one JSON object.
  python -m benchmarks.embed --json [--intentions 5000] [--scale-down]
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.synthetic import build
from embedding.embed import KINDS, embed_all
from embedding.encoder import TextEncoder
from embedding.models import embedding_dimensions
from graph.driver import connect, read
from mindkb.settings import get_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--intentions", type=int, default=5000)
    ap.add_argument("--products", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--scale-down", action="store_true", help="tiny sizes, for a smoke test (seconds)")
    ap.add_argument("--wipe", action="store_true", help="allow deleting a non-empty database")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.scale_down:
        args.intentions, args.products = 200, 40
    settings = get_settings()
    batch = args.batch_size or settings.embed_batch_size
    encoder = TextEncoder.load(settings.embedding_model, settings.device, batch,
                               backend=settings.embedding_backend, cache_dir=settings.cache_dir)
    with connect(settings) as driver:
        db = settings.neo4j_database
        build(driver, db, embedding_dimensions(settings.embedding_model), args.products, args.intentions,
              vectors=False, model=settings.embedding_model, wipe=args.wipe)
        texts = []
        for kind in KINDS:  # exactly the texts the pipeline will embed, read the same way
            after = ""
            while rows := read(driver, db, kind.page, settings.embedding_model, after, 10_000):
                texts += [kind.text(r) for r in rows]
                after = rows[-1]["key"]
        encoder.encode(texts[:64])  # warm-up, shared by both measurements
        t0 = time.perf_counter()
        encoder.encode(texts)
        bare_s = time.perf_counter() - t0
        summary = embed_all(driver, db, encoder)
    pipeline_s = summary["seconds"]
    out = {
        "benchmark": "embed", "model": settings.embedding_model, "texts": len(texts), "batch_size": batch,
        "embedded": summary["embedded"],
        "bare_encode_per_s": round(len(texts) / bare_s, 1),
        "pipeline_per_s": round(summary["embedded"] / pipeline_s, 1),
        "pipeline_vs_bare": round((summary["embedded"] / pipeline_s) / (len(texts) / bare_s), 3),
        "target": ">= 0.9",
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
