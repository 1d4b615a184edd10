"""The in-process fast path: static KV caches in a few (batch, length) shapes, a compiled decode
step per shape, and one prefill of each shared prompt prefix.

Why: with `model.generate` and a dynamic cache a decode step of the 13B model runs far below the
GPU's memory bandwidth, and every pair's 20 intention prompts prefill the same image and feature
texts 20 times. Here

* requests are grouped by image; the longest token prefix common to a group (the stacked image
  and both products' texts: everything before the relation) is prefilled once per group, and its
  keys and values are copied to each of the group's rows;
* each row's remaining tokens (its suffix) are left-padded inside the suffix part of the cache, so
  a row reads [pad, prefix, pad, suffix, answer]; padding is masked and position ids count only
  real tokens, which gives the same logits as one left-padded prompt;
* the cache is `length` = prompt + answer rounded up to `length_bucket` positions, and the batch
  is padded with copies of its first row to one of at most `max_shapes_per_length` sizes, so a long
  run compiles a handful of shapes instead of one per batch;
* decode steps go through `model.get_compiled_call` (torch.compile, CUDA graphs) on CUDA, or run
  eagerly (`compiled=False`, the mode the CPU tests use).

Tokens come out as `model.generate` would choose them: greedy is argmax, sampling applies
temperature, top-k (as the model's generation config sets it) and top-p, then draws.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from generation.kvcache import KVArena, MemoryPlan, layer_kv, plan_memory, set_length

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, StaticCache
    from transformers.cache_utils import Cache
    from transformers.generation.logits_process import LogitsProcessor

log = logging.getLogger(__name__)

# A transformers processor: its tokenizer, image token and image processor are attributes that
# differ per model family (LLaVA's, the tiny test model's).
Processor: TypeAlias = Any


class Unsupported(Exception):
    """This batch cannot take the fast path (it falls back to `model.generate`)."""


class Sampling(Protocol):
    """What the fast path reads of a decoding (generation.backends.Decoding has it all)."""

    @property
    def max_new_tokens(self) -> int: ...
    @property
    def temperature(self) -> float: ...
    @property
    def top_p(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def min_new_tokens(self) -> int: ...
    @property
    def do_sample(self) -> bool: ...


@dataclass
class FastOptions:
    compiled: bool = False
    length_bucket: int = 128  # cache lengths are multiples of this
    context_tokens: int = 1536  # prompt + answer that sizes an automatic batch
    prefill_chunk_tokens: int = 8192  # tokens per prefill forward (bounds activation memory)
    memory_margin_gib: float = 2.0  # kept free besides the activation estimate
    max_shapes_per_length: int = 3  # batch sizes compiled per cache length
    auto_batch: bool = False  # size batches to the free memory (CUDA)
    max_batch: int = 1024
    compile_backend: str = "inductor"  # torch.compile's; tests trace with "eager"
    compile_mode: str | None = "reduce-overhead"  # CUDA graphs
    fullgraph: bool = False
    warmup_steps: int = 3  # compiled steps run on a new shape before its first real batch
    share_prefix: bool = True  # prefill a prefix common to rows with the same images once


@dataclass
class Stats:
    """What the backend measured since the last `take`: the CLI summary and the benchmark read it."""

    path: str = "fast"
    compiled: bool = False
    batches: int = 0
    requests: int = 0
    rows: int = 0  # model rows, with the padding rows
    new_tokens: int = 0
    prompt_tokens: int = 0
    prefilled_tokens: int = 0  # tokens actually run through prefill (shared prefixes once)
    prefill_s: float = 0.0
    decode_s: float = 0.0
    decode_steps: int = 0
    decode_row_steps: int = 0  # sum over batches of rows x steps
    warmup_s: float = 0.0
    fallback_batches: int = 0
    shapes: list[tuple[int, int]] = field(default_factory=list)  # [batch, length] of every cache shape made

    def as_dict(self) -> dict:
        busy = self.prefill_s + self.decode_s
        return {
            "path": self.path, "compiled": self.compiled, "batches": self.batches, "requests": self.requests,
            "rows": self.rows, "new_tokens": self.new_tokens, "prompt_tokens": self.prompt_tokens,
            "prefilled_tokens": self.prefilled_tokens,
            "prefill_s": round(self.prefill_s, 4), "decode_s": round(self.decode_s, 4),
            "decode_steps": self.decode_steps,
            "decode_step_ms": round(1000 * self.decode_s / self.decode_steps, 3) if self.decode_steps else None,
            "tokens_per_s": round(self.new_tokens / busy, 2) if busy else None,
            "warmup_s": round(self.warmup_s, 3), "fallback_batches": self.fallback_batches,
            "shapes": [list(s) for s in self.shapes],
        }


# --- planning (pure: token ids in, layouts out) --------------------------------------------------


def round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def common_prefix(rows: list[list[int]]) -> int:
    first = rows[0]
    n = min(len(r) for r in rows)
    for r in rows[1:]:
        i = 0
        while i < n and r[i] == first[i]:
            i += 1
        n = i
    return n


@dataclass
class Group:
    """Rows that share images and a token prefix; `prefix` is prefilled once for all of them."""

    image_key: int  # index into the batch's image groups
    rows: list[int]  # request indices
    prefix: int  # shared tokens (< every row's length: each row keeps >= 1 suffix token)


@dataclass
class Plan:
    """One model batch: real requests, their groups, and the cache layout."""

    groups: list[Group]
    batch: int  # rows including padding rows
    length: int  # cache positions
    prefix_area: int  # positions [0, prefix_area) hold the left-padded prefixes
    suffix_area: int  # then the left-padded suffixes; new tokens start at prefix_area + suffix_area

    @property
    def requests(self) -> list[int]:
        return [r for g in self.groups for r in g.rows]

    @property
    def prompt_area(self) -> int:
        return self.prefix_area + self.suffix_area


def make_groups(ids: list[list[int]], image_keys: list[int], image_ends: list[int],
                share: bool = True) -> list[Group]:
    """Groups of rows with the same images, each with the longest prefix all its rows share
    (capped so every row keeps a token to prefill with the cache: it yields the first logits).
    `image_ends[i]`: one past row i's last image token (0 without images); the prefix must hold it.
    Without `share` every row is its own group."""
    by_key: dict[tuple, list[int]] = {}
    for i, key in enumerate(image_keys):
        by_key.setdefault((key, i if not share else -1), []).append(i)
    groups = []
    for (key, _), rows in by_key.items():
        prefix = min(common_prefix([ids[r] for r in rows]), min(len(ids[r]) for r in rows) - 1)
        if prefix < max(image_ends[r] for r in rows):
            raise Unsupported("a shared prefix does not hold the whole image")
        groups.append(Group(key, rows, prefix))
    return groups


def layout(groups: list[Group], ids: list[list[int]], new_tokens: int, bucket: int) -> tuple[int, int, int]:
    """(prefix area, suffix area, cache length) for these groups."""
    prefix_area = max(g.prefix for g in groups)
    suffix_area = max(len(ids[r]) - g.prefix for g in groups for r in g.rows)
    return prefix_area, suffix_area, round_up(prefix_area + suffix_area + new_tokens, bucket)


class ShapePolicy:
    """Which batch size a batch of n rows runs at, for a cache length: an existing shape when one is
    large enough, a new one (n rounded up to 8) while fewer than `per_length` exist, else the largest."""

    def __init__(self, per_length: int = 3):
        self.per_length = max(1, per_length)
        self.known: dict[int, set[int]] = {}

    def batch(self, n: int, length: int, limit: int) -> int:
        sizes = self.known.setdefault(length, set())
        fitting = sorted(b for b in sizes if n <= b <= limit)
        if fitting:
            return fitting[0]
        # a full batch keeps its size; others round up to 8 rows
        size = min(limit, round_up(n, 8)) if len(sizes) < self.per_length else limit
        sizes.add(size)
        return size

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.known.values())


def split_plans(groups: list[Group], ids: list[list[int]], new_tokens: int, bucket: int,
                batch_limit: Callable[[int], int], policy: ShapePolicy) -> list[Plan]:
    """Cut groups (ordered by length) into model batches that fit `batch_limit(length)` rows.

    A group larger than a batch is split; each part prefills its prefix once."""
    ordered = sorted(groups, key=lambda g: (g.prefix, max(len(ids[r]) for r in g.rows)))
    plans: list[Plan] = []
    current: list[Group] = []

    def close() -> None:
        if current:
            pa, sa, length = layout(current, ids, new_tokens, bucket)
            n = sum(len(g.rows) for g in current)
            plans.append(Plan(list(current), policy.batch(n, length, max(n, batch_limit(length))), length, pa, sa))
            current.clear()

    queue = list(ordered)
    while queue:
        g = queue.pop(0)
        trial = current + [g]
        _, _, length = layout(trial, ids, new_tokens, bucket)
        room = batch_limit(length)
        if room < 1:
            raise Unsupported(f"a {length}-token cache does not fit in memory")
        used = sum(len(x.rows) for x in current)
        if used + len(g.rows) <= room:
            current.append(g)
            continue
        if current:
            close()
            queue.insert(0, g)
            continue
        # a single group larger than a batch: split it
        queue.insert(0, Group(g.image_key, g.rows[room:], g.prefix))
        current.append(Group(g.image_key, g.rows[:room], g.prefix))
        close()
    close()
    return plans


# --- running --------------------------------------------------------------------------------------


@dataclass
class Encoded:
    ids: list[list[int]]
    image_keys: list[int]  # per request: index of its image group
    image_ends: list[int]  # per request: one past its last image token
    pixel_values: torch.Tensor | None  # [images, ...]: the image groups' images in order
    image_slices: list[tuple[int, int]]  # per image group: its rows in pixel_values


class FastGenerator:
    """Runs batches of rendered prompts through static caches; one per backend."""

    def __init__(self, model: PreTrainedModel, processor: Processor, options: FastOptions, batch_size: int):
        import torch

        self.model, self.processor, self.opt = model, processor, options
        self.batch_size = batch_size
        self.device = model.device
        self.dtype = model.dtype
        self.policy = ShapePolicy(options.max_shapes_per_length)
        self.arena: KVArena | None = None
        self.caches: dict[tuple[int, int], StaticCache] = {}
        self.stats = Stats(compiled=options.compiled)
        self.memory: MemoryPlan | None = None
        forward = inspect.signature(model.forward).parameters
        self.takes_cache_position = "cache_position" in forward
        tok = processor.tokenizer
        self.pad_id = tok.pad_token_id
        self.image_token = getattr(processor, "image_token", "<image>")
        self.image_token_id = tok.convert_tokens_to_ids(self.image_token)
        config = model.generation_config
        eos = config.eos_token_id if config is not None else None
        eos = [eos] if isinstance(eos, int) else list(eos or [tok.eos_token_id])
        self.eos = torch.tensor(eos, device=self.device)
        self.top_k = getattr(model.generation_config, "top_k", None)
        self.step_fn: Callable[..., Any] = model
        if options.compiled:
            self.step_fn = compiled_call(model, options)
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            # blocks torch's allocator holds but does not use are free to this process as well
            free += torch.cuda.memory_reserved(self.device) - torch.cuda.memory_allocated(self.device)
            self.memory = plan_memory(model.config, torch.finfo(self.dtype).bits // 8, free,
                                      options.prefill_chunk_tokens, int(options.memory_margin_gib * 2**30))
        self.auto_batch = options.auto_batch and self.memory is not None  # sized to the memory: CUDA only
        if self.auto_batch and self.memory is not None:
            self.batch_size = max(1, self.memory.batch_for(options.context_tokens, options.max_batch))

    # memory ---------------------------------------------------------------------------------
    def batch_limit(self, length: int) -> int:
        """Rows a batch of this cache length may have."""
        cap = self.opt.max_batch if self.auto_batch else self.batch_size
        if self.memory is not None:
            cap = min(cap, self.memory.batch_for(length, self.opt.max_batch))
        return int(cap)

    def _arena_for(self, batch: int, length: int) -> KVArena:
        if self.arena is not None and self.arena.fits(batch, length):
            return self.arena
        if self.auto_batch and self.memory is not None:
            tokens = self.memory.kv_budget_bytes // self.memory.kv_bytes_per_token
        else:
            tokens = max(batch, self.batch_size) * max(length, self.opt.context_tokens)
            if self.memory is not None:
                tokens = min(tokens, self.memory.kv_budget_bytes // self.memory.kv_bytes_per_token)
        tokens = max(tokens, batch * length)
        if self.arena is not None:  # a larger arena: every cache and compiled shape starts again
            log.info("fast path: growing the KV arena to %d tokens", tokens)
            self.caches.clear()
            self.arena = None
            if self.device.type == "cuda":
                import torch

                torch.cuda.empty_cache()
        self.arena = KVArena(self.model.config, tokens, self.dtype, self.device)
        return self.arena

    def cache(self, batch: int, length: int) -> StaticCache:
        key = (batch, length)
        if key not in self.caches:
            arena = self._arena_for(batch, length)
            self.caches[key] = arena.cache(batch, length)
            self.stats.shapes.append(key)
            if self.opt.compiled:
                self._warm_up(self.caches[key], batch, length)
        return self.caches[key]

    def _warm_up(self, cache: StaticCache, batch: int, length: int) -> None:
        """Compile (and record the CUDA graph of) a new shape outside the timed batches."""
        import torch

        started = time.perf_counter()
        ids = torch.full((batch, 1), self.pad_id, dtype=torch.long, device=self.device)
        mask = torch.ones((batch, length), dtype=torch.long, device=self.device)
        with torch.no_grad():
            cache.reset()
            for t in range(self.opt.warmup_steps):
                pos = torch.full((batch, 1), t, dtype=torch.long, device=self.device)
                self._forward(self.step_fn, cache, ids, mask, pos, t, 1)
            cache.reset()
        sync(self.device)
        self.stats.warmup_s += time.perf_counter() - started

    def close(self) -> None:
        """Free the caches and forget compiled graphs (they hold the arena's addresses)."""
        import torch

        self.caches.clear()
        self.arena = None
        if self.opt.compiled:
            if hasattr(self.model, "_compiled_call"):
                del self.model._compiled_call
            torch.compiler.reset()
            if self.device.type == "cuda":
                try:  # the CUDA graphs' memory pools
                    from torch._inductor.cudagraph_trees import reset_cudagraph_trees

                    reset_cudagraph_trees()
                except ImportError:
                    pass
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # encoding ---------------------------------------------------------------------------------
    def encode(self, texts: list[str], images: list[list]) -> Encoded:
        """Token ids per request; pixel values once per distinct image group (a pair's stacked image
        serves all its relations). The ids are the processor's own, checked on the first rows."""
        keys: dict[tuple, int] = {}
        image_keys = []
        for imgs in images:
            image_keys.append(keys.setdefault(tuple(id(i) for i in imgs), len(keys)))
        firsts: dict[int, int] = {}
        for i, k in enumerate(image_keys):
            firsts.setdefault(k, i)
        group_images = [images[firsts[k]] for k in range(len(keys))]
        with_images = [k for k in range(len(keys)) if group_images[k]]
        pixel_values, slices, per_image = None, [(0, 0)] * len(keys), 0
        reference: dict[int, list[int]] = {}
        if with_images:
            flat = [img for k in with_images for img in group_images[k]]
            out = self.processor(images=flat, text=[texts[firsts[k]] for k in with_images], padding=True,
                                 return_tensors="pt")
            pixel_values = out["pixel_values"]
            at = 0
            for j, k in enumerate(with_images):
                n = len(group_images[k])
                slices[k] = (at, at + n)
                at += n
                row = out["input_ids"][j][out["attention_mask"][j].bool()].tolist()
                reference[firsts[k]] = row
                per_image = row.count(self.image_token_id) // n
        expanded = [t.replace(self.image_token, self.image_token * per_image) if per_image else t for t in texts]
        ids = self.processor.tokenizer(expanded)["input_ids"]
        for i, row in reference.items():
            if ids[i] != row:
                raise Unsupported("the tokenizer and the processor disagree on a prompt")
        ends = []
        for row, imgs in zip(ids, images, strict=True):
            if imgs:
                last = len(row) - 1 - row[::-1].index(self.image_token_id) if self.image_token_id in row else -1
                ends.append(last + 1)
            else:
                ends.append(0)
        return Encoded(ids, image_keys, ends, pixel_values, slices)

    # generation -------------------------------------------------------------------------------
    def plans(self, texts: list[str], images: list[list], max_new_tokens: int,
              enc: Encoded | None = None) -> list[Plan]:
        """The model batches these prompts would run as (nothing runs)."""
        enc = enc or self.encode(texts, images)
        groups = make_groups(enc.ids, enc.image_keys, enc.image_ends, self.opt.share_prefix)
        policy = ShapePolicy(self.opt.max_shapes_per_length)  # a dry run: the real policy stays as it is
        policy.known = {k: set(v) for k, v in self.policy.known.items()}
        return split_plans(groups, enc.ids, max_new_tokens, self.opt.length_bucket, self.batch_limit, policy)

    def generate(self, texts: list[str], images: list[list], decoding: Sampling) -> list[str]:
        import torch

        enc = self.encode(texts, images)
        groups = make_groups(enc.ids, enc.image_keys, enc.image_ends, self.opt.share_prefix)
        plans = split_plans(groups, enc.ids, decoding.max_new_tokens, self.opt.length_bucket,
                            self.batch_limit, self.policy)
        out: list[str] = [""] * len(texts)
        torch.manual_seed(decoding.seed)
        for plan in plans:
            for i, answer in zip(plan.requests, self.run(plan, enc, decoding), strict=True):
                out[i] = answer
        return out

    def run(self, plan: Plan, enc: Encoded, decoding: Sampling) -> list[str]:
        import torch

        dev, B, M = self.device, plan.batch, plan.length
        A, Pa, N = plan.prompt_area, plan.prefix_area, decoding.max_new_tokens
        cache = self.cache(B, M)
        started = time.perf_counter()
        rows = plan.requests
        row_group = [gi for gi, g in enumerate(plan.groups) for _ in g.rows]
        row_group += [0] * (B - len(rows))  # padding rows repeat the first group's first row
        rows_padded = rows + [rows[0]] * (B - len(rows))
        mask = torch.zeros((B, M), dtype=torch.long)
        mask[:, A:] = 1
        suffix = torch.full((B, plan.suffix_area), self.pad_id, dtype=torch.long)
        for b, (r, gi) in enumerate(zip(rows_padded, row_group, strict=True)):
            p = plan.groups[gi].prefix
            mask[b, Pa - p:Pa] = 1
            tail = enc.ids[r][p:]
            suffix[b, plan.suffix_area - len(tail):] = torch.tensor(tail)
            mask[b, A - len(tail):A] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        mask, positions, suffix = mask.to(dev), positions.to(dev), suffix.to(dev)
        with torch.no_grad():
            cache.reset()
            self._prefill_prefixes(plan, enc, cache, row_group)
            set_length(cache, Pa)
            logits = self._prefill_suffixes(cache, suffix, mask, positions, Pa)
            sync(dev)
            prefilled = time.perf_counter()
            tokens, steps = self._decode(cache, logits, mask, positions[:, A - 1] + 1, A, N, decoding)
            new = tokens[: len(rows)].cpu()
        finished = time.perf_counter()
        st = self.stats
        st.batches += 1
        st.requests += len(rows)
        st.rows += B
        st.prompt_tokens += sum(len(enc.ids[r]) for r in rows)
        # row_group goes on over the padding rows; only the real rows count
        st.prefilled_tokens += sum(g.prefix for g in plan.groups) + sum(len(enc.ids[r]) - plan.groups[gi].prefix
                                                                      for r, gi in zip(rows, row_group, strict=False))
        st.prefill_s += prefilled - started
        st.decode_s += finished - prefilled
        st.decode_steps += steps
        st.decode_row_steps += steps * B
        st.new_tokens += count_new_tokens(new, self.eos.cpu().tolist())
        answers = self.processor.batch_decode(new, skip_special_tokens=True)
        return [a.strip() for a in answers]

    def _forward(self, fn: Callable[..., Any], cache: Cache, ids: torch.Tensor, mask: torch.Tensor,
                 positions: torch.Tensor, start: int, length: int) -> torch.Tensor:
        import torch

        kwargs = dict(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                      use_cache=True, logits_to_keep=1)
        if self.takes_cache_position:
            kwargs["cache_position"] = torch.arange(start, start + length, device=self.device)
        return fn(**kwargs).logits[:, -1, :].to(dtype=torch.float32, copy=True)

    def _prefill_prefixes(self, plan: Plan, enc: Encoded, cache: Cache, row_group: list[int]) -> None:
        """Each group's prefix once, in chunks of groups; its keys and values copied to its rows."""
        import torch

        Pa, dev = plan.prefix_area, self.device
        if Pa == 0:
            return
        per_chunk = max(1, self.opt.prefill_chunk_tokens // Pa)
        layers = len(cache.layers)
        for start in range(0, len(plan.groups), per_chunk):
            chunk = list(range(start, min(start + per_chunk, len(plan.groups))))
            ids = torch.full((len(chunk), Pa), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), Pa), dtype=torch.long)
            pixels = []
            for j, gi in enumerate(chunk):
                g = plan.groups[gi]
                p = g.prefix
                ids[j, Pa - p:] = torch.tensor(enc.ids[g.rows[0]][:p])
                mask[j, Pa - p:] = 1
                lo, hi = enc.image_slices[g.image_key]
                if hi > lo and enc.pixel_values is not None:
                    pixels.append(enc.pixel_values[lo:hi])
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            kwargs = dict(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=positions.to(dev),
                          use_cache=True, logits_to_keep=1)
            if pixels:
                kwargs["pixel_values"] = torch.cat(pixels).to(dev, self.dtype)
            if self.takes_cache_position:
                kwargs["cache_position"] = torch.arange(Pa, device=dev)
            tmp = self.model(**kwargs).past_key_values
            runs = copy_runs(row_group, chunk)
            for i in range(layers):
                keys, values = layer_kv(cache, i)
                tk, tv = layer_kv(tmp, i)
                for lo, hi, j in runs:  # broadcast copies: no batch-sized temporary
                    keys[lo:hi, :, :Pa].copy_(tk[j:j + 1].expand(hi - lo, -1, -1, -1))
                    values[lo:hi, :, :Pa].copy_(tv[j:j + 1].expand(hi - lo, -1, -1, -1))
            del tmp

    def _prefill_suffixes(self, cache: Cache, suffix: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor,
                          Pa: int) -> torch.Tensor:
        """Every row's own tokens after its prefix, in chunks of positions; the last logits."""
        B, S = suffix.shape
        step = max(1, self.opt.prefill_chunk_tokens // B)
        logits = None
        for lo in range(0, S, step):
            hi = min(S, lo + step)
            logits = self._forward(self.model, cache, suffix[:, lo:hi], mask, positions[:, Pa + lo:Pa + hi],
                                   Pa + lo, hi - lo)
        if logits is None:
            raise Unsupported("no row has a token after its prefix")
        return logits

    def _decode(self, cache: Cache, logits: torch.Tensor, mask: torch.Tensor, next_pos: torch.Tensor, A: int, N: int,
                decoding: Sampling) -> tuple[torch.Tensor, int]:
        import torch

        B = logits.shape[0]
        dev = self.device
        tokens = torch.full((B, N), self.pad_id, dtype=torch.long, device=dev)
        done = torch.zeros(B, dtype=torch.bool, device=dev)
        pick = Chooser(decoding, self.eos, self.top_k)
        steps = 0
        for t in range(N):
            tok = pick(logits, t, tokens[:, :t])
            tok = torch.where(done, torch.full_like(tok, self.pad_id), tok)
            tokens[:, t] = tok
            done |= torch.isin(tok, self.eos)
            if t == N - 1 or (t + 1 >= decoding.min_new_tokens and bool(done.all())):
                break
            logits = self._forward(self.step_fn, cache, tok[:, None], mask, (next_pos + t)[:, None], A + t, 1)
            steps += 1
        sync(dev)
        return tokens, steps


class Chooser:
    """The next token as `generate` picks it: EOS barred until min_new_tokens, then greedy argmax, or
    temperature -> top-k -> top-p -> a draw from the softmax."""

    def __init__(self, decoding: Sampling, eos: torch.Tensor, top_k: int | None):
        from transformers.generation import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        self.decoding, self.eos = decoding, eos
        self.warpers: list[LogitsProcessor] = []
        if decoding.do_sample:
            self.warpers.append(TemperatureLogitsWarper(decoding.temperature))
            if top_k:
                self.warpers.append(TopKLogitsWarper(top_k))
            if decoding.top_p < 1.0:
                self.warpers.append(TopPLogitsWarper(decoding.top_p))

    @property
    def temperature(self) -> float | None:
        return getattr(self.warpers[0], "temperature", None) if self.warpers else None

    def warp(self, logits: torch.Tensor, so_far: torch.Tensor | None = None) -> torch.Tensor:
        for warper in self.warpers:
            logits = warper(so_far, logits)
        return logits

    def __call__(self, logits: torch.Tensor, t: int, so_far: torch.Tensor) -> torch.Tensor:
        import torch

        if t < self.decoding.min_new_tokens:
            logits[:, self.eos] = float("-inf")
        if not self.warpers:
            return logits.argmax(-1)
        probs = torch.softmax(self.warp(logits, so_far), dim=-1)
        return torch.multinomial(probs, num_samples=1).squeeze(1)


def copy_runs(row_group: list[int], chunk: list[int]) -> list[list[int]]:
    """[first row, end row, index in chunk] for each run of consecutive rows whose group is the same
    member of `chunk`: the rows one prefix is copied to in one go."""
    runs: list[list[int]] = []
    for b, gi in enumerate(row_group):
        if gi not in chunk:
            continue
        j = chunk.index(gi)
        if runs and runs[-1][1] == b and runs[-1][2] == j:
            runs[-1][1] += 1
        else:
            runs.append([b, b + 1, j])
    return runs


def compiled_call(model: PreTrainedModel, options: FastOptions) -> Callable[..., Any]:
    """The model's own compiled `__call__` (torch.compile, CUDA graphs), one graph per shape."""
    import torch
    from transformers import CompileConfig

    dyn = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(dyn, name):
            setattr(dyn, name, max(64, getattr(dyn, name)))
    if hasattr(dyn, "accumulated_recompile_limit"):
        dyn.accumulated_recompile_limit = max(512, dyn.accumulated_recompile_limit)
    return model.get_compiled_call(CompileConfig(fullgraph=options.fullgraph, dynamic=False,
                                                 backend=options.compile_backend,
                                                 # None is torch.compile's default mode; the annotation says str only
                                                 mode=options.compile_mode))  # type: ignore[arg-type]


def count_new_tokens(tokens: torch.Tensor, eos: list[int]) -> int:
    """Generated tokens per row up to and including the first EOS, summed."""
    total = 0
    for row in tokens.tolist():
        n = len(row)
        for i, t in enumerate(row):
            if t in eos:
                n = i + 1
                break
        total += n
    return total


def sync(device: torch.device | str) -> None:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        torch.cuda.synchronize(device)
