"""TextEncoder: one place for the model's flags, with a bounded cache of recent texts."""

from __future__ import annotations

import asyncio

from embedding.encoder import TextEncoder
from embedding.models import load_sentence_model


def test_encoder_cache_reuses_vectors_and_stays_bounded(settings):
    model = load_sentence_model(settings.embedding_model, settings.device)
    encoder = TextEncoder(model, settings.embedding_model, cache=2)

    async def embed(text: str) -> list[float]:  # as the API calls it: from a worker thread
        return await asyncio.to_thread(encoder.encode_one, text)

    async def run():
        first = await embed("keep drinks cold for camping")
        again = await embed("keep drinks cold for camping")
        other = await embed("protect my phone")
        await embed("a gift for a gardener")  # evicts the oldest entry
        return first, again, other

    first, again, other = asyncio.run(run())
    assert first == again and first != other and len(first) == 384
    assert encoder.hits == 1 and len(encoder._cache) == 2 and "keep drinks cold for camping" not in encoder._cache
    direct = model.encode(["protect my phone"], normalize_embeddings=True)[0]
    assert abs(sum(a * b for a, b in zip(direct, other, strict=True)) - 1.0) < 1e-4


def test_encode_batches_only_what_is_not_cached_and_keeps_order(settings):
    model = load_sentence_model(settings.embedding_model, settings.device)
    encoder = TextEncoder(model, settings.embedding_model, batch_size=8, cache=100)
    texts = ["a tent", "tent stakes", "a tent", "a mallet"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (4, 384) and (vectors[0] == vectors[2]).all()
    assert abs(float(vectors[1] @ vectors[1]) - 1.0) < 1e-5  # unit length: cosine is a dot product
    again = encoder.encode(["a mallet", "a tent"])
    assert (again[0] == vectors[3]).all() and (again[1] == vectors[0]).all()
    assert encoder.hits == 1 + 2  # the repeated "a tent" in the first call, both texts in the second
