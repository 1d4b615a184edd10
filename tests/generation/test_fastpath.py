"""The fast path (static KV caches, shared prefixes, bucketed shapes) against `model.generate`.

The tiny LLaVA's own random weights (std 0.02) make nearly every prompt decode to the same text, so
these tests re-draw its matrices with std 0.3: then each prompt gets its own greedy answer, and a
wrong position, mask or copied prefix changes the text.
"""

from __future__ import annotations

import random

import pytest
import torch
from PIL import Image

from generation.backends import Decoding, Request, TransformersBackend, resolve_compile
from generation.fastpath import (
    Chooser,
    FastGenerator,
    FastOptions,
    ShapePolicy,
    Unsupported,
    common_prefix,
    copy_runs,
    make_groups,
    split_plans,
)
from generation.prompts import features_prompt, intention_prompt
from mindkb.errors import BadOption
from mindkb.relations import RELATIONS
from tests.support.generation import build_tiny

GREEDY = Decoding(max_new_tokens=8, temperature=0.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny-llava-fast"))


def sensitive(backend: TransformersBackend) -> TransformersBackend:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in backend.model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return backend


def load(tiny, compile: str, batch_size: int = 8, **options) -> TransformersBackend:
    backend = TransformersBackend.load(str(tiny), "cpu", batch_size=batch_size, compile=compile,
                                       fast_options=FastOptions(length_bucket=16, **options))
    return sensitive(backend)


def workload() -> list[Request]:
    """Three pairs with 5-7 relations each (one stacked image object per pair, as the stage builds
    them), a features prompt and a text-only prompt: groups, lone rows and mixed images."""
    images = [Image.new("RGB", (40, 90), (30 * i, 60, 90)) for i in range(3)]
    out = []
    for p, img in enumerate(images):
        for rel in RELATIONS[:5 + p]:
            out.append(Request(intention_prompt(f"blue cable {p}", "a durable cable " * (p + 1), "red case",
                                                "a good phone case", rel.template), [img]))
    out.append(Request(features_prompt("black shoe", "comfortable"), [images[0].copy()]))
    out.append(Request("text only question about a cable", []))
    return out


def test_greedy_text_is_identical_through_the_fast_and_the_plain_path(tiny):
    requests = workload()
    plain = load(tiny, "off")
    expected = plain.generate(requests, GREEDY)
    assert plain.fast is None and plain.take_stats()["plain"]["requests"] == len(requests)
    assert len(set(expected)) >= len(requests) - 2  # every prompt its own answer: the check can fail

    fast = load(tiny, "static")
    assert fast.fast is not None and not fast.fast.opt.compiled
    assert fast.generate(requests, GREEDY) == expected
    stats = fast.take_stats()["fast"]
    assert stats["requests"] == len(requests) and stats["fallback_batches"] == 0
    assert stats["rows"] > stats["requests"]  # batches padded with copies of a row, dropped again
    assert stats["prefilled_tokens"] < stats["prompt_tokens"] / 2  # each pair's prefix prefilled once
    assert all(length % 16 == 0 for _, length in stats["shapes"])  # cache lengths on the bucket grid

    fast.fast.opt.share_prefix = False  # one prefill per row: the same text again
    assert fast.generate(requests, GREEDY) == expected
    unshared = fast.take_stats()["fast"]
    assert unshared["prefilled_tokens"] == unshared["prompt_tokens"]


def test_a_compiled_decode_step_gives_the_same_text(tiny):
    """torch.compile over the static cache bound to the arena, traced whole (fullgraph) on both
    transformers versions; the Dynamo-only "eager" backend keeps it fast on the CPU (the GPU uses
    inductor with CUDA graphs)."""
    requests = workload()[:6]
    expected = load(tiny, "off").generate(requests, GREEDY)
    backend = load(tiny, "off")
    options = FastOptions(compiled=True, length_bucket=16, compile_backend="eager", compile_mode=None,
                          fullgraph=True, warmup_steps=2)
    backend.fast = FastGenerator(backend.model, backend.processor, options, 8)
    from torch._dynamo.utils import counters

    before = counters["stats"]["unique_graphs"]
    try:
        assert backend.generate(requests, GREEDY) == expected
        stats = backend.take_stats()
        assert stats["compiled"] and stats["fast"]["warmup_s"] > 0 and len(stats["fast"]["shapes"]) == 1
        assert stats["dynamo_graphs"] == before + 1  # one graph, from the warm-up: the real steps reused it
        assert backend.generate(requests[::-1], GREEDY) == expected[::-1]
        again = backend.take_stats()  # the real steps ran the graph the warm-up compiled: no recompile
        assert again["dynamo_graphs"] == stats["dynamo_graphs"] and again["fast"]["warmup_s"] == 0
    finally:
        backend.close()


def test_sampling_keeps_the_papers_temperature(tiny):
    decoding = Decoding(max_new_tokens=6, seed=4)
    assert decoding.temperature == 0.2 and decoding.do_sample
    chooser = Chooser(decoding, torch.tensor([2]), top_k=None)
    logits = torch.tensor([[0.5, 1.0, -0.3, 2.0]])
    assert torch.allclose(chooser.warp(logits.clone()), logits / 0.2)
    assert Chooser(GREEDY, torch.tensor([2]), top_k=None).warpers == []

    fast = load(tiny, "static")
    requests = workload()[:5]
    sampled = fast.generate(requests, decoding)
    assert fast.generate(requests, decoding) == sampled  # the stored seed reproduces the draw
    assert sampled != fast.generate(requests, GREEDY)


def _claims(rng: random.Random, n: int, relations=None):
    """Token ids of n claims: a few pairs each, a ~600-1000-token shared prefix per pair (its
    stacked image and texts) and a 10-40-token suffix per relation."""
    for _ in range(n):
        ids, keys, ends = [], [], []
        for pair in range(rng.randint(1, 4) if relations is None else 3):
            prefix = [1] * rng.randint(600, 1000)
            for _ in range(rng.randint(1, 20) if relations is None else relations):
                ids.append(prefix + [2] * rng.randint(10, 40))
                keys.append(pair)
                ends.append(580)
        yield ids, make_groups(ids, keys, ends)


def test_shapes_stay_few_over_many_batches_of_varying_length():
    rng = random.Random(7)
    policy = ShapePolicy(per_length=3)
    shapes, batches, split = set(), 0, 0
    for ids, groups in _claims(rng, 300):
        plans = split_plans(groups, ids, 128, 128, lambda length: 48, policy)
        split += len(plans) > 1
        for plan in plans:
            assert len(plan.requests) <= plan.batch <= 48 and plan.length % 128 == 0
            assert plan.length >= plan.prompt_area + 128
            shapes.add((plan.batch, plan.length))
            batches += 1
    lengths = {length for _, length in shapes}
    assert batches > 300 and split > 10
    assert len(lengths) <= 5 and len(shapes) <= 3 * len(lengths)  # <= 15 compiles in 300+ batches

    steady, policy = set(), ShapePolicy(per_length=3)  # full claims (3 pairs x 20): one size per length
    for ids, groups in _claims(rng, 100, relations=20):
        steady |= {(p.batch, p.length) for p in split_plans(groups, ids, 128, 128, lambda n: 60, policy)}
    assert len(steady) == len({length for _, length in steady}) and {b for b, _ in steady} == {60}


def test_groups_share_exactly_their_common_prefix():
    ids = [[5, 6, 7, 8, 9], [5, 6, 7, 1], [5, 6, 2, 2, 2, 2], [3, 3]]
    assert common_prefix(ids[:2]) == 3
    groups = make_groups(ids, [0, 0, 0, 1], [2, 2, 2, 0])
    assert [(g.rows, g.prefix) for g in groups] == [([0, 1, 2], 2), ([3], 1)]  # a lone row keeps 1 token
    with pytest.raises(Unsupported):  # a prefix that would cut through the image tokens
        make_groups(ids, [0, 0, 0, 1], [3, 3, 3, 0])
    # rows 0-1 group 0, 2-4 group 1, a padding row (a copy of group 0's first row): one copy per run
    assert copy_runs([0, 0, 1, 1, 1, 0], [0, 1]) == [[0, 2, 0], [2, 5, 1], [5, 6, 0]]
    assert copy_runs([0, 0, 1, 1, 1, 0], [1]) == [[2, 5, 0]]  # a chunk holding group 1 only


def test_fast_path_switches():
    assert resolve_compile("off", "cuda", 64) == (False, False)
    assert resolve_compile("on", "cuda", 1) == (True, True)
    assert resolve_compile("on", "cpu", 64) == (True, False)  # no torch.compile on the CPU
    assert resolve_compile("auto", "cuda", 8) == (True, True)
    assert resolve_compile("auto", "cuda", 4) == (False, False)
    assert resolve_compile("auto", "cuda", 4, auto_batch=True) == (True, True)
    assert resolve_compile("auto", "cpu", 64) == (False, False)
    assert resolve_compile("on", "cuda", 64, quantized=True) == (False, False)
    with pytest.raises(BadOption):
        resolve_compile("fast", "cuda", 8)
