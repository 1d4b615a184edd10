"""`mind embed`: sentence-transformers vectors for every Intention and Product that lacks one.

Pipeline per node kind: page through what still needs a vector (cursor on the unique key), encode
a batch, and write it with one UNWIND transaction on a background thread while the next batch is
encoded, so the database round trip hides behind the model. Each written batch is committed, so a
killed run keeps its work and a re-run does only what is missing.
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


KINDS = (
    Kind("intentions", q.count_intentions_to_embed, q.intentions_to_embed, q.set_intention_embeddings,
         intention_text),
    Kind("products", q.count_products_to_embed, q.products_to_embed, q.set_product_embeddings, product_text),
)


def _pages(driver: Driver, database: str, kind: Kind, model_name: str, size: int) -> Iterator[list[dict]]:
    after = ""
    while rows := read(driver, database, kind.page, model_name, after, size):
        yield rows
        after = rows[-1]["key"]


# Pages span several model batches so that encode() sorts the page's texts by length and pads
# little, as a bare encode() of all texts does.
PAGE_BATCHES = 8


def embed_all(driver: Driver, database: str, encoder: TextEncoder) -> dict:
    """Embed everything missing a vector for the encoder's model; returns the command's summary."""
    model_name, batch_size = encoder.name, encoder.batch_size
    started = time.perf_counter()
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-write") as pool:
        for kind in KINDS:
            total = read(driver, database, kind.count, model_name)
            done = 0
            pending: Future | None = None
            with progress(total=total, desc=f"embed {kind.name}", unit=kind.name[:-1]) as bar:
                for rows in _pages(driver, database, kind, model_name, batch_size * PAGE_BATCHES):
                    vectors = encoder.encode([kind.text(r) for r in rows])
                    batch = [{"key": r["key"], "embedding": v.tolist()} for r, v in zip(rows, vectors)]
                    if pending is not None:
                        pending.result()  # at most one write in flight; surfaces its error here
                    pending = pool.submit(write, driver, database, kind.store, batch, model_name)
                    done += len(batch)
                    bar.update(len(batch))
                if pending is not None:
                    pending.result()
            counts[kind.name] = done
    return {
        "embedded": sum(counts.values()),
        "intentions": counts["intentions"],
        "products": counts["products"],
        "model": model_name,
        "seconds": round(time.perf_counter() - started, 3),
    }
