"""`mind embed`: sentence-transformers vectors for every Intention and Product that lacks one.

Pipeline per node kind: page through what still needs a vector (cursor on the unique key), encode
a batch, and write it with one UNWIND transaction on a background thread while the next batch is
encoded, so the database round trip hides behind the model. Each written batch is committed, so a
killed run keeps its work and a re-run does only what is missing. `--engine ray` runs the same
pages over key ranges in a pool of Ray actors (`embedding.ray_embed`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from neo4j import Driver

from embedding.encoder import TextEncoder
from graph import embeddings as q
from graph.driver import read, write
from mindkb.output import progress


def product_text(row: dict) -> str:
    """Title, brand and stage-1 features: what a shopper would say about the product."""
    parts = [row.get("title"), f"Brand: {row['brand']}" if row.get("brand") else None, row.get("features")]
    text = ". ".join(str(p).strip() for p in parts if p and str(p).strip())
    return text or str(row["key"])


def intention_text(row: dict) -> str:
    return row.get("text") or ""


@dataclass(frozen=True)
class Kind:
    name: str
    count: Callable
    page: Callable
    store: Callable
    text: Callable[[dict], str]
    spans: Callable


KINDS = (
    Kind("intentions", q.count_intentions_to_embed, q.intentions_to_embed, q.set_intention_embeddings,
         intention_text, q.intention_embed_spans),
    Kind("products", q.count_products_to_embed, q.products_to_embed, q.set_product_embeddings, product_text,
         q.product_embed_spans),
)
BY_NAME = {kind.name: kind for kind in KINDS}


def _pages(driver: Driver, database: str, kind: Kind, model_name: str, size: int, after: str = "",
           upto: str | None = None) -> Iterator[list[dict]]:
    while rows := read(driver, database, kind.page, model_name, after, size, upto):
        yield rows
        after = rows[-1]["key"]


# Pages span several model batches so that encode() sorts the page's texts by length and pads
# little, as a bare encode() of all texts does.
PAGE_BATCHES = 8


def embed_range(driver: Driver, database: str, encoder: TextEncoder, kind: Kind, pool: ThreadPoolExecutor,
                after: str = "", upto: str | None = None, done: Callable[[int], object] = lambda n: None) -> int:
    """Embed the nodes of one kind (keys in after..upto) that need a vector; returns how many.
    Pages are encoded while the previous page is written on `pool`'s thread."""
    model_name, n = encoder.name, 0
    pending: Future | None = None
    for rows in _pages(driver, database, kind, model_name, encoder.batch_size * PAGE_BATCHES, after, upto):
        vectors = encoder.encode([kind.text(r) for r in rows])
        batch = [{"key": r["key"], "embedding": v.tolist()} for r, v in zip(rows, vectors, strict=True)]
        if pending is not None:
            pending.result()  # at most one write in flight; surfaces its error here
        pending = pool.submit(write, driver, database, kind.store, batch, model_name)
        n += len(batch)
        done(len(batch))
    if pending is not None:
        pending.result()
    return n


def embed_all(driver: Driver, database: str, encoder: TextEncoder) -> dict:
    """Embed everything missing a vector for the encoder's model; returns the command's summary."""
    model_name = encoder.name
    started = time.perf_counter()
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-write") as pool:
        for kind in KINDS:
            total = read(driver, database, kind.count, model_name)
            with progress(total=total, desc=f"embed {kind.name}", unit=kind.name[:-1]) as bar:
                counts[kind.name] = embed_range(driver, database, encoder, kind, pool, done=bar.update)
    return {
        "embedded": sum(counts.values()),
        "intentions": counts["intentions"],
        "products": counts["products"],
        "model": model_name,
        "seconds": round(time.perf_counter() - started, 3),
    }
