"""A synthetic knowledge base for benchmarks: products, co-buys and intentions through graph/ writers."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
from neo4j import Driver

from graph.driver import write_batches
from graph.embeddings import set_intention_embeddings, set_product_embeddings
from graph.intentions import merge_intentions
from graph.maintenance import count_nodes, delete_everything
from graph.products import merge_co_buys, merge_products
from graph.schema import INTENTION_VECTOR_INDEX, PRODUCT_VECTOR_INDEX, apply_schema, await_indexes, drop_vector_index
from mindkb.ids import intention_id, pair_key
from mindkb.relations import RELATIONS

WORDS = ("camping hiking cooking coffee tea yoga running cycling gaming reading travel office garden "
         "kitchen phone laptop music painting fishing baking cleaning sleeping gifts winter summer").split()
STATUSES = ("ACCEPTED", "ACCEPTED", "REJECTED", "GENERATED")


def sentence(rng: random.Random, relation_template: str) -> str:
    a, b, c = rng.sample(WORDS, 3)
    return f"{relation_template} {a} and {b} on a {c} day".strip()


def refuse_loaded(driver: Driver, database: str, wipe: bool) -> int:
    """The products and intentions present; refuses (SystemExit) when some are and not `wipe`.

    So a benchmark pointed at a real knowledge base by mistake refuses instead of deleting it.
    """
    present = count_nodes(driver, database, "Product") + count_nodes(driver, database, "Intention")
    if present and not wipe:
        raise SystemExit(f"benchmark: database {database!r} holds {present} products/intentions and the "
                         "benchmark would delete them; use a scratch database or pass --wipe")
    return present


def prepare_empty(driver: Driver, database: str, wipe: bool) -> None:
    """Empty the database for a benchmark; one holding data is only wiped with `wipe=True`."""
    if refuse_loaded(driver, database, wipe):
        delete_everything(driver, database)
    # Fresh vector indexes: apply_schema then creates them with the configured HNSW settings, and a
    # load starts from an empty index rather than one full of deleted entries.
    with driver.session(database=database) as session:
        for name in (INTENTION_VECTOR_INDEX, PRODUCT_VECTOR_INDEX):
            session.execute_write(drop_vector_index, name)


def build(driver: Driver, database: str, dims: int, products: int, intentions: int, vectors: bool,
          model: str, seed: int = 7, batch: int = 2000, wipe: bool = False) -> dict:
    """Wipe the database and write the synthetic graph; random unit vectors when `vectors`.

    A database that holds data is only wiped with `wipe=True` (the scripts' --wipe), so a
    benchmark pointed at a real knowledge base by mistake refuses instead of deleting it.
    """
    prepare_empty(driver, database, wipe)
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    apply_schema(driver, database, dims)
    asins = [f"S{n:09d}" for n in range(products)]
    write_batches(driver, database, merge_products,
                  ({"asin": a, "props": {"title": f"{rng.choice(WORDS)} {rng.choice(WORDS)} item {a}",
                                         "brand": rng.choice(WORDS).title()}} for a in asins), batch)
    pairs = [pair_key(asins[i], asins[(i + 1 + rng.randrange(20)) % products]) for i in range(products)]
    pairs = list(dict.fromkeys(p for p in pairs if p[0] != p[1]))
    write_batches(driver, database, merge_co_buys,
                  ({"a": a, "b": b, "source": "synthetic"} for a, b in pairs), batch)

    def rows():
        for n in range(intentions):
            a, b = pairs[n % len(pairs)]
            rel = RELATIONS[n % len(RELATIONS)]
            text = sentence(rng, rel.template)
            yield {"id": intention_id(a, b, rel.name, "synthetic", "v1", f"{n}"), "asinA": a, "asinB": b,
                   "relation": rel.name,
                   "props": {"text": text, "status": STATUSES[n % len(STATUSES)], "model": "synthetic",
                             "promptVersion": "v1", "source": "synthetic"}}

    ids = []

    def tracked():
        for row in rows():
            ids.append(row["id"])
            yield row

    write_batches(driver, database, merge_intentions, tracked(), batch)
    if vectors:
        def unit(keys: list[str]) -> Iterator[dict]:
            for start in range(0, len(keys), batch):
                chunk = keys[start:start + batch]
                v = nprng.standard_normal((len(chunk), dims)).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                yield from ({"key": k, "embedding": e.tolist()} for k, e in zip(chunk, v, strict=True))

        with driver.session(database=database) as session:
            for kind, keys in ((set_product_embeddings, asins), (set_intention_embeddings, ids)):
                buf = []
                for row in unit(keys):
                    buf.append(row)
                    if len(buf) == batch:
                        session.execute_write(kind, buf, model)
                        buf = []
                if buf:
                    session.execute_write(kind, buf, model)
            session.execute_write(await_indexes, 1800)
    return {"products": products, "co_buys": len(pairs), "intentions": intentions}
