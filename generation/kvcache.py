"""Static KV caches for the fast path, and the arithmetic that sizes a batch to the GPU's memory.

A decode step with a static cache reads the whole cache, so each (batch, length) shape gets a cache
of exactly that size. All of them are views into one arena allocated once: switching between a
few shapes costs no allocation, and a shape's compiled graph keeps seeing the same addresses.
The views are bound into transformers' own `StaticCache` (its layers' `keys` / `values`), so the
model's attention code, masks and `torch.compile` support are the library's.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import torch
    from transformers import StaticCache
    from transformers.cache_utils import Cache

GIB = 1024**3

# A transformers model config: which attributes it has (head_dim, num_key_value_heads, vision_config)
# depends on the model family, so they are read dynamically.
ModelConfig: TypeAlias = Any
# One layer of a StaticCache: its initialiser and length counter differ between transformers 4.57 and 5.x.
CacheLayer: TypeAlias = Any


def text_config(config: ModelConfig) -> ModelConfig:
    return config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config


def kv_shape(config: ModelConfig) -> tuple[int, int, int]:
    """(layers, kv heads, head dim) of the language model."""
    text = text_config(config)
    heads = text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    return text.num_hidden_layers, kv_heads, head_dim


def kv_bytes_per_token(config: ModelConfig, dtype_bytes: int) -> int:
    """Keys and values of one token in every layer: 2 x layers x kv heads x head dim x dtype bytes."""
    layers, kv_heads, head_dim = kv_shape(config)
    return 2 * layers * kv_heads * head_dim * dtype_bytes


@dataclass(frozen=True)
class MemoryPlan:
    """How the memory left after the weights is split: a reserve for activations, the rest for KV."""

    free_bytes: int
    reserve_bytes: int
    kv_bytes_per_token: int
    logits_bytes_per_row: int

    @property
    def kv_budget_bytes(self) -> int:
        return max(0, self.free_bytes - self.reserve_bytes)

    def batch_for(self, context_tokens: int, max_batch: int = 1024, multiple: int = 8) -> int:
        """The largest batch whose KV cache (context_tokens per row) and logits fit the budget,
        rounded down to `multiple` when that leaves at least one multiple."""
        per_row = self.kv_bytes_per_token * max(1, context_tokens) + self.logits_bytes_per_row
        batch = min(max_batch, self.kv_budget_bytes // per_row)
        if batch >= multiple:
            batch -= batch % multiple
        return int(batch)

    def as_dict(self) -> dict:
        return {"free_gib": round(self.free_bytes / GIB, 2), "reserve_gib": round(self.reserve_bytes / GIB, 2),
                "kv_budget_gib": round(self.kv_budget_bytes / GIB, 2),
                "kv_mib_per_token": round(self.kv_bytes_per_token / 2**20, 4)}


def activation_reserve(config: ModelConfig, dtype_bytes: int, prefill_tokens: int, margin_bytes: int) -> int:
    """Memory a prefill chunk of `prefill_tokens` needs besides the cache: one layer's activations
    (hidden states, q/k/v/o, the MLP's three projections), the chunk's own temporary KV, the
    vision tower for the chunk's images, and a fixed margin (allocator, CUDA graph pools)."""
    text = text_config(config)
    hidden = text.hidden_size
    inter = getattr(text, "intermediate_size", 4 * hidden)
    per_token = (8 * hidden + 3 * inter) * dtype_bytes + kv_bytes_per_token(config, dtype_bytes)
    vision = getattr(config, "vision_config", None)
    vision_bytes = 0
    if vision is not None:
        tokens = (vision.image_size // vision.patch_size) ** 2 + 1
        images = max(1, prefill_tokens // max(1, tokens))  # at most this many images per chunk
        vinter = getattr(vision, "intermediate_size", 4 * vision.hidden_size)
        per_image = tokens * (8 * vision.hidden_size + 3 * vinter) * dtype_bytes
        per_image += vision.num_attention_heads * tokens * tokens * 4  # attention scores, worst case
        vision_bytes = images * per_image
    return int(prefill_tokens * per_token + vision_bytes + margin_bytes)


def plan_memory(config: ModelConfig, dtype_bytes: int, free_bytes: int, prefill_tokens: int,
                margin_bytes: int) -> MemoryPlan:
    vocab = text_config(config).vocab_size
    return MemoryPlan(free_bytes=int(free_bytes),
                      reserve_bytes=activation_reserve(config, dtype_bytes, prefill_tokens, margin_bytes),
                      kv_bytes_per_token=kv_bytes_per_token(config, dtype_bytes),
                      logits_bytes_per_row=vocab * 4 * 4)  # float32 logits, their processed copy, probs, graph output


# --- the arena and its views -----------------------------------------------------------------


class KVArena:
    """One flat tensor holding the keys and values of `capacity_tokens` tokens (rows x length)."""

    def __init__(self, config: ModelConfig, capacity_tokens: int, dtype: torch.dtype, device: torch.device | str):
        import torch

        self.config = config
        self.layers, self.kv_heads, self.head_dim = kv_shape(config)
        self.capacity_tokens = int(capacity_tokens)
        self.dtype, self.device = dtype, torch.device(device)
        per_token = 2 * self.layers * self.kv_heads * self.head_dim
        self.storage = torch.zeros(self.capacity_tokens * per_token, dtype=dtype, device=self.device)

    @property
    def nbytes(self) -> int:
        return self.storage.numel() * self.storage.element_size()

    def fits(self, batch: int, length: int) -> bool:
        return batch * length <= self.capacity_tokens

    def cache(self, batch: int, length: int) -> StaticCache:
        """A transformers `StaticCache` of `batch` rows x `length` positions over this arena's memory."""
        from transformers import StaticCache

        if not self.fits(batch, length):
            raise ValueError(f"a {batch} x {length} cache does not fit an arena of {self.capacity_tokens} tokens")
        cache = StaticCache(config=self.config, max_cache_len=length)
        if len(cache.layers) != self.layers:
            raise ValueError("the model's cache layers do not match its text config")
        size = batch * self.kv_heads * length * self.head_dim
        shape = (batch, self.kv_heads, length, self.head_dim)
        for i, layer in enumerate(cache.layers):
            keys = self.storage[(2 * i) * size:(2 * i + 1) * size].view(shape)
            values = self.storage[(2 * i + 1) * size:(2 * i + 2) * size].view(shape)
            bind_layer(layer, keys, values)
        return cache


def bind_layer(layer: CacheLayer, keys: torch.Tensor, values: torch.Tensor) -> None:
    """Make a static cache layer use `keys` / `values` as its storage.

    The layer initialises itself from tensors on the meta device (its own code sets its shape,
    dtype and counters, without allocating), then takes the given tensors as its storage. Works
    with transformers 4.57 (positions from `cache_position`) and 5.x (a per-layer length counter).
    """
    import torch

    meta_k = torch.empty((keys.shape[0], keys.shape[1], 0, keys.shape[3]), dtype=keys.dtype, device="meta")
    init = layer.lazy_initialization
    if len(inspect.signature(init).parameters) >= 2:
        init(meta_k, meta_k)
    else:
        init(meta_k)
    layer.keys, layer.values = keys, values
    layer.device = keys.device
    counter = getattr(layer, "cumulative_length", None)
    if isinstance(counter, torch.Tensor):
        layer.cumulative_length = torch.zeros((), dtype=counter.dtype, device=keys.device)
        torch._dynamo.mark_static_address(layer.cumulative_length)
    torch._dynamo.mark_static_address(keys)
    torch._dynamo.mark_static_address(values)
    layer.is_initialized = True


def set_length(cache: Cache, length: int) -> None:
    """After writing positions [0, length) directly: where the next `update` appends (transformers
    5.x counts per layer; 4.57 takes `cache_position` from the caller and keeps no counter)."""
    import torch

    for layer in cache.layers:
        counter = getattr(layer, "cumulative_length", None)
        if isinstance(counter, torch.Tensor):
            counter.fill_(length)
        elif isinstance(counter, int):
            layer.cumulative_length = length
        if hasattr(layer, "cumulative_length_int"):
            layer.cumulative_length_int = length


def layer_kv(cache: Cache, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(keys, values) of layer i of a filled cache: [batch, kv heads, length, head dim]."""
    layer = cache.layers[i]
    if layer.keys is None or layer.values is None:
        raise ValueError(f"layer {i} of the cache holds no keys and values yet")
    return layer.keys, layer.values
