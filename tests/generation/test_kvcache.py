"""KV-cache arithmetic: bytes per token of the paper's model, and the batch that fits a card."""

from __future__ import annotations

import pytest
import torch

from generation.kvcache import GIB, KVArena, MemoryPlan, activation_reserve, kv_bytes_per_token, plan_memory

SIZES = {  # LLaVA-1.5: CLIP ViT-L/14-336 + Vicuna; (hidden, layers, heads, MLP)
    "llava-1.5-7b": (4096, 32, 32, 11008),
    "llava-1.5-13b": (5120, 40, 40, 13824),
}


def _llava_config(arch: str):
    from generation.tiny import TinySpec, build_config, build_tokenizer

    hidden, layers, heads, inter = SIZES[arch]
    spec = TinySpec(image_size=336, patch_size=14, vision_hidden=1024, vision_layers=24, vision_heads=16,
                    text_hidden=hidden, text_layers=layers, text_heads=heads, text_intermediate=inter)
    config = build_config(build_tokenizer(), spec, vocab_size=32064)
    config.vision_config.intermediate_size = 4096
    return config


def test_kv_bytes_per_token_of_llava_13b_and_7b():
    # 2 (keys, values) x layers x kv heads x head dim x 2 bytes (bf16)
    assert kv_bytes_per_token(_llava_config("llava-1.5-13b"), 2) == 2 * 40 * 40 * 128 * 2 == 819_200
    assert kv_bytes_per_token(_llava_config("llava-1.5-7b"), 2) == 2 * 32 * 32 * 128 * 2 == 524_288


def test_batch_that_fits_the_memory():
    plan = MemoryPlan(free_bytes=100 * GIB, reserve_bytes=10 * GIB, kv_bytes_per_token=819_200,
                      logits_bytes_per_row=32064 * 16)
    per_row = 819_200 * 1024 + 32064 * 16
    raw = (90 * GIB) // per_row
    assert plan.batch_for(1024) == raw - raw % 8 == 112
    assert plan.batch_for(2048) < plan.batch_for(1024) and plan.batch_for(2048) % 8 == 0
    assert plan.batch_for(1024, max_batch=60) == 56  # capped, then rounded down to a multiple of 8
    tiny = MemoryPlan(free_bytes=GIB, reserve_bytes=GIB - 5 * 819_200 * 100, kv_bytes_per_token=819_200,
                      logits_bytes_per_row=0)
    assert tiny.batch_for(100) == 5  # under 8 rows: not rounded away to nothing
    assert MemoryPlan(GIB, 2 * GIB, 819_200, 0).batch_for(100) == 0


def test_the_13b_model_on_an_h200():
    """139 GiB usable, 27 GB of bf16 weights: ~104 GiB of KV cache for the 13B model."""
    config = _llava_config("llava-1.5-13b")
    free = 139 * GIB - 27 * 10**9
    plan = plan_memory(config, 2, free, prefill_tokens=8192, margin_bytes=2 * GIB)
    assert 8 * GIB < plan.reserve_bytes < 12 * GIB  # activations + a prefill chunk's own KV + margin
    # 1024 positions x 0.78 MiB = 0.78 GiB a row: 132.7 rows -> 128; 1536 positions: 88.5 -> 88
    assert plan.batch_for(1024) == 128 and plan.batch_for(1536) == 88
    assert activation_reserve(config, 2, 16384, 0) > activation_reserve(config, 2, 8192, 0)


def test_arena_caches_are_views_of_one_allocation(tiny_config):
    arena = KVArena(tiny_config, capacity_tokens=8 * 64, dtype=torch.float32, device="cpu")
    a, b = arena.cache(8, 64), arena.cache(4, 32)
    ka, kb = a.layers[0].keys, b.layers[0].keys
    assert ka.shape[0] == 8 and ka.shape[2] == 64 and kb.shape[0] == 4 and kb.shape[2] == 32
    assert ka.data_ptr() == kb.data_ptr() == arena.storage.data_ptr()  # no memory of their own
    assert not arena.fits(9, 64)
    with pytest.raises(ValueError):
        arena.cache(16, 64)


@pytest.fixture(scope="module")
def tiny_config():
    from generation.tiny import TinySpec, build_config, build_tokenizer

    return build_config(build_tokenizer(), TinySpec())
