"""Query encode latency, one thread: torch vs the ONNX backends, in one run, on the same texts.

The API encodes one short query per request on one thread (MIND_API_TORCH_THREADS), so this times
exactly that: `TextEncoder.encode_one` with no cache on texts neither backend has seen, the
backends alternating per text so load on a shared machine hits both alike. Also the cosine between
each backend's vector and torch's. No database. Prints one JSON object.
  python -m benchmarks.encoder --json [--queries 500] [--backends torch,onnx-int8] [--scale-down]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

import numpy as np

from embedding.encoder import TextEncoder
from embedding.models import EMBEDDING_BACKENDS, EXPORT_RECORD, onnx_folder
from mindkb.settings import get_settings

WANTS = ["keep my", "protect a", "a gift for a", "clean the", "set up a", "carry a", "charge my", "fix a broken",
         "organise the", "cook dinner on a", "stay warm in a", "relax after a long", "decorate the", "repair my"]
THINGS = ["phone", "tent", "bike", "kitchen", "camera", "laptop", "garden", "dog", "baby", "car", "desk",
          "guitar", "aquarium", "boat", "backpack", "balcony", "printer", "sofa", "kayak", "grill"]
WHEN = ["at night", "on a rainy weekend", "while travelling", "for a birthday", "in winter", "at the office",
        "on a budget", "before the party", "after moving house", "for my grandmother", "at the beach", ""]


def query_texts(n: int, seed: int = 7) -> list[str]:
    """`n` distinct short queries, shuffled; made up here, so no cache or warm-up has seen them."""
    texts = [" ".join(filter(None, (w, t, c))) for w in WANTS for t in THINGS for c in WHEN]
    random.Random(seed).shuffle(texts)
    if n > len(texts):
        raise SystemExit(f"--queries is at most {len(texts)}")
    return texts[:n]


def stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p99": round(float(np.percentile(a, 99)), 3),
            "mean": round(float(a.mean()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--backends", default="torch,onnx-int8", help=f"comma-separated, first is the reference "
                                                                 f"({', '.join(EMBEDDING_BACKENDS)})")
    ap.add_argument("--scale-down", action="store_true", help="a few queries, for a smoke test (seconds)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.scale_down:
        args.queries, args.warmup = 20, 5
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if len(backends) < 2 or any(b not in EMBEDDING_BACKENDS for b in backends):
        raise SystemExit(f"--backends needs two or more of {', '.join(EMBEDDING_BACKENDS)}")
    settings = get_settings()
    import torch  # one thread, as the API runs it; sentence-transformers imports it anyway

    torch.set_num_threads(1)
    encoders = {b: TextEncoder.load(settings.embedding_model, "cpu", batch_size=1, backend=b, threads=1,
                                     cache_dir=settings.cache_dir)
                for b in backends}
    texts = query_texts(args.queries + args.warmup)
    warm, timed = texts[:args.warmup], texts[args.warmup:]
    for encoder in encoders.values():
        for text in warm:
            encoder.encode_one(text)
    ms = {b: [] for b in backends}
    vectors = {b: [] for b in backends}
    for i, text in enumerate(timed):
        order = backends if i % 2 == 0 else backends[::-1]
        for b in order:
            t0 = time.perf_counter()
            vector = encoders[b].encode_one(text)
            ms[b].append((time.perf_counter() - t0) * 1000)
            vectors[b].append(vector)
    ref = backends[0]
    out: dict = {"benchmark": "encoder", "model": settings.embedding_model, "queries": len(timed), "threads": 1,
                 "cpu": platform.processor() or platform.machine(), "reference": ref}
    record = onnx_folder(settings.embedding_model, settings.cache_dir) / EXPORT_RECORD
    if record.is_file():
        out["int8_recipe"] = json.loads(record.read_text()).get("quantization")
    for b in backends:
        out[f"{b}_ms"] = stats(ms[b])
    for b in backends[1:]:
        cos = np.sum(np.asarray(vectors[b]) * np.asarray(vectors[ref]), axis=1)
        out[f"{b}_speedup"] = {q: round(out[f"{ref}_ms"][q] / out[f"{b}_ms"][q], 2) for q in ("p50", "p99")}
        out[f"{b}_cosine_to_{ref}"] = {"min": round(float(cos.min()), 4), "mean": round(float(cos.mean()), 4)}
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
