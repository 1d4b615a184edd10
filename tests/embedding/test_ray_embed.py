"""`mind embed --engine ray` on a local 2-CPU Ray: the vectors of the in-process encoder, every node
once, incremental re-runs."""

from __future__ import annotations

import numpy as np

from embedding.embed import KINDS
from embedding.encoder import TextEncoder
from embedding.ray_embed import embed_all_on_ray
from graph.driver import read
from tests.support.api_graph import INTENTIONS, PAGED, PRODUCTS, build_graph


def _stored(tx, label: str) -> dict:
    key = {"Intention": "id", "Product": "asin"}[label]
    query = f"MATCH (n:{label}) RETURN n.{key} AS key, n.embedding AS e, n.embeddingModel AS m"
    return {r["key"]: (r["e"], r["m"]) for r in tx.run(query)}


def test_ray_embed_stores_the_in_process_vectors_once(driver, settings, ray_cluster, cli):
    db = settings.neo4j_database
    build_graph(driver, db)
    texts = {}
    for kind in KINDS:  # what needs a vector, read as the pipeline reads it
        texts.update({r["key"]: kind.text(r) for r in read(driver, db, kind.page, settings.embedding_model, "", 1000)})

    res = cli("embed", "--engine", "ray", "--ray-address", ray_cluster, "--actors", "2", "--batch-size", "4", "--json",
              env={"MIND_RAY_PARTITION_SIZE": "5", "MIND_EMBEDDING_BACKEND": "torch"})
    assert res.returncode == 0, res.stderr[-2000:]
    s = res.summary
    assert (s["intentions"], s["products"]) == (len(INTENTIONS) + len(PAGED), len(PRODUCTS))
    assert s["embedded"] == len(texts) and s["engine"] == "ray" and s["actors"] == 2 and s["partition"] == 5

    stored = {**read(driver, db, _stored, "Intention"), **read(driver, db, _stored, "Product")}
    assert set(stored) == set(texts)
    # torch: int8 ONNX quantises activations per batch, so its vectors move with the batching.
    encoder = TextEncoder.load(settings.embedding_model, settings.device, 4, backend="torch")
    keys = sorted(texts)
    expected = encoder.encode([texts[k] for k in keys])
    got = np.array([stored[k][0] for k in keys], dtype=np.float32)
    assert {stored[k][1] for k in keys} == {settings.embedding_model}
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert float(np.min(np.sum(got * expected, axis=1))) > 0.9999

    again = embed_all_on_ray(driver, settings.model_copy(update={"ray_partition_size": 5}), 4)
    assert again["embedded"] == 0
    driver.execute_query("MATCH (p:Product {asin: 'B0MUG00001'}) SET p.embeddingModel = 'other-model'", database_=db)
    third = embed_all_on_ray(driver, settings, 4)
    assert (third["products"], third["intentions"]) == (1, 0)
