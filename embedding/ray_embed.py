"""`mind embed --engine ray`: the nodes without a vector, embedded by a pool of Ray actors.

    driver: per node kind, the keys that need a vector, cut into ranges of about
            MIND_RAY_PARTITION_SIZE (graph/embeddings.py, read in key order)
      -> ray.data.from_items: one row per range
      -> map_batches(EmbedActor): a fixed pool of actors, each holding the sentence model and a
         Neo4j driver, runs `embed_range` over its range: read a page, encode, write the vectors
      -> the driver adds up the counts (progress bar, the --json summary).

No leases are needed: a vector depends only on the text and the model, so a node written twice (two
runs at once) gets the same value, and a killed run's re-run embeds only what still has none.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from neo4j import Driver

from embedding.embed import BY_NAME, KINDS, embed_range
from embedding.encoder import TextEncoder
from engine import raycluster
from graph.driver import make_driver, read
from mindkb.output import progress
from mindkb.settings import Settings


class EmbedActor:
    """Holds the sentence model and a Neo4j driver; embeds each key range it is given."""

    def __init__(self, settings: Settings, batch_size: int, threads: int):
        self.driver = make_driver(settings)
        self.database = settings.neo4j_database
        self.encoder = TextEncoder.load(settings.embedding_model, settings.device, batch_size,
                                        backend=settings.embedding_backend, threads=threads,
                                        cache_dir=settings.cache_dir)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-write")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        done = [embed_range(self.driver, self.database, self.encoder, BY_NAME[str(kind)], self.writer,
                            str(after), str(upto) or None)
                for kind, after, upto in zip(batch["kind"], batch["after"], batch["upto"], strict=True)]
        return {"kind": batch["kind"], "embedded": np.array(done, dtype=np.int64)}

    def __del__(self) -> None:
        self.writer.shutdown(wait=True)
        self.driver.close()


def embed_all_on_ray(driver: Driver, settings: Settings, batch_size: int) -> dict:
    """`embed_all` as a Ray Data pipeline; the same summary, with the pool it ran on."""
    session = raycluster.join(settings.ray_address)
    try:
        pool = raycluster.pool(settings, batch_size, session)
        database, model = settings.neo4j_database, settings.embedding_model
        started = time.perf_counter()
        totals = {kind.name: read(driver, database, kind.count, model) for kind in KINDS}
        rows = [{"kind": kind.name, "after": span["after"], "upto": span["upto"] or ""}
                for kind in KINDS for span in read(driver, database, kind.spans, model, pool.partition)]
        counts = dict.fromkeys(totals, 0)
        if rows:
            # On CPUs an actor's ONNX Runtime gets the cores it holds (0: its default, every core).
            threads = 0 if pool.gpus else max(1, int(pool.cpus))
            dataset = raycluster.partitions(rows).map_batches(
                EmbedActor, fn_constructor_kwargs={"settings": raycluster.worker_settings(settings),
                                                   "batch_size": batch_size, "threads": threads},
                batch_format="numpy", **pool.map_args(len(rows)))
            with progress(total=sum(totals.values()), desc="embed", unit="text") as bar:
                for batch in raycluster.results(dataset):
                    for kind, n in zip(batch["kind"], batch["embedded"], strict=True):
                        counts[str(kind)] += int(n)
                        bar.update(int(n))
        return {"embedded": sum(counts.values()), "intentions": counts["intentions"], "products": counts["products"],
                "model": model, "seconds": round(time.perf_counter() - started, 3), **pool.summary()}
    finally:
        raycluster.leave(session)
