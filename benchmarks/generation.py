"""Intention-generation throughput: the authors' loop, the plain pipeline and the fast path, in one run.

(a) reference: as the released MIND scripts, one request at a time (batch 1), the two images read
    from disk, stacked and processed afresh for every relation;
(b) pipeline: `TransformersBackend.generate` as `mind generate` uses it: each pair's stacked image
    made once for all its relations, then per `--compile` mode:
      off     `model.generate`, requests sorted by length, left padding, a dynamic cache;
      static  the fast path (generation/fastpath.py) with its decode step run eagerly;
      on      the fast path with the decode step compiled (CUDA graphs on CUDA);
    each mode with each pair's prompt prefix prefilled once (and, with `--no-share` too, per row).
Every run decodes the same prompts with the paper's sampling (temperature 0.2) and a FIXED output
length (min_new_tokens = max_new_tokens), so every path produces the same number of tokens. A
mode's first batch (compiling its shape) is run before its timing and reported as `warmup_s`.

    python -m benchmarks.generation --json                          # tiny random LLaVA, CPU
    python -m benchmarks.generation --arch llava-1.5-13b --device cuda --no-reference \\
        --compile off,on --batch-size 60 --batches 2 --max-new-tokens 128 --json
    python -m benchmarks.generation --arch llava-1.5-7b --scale 0.03 --pairs 1 --relations 2 --json

The report projects the paper's run (126,142 pairs x 20 relations of intentions, as many filter
verdicts, 107,215 feature descriptions) from the measured rates: on one GPU, and on N GPUs through
the Ray engine assuming each GPU's actor keeps the measured rate (linear in GPUs).
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from generation.backends import Decoding, Request, TransformersBackend, pick_device, pick_dtype
from generation.fastpath import FastOptions, Processor
from generation.images import load_image, stack_vertical
from generation.prompts import intention_prompt
from mindkb.relations import RELATIONS, Relation

if TYPE_CHECKING:
    from transformers import PreTrainedModel

REPO = Path(__file__).resolve().parents[1]

FEATURES = (
    "The product is a {colour} item with a clean, modern design and sturdy construction. It appears well "
    "made, with smooth edges and a matte finish that suggests good quality. Its compact size makes it easy "
    "to carry, and the visible details indicate attention to durability. A consumer could use it every day "
    "at home, at work or while travelling, and it would make a practical gift for friends and family."
)

# The paper's run (its Table 1 and section 3): pairs, relations, products described.
PAPER_PAIRS = 126_142
PAPER_RELATIONS = 20
PAPER_PRODUCTS = 107_215
INTENTION_TOKENS = 130  # an intention is at most 120 words; ~130 tokens on average

# LLaVA-1.5: CLIP ViT-L/14-336 and a Vicuna (Llama-2) language model.
TEXT_SIZES = {
    "llava-1.5-7b": dict(text_hidden=4096, text_layers=32, text_heads=32, text_intermediate=11008),
    "llava-1.5-13b": dict(text_hidden=5120, text_layers=40, text_heads=40, text_intermediate=13824),
}


def llava_spec(arch: str, scale: float = 1.0) -> dict:
    """LLaVA-1.5's sizes (7b or 13b), optionally scaled down for tests."""
    full = TEXT_SIZES[arch]

    def dim(size: int, heads: int) -> int:  # a width split across heads
        return size if scale >= 1 else max(heads, int(size * scale) // heads * heads)

    def inter(size: int) -> int:  # an MLP width: 13B's 13824 is no multiple of its 40 heads
        return size if scale >= 1 else max(8, int(size * scale) // 8 * 8)

    vision_heads, text_heads = 16, full["text_heads"]
    if scale < 1:
        vision_heads, text_heads = 2, 4
    image = 336 if scale >= 1 else max(28, int(336 * scale) // 14 * 14)
    return dict(
        image_size=image, patch_size=14,
        vision_hidden=dim(1024, vision_heads), vision_layers=max(2, round(24 * scale)), vision_heads=vision_heads,
        vision_intermediate=inter(4096),
        text_hidden=dim(full["text_hidden"], text_heads), text_layers=max(2, round(full["text_layers"] * scale)),
        text_heads=text_heads, text_intermediate=inter(full["text_intermediate"]),
        vocab=32064, max_positions=4096,
    )


def llava_7b_spec(scale: float) -> dict:
    return llava_spec("llava-1.5-7b", scale)


def build_synthetic(arch: str, scale: float, device: str, dtype: str) -> tuple[PreTrainedModel, Processor]:
    """(model, processor): LLaVA-1.5 sizes with random weights, initialised on the target device
    (a 13B model initialised on the CPU would take minutes)."""
    import torch
    from transformers import LlavaForConditionalGeneration

    from generation.tiny import TinySpec, build_config, build_processor, build_tokenizer

    s = llava_spec(arch, scale)
    tokenizer = build_tokenizer()
    processor = build_processor(tokenizer, s["image_size"], s["patch_size"])
    spec = TinySpec(image_size=s["image_size"], patch_size=s["patch_size"], vision_hidden=s["vision_hidden"],
                    vision_layers=s["vision_layers"], vision_heads=s["vision_heads"], text_hidden=s["text_hidden"],
                    text_layers=s["text_layers"], text_heads=s["text_heads"],
                    text_intermediate=s["text_intermediate"], max_positions=s["max_positions"])
    config = build_config(tokenizer, spec, vocab_size=s["vocab"])
    config.vision_config.intermediate_size = s["vision_intermediate"]
    dev = pick_device(device)
    torch_dtype = pick_dtype(dtype, dev)
    with torch.device(dev):
        model = LlavaForConditionalGeneration._from_config(config, dtype=torch_dtype).eval()
    return model, processor


def make_inputs(folder: Path, pairs: int, size: int) -> list[dict]:
    out = []
    for i in range(pairs):
        items = []
        for side, colour in (("a", (40 + 20 * i % 200, 90, 160)), ("b", (200, 60 + 15 * i % 180, 40))):
            img = Image.new("RGB", (size, size), colour)
            ImageDraw.Draw(img).rectangle((size // 5, size // 5, size * 4 // 5, size * 4 // 5), outline=(255, 255, 255), width=4)
            path = folder / f"{i}{side}.png"
            img.save(path)
            items.append(str(path))
        out.append({"nameA": f"blue charging cable {i}", "nameB": f"red phone case {i}", "imageA": items[0],
                    "imageB": items[1], "featuresA": FEATURES.format(colour="blue"),
                    "featuresB": FEATURES.format(colour="red")})
    return out


def prompt(pair: dict, template: str) -> str:
    return intention_prompt(pair["nameA"], pair["featuresA"], pair["nameB"], pair["featuresB"], template)


def reference(backend: TransformersBackend, inputs: list[dict], relations: Sequence[Relation], decoding: Decoding) -> int:
    """One request at a time; images re-read, re-stacked and re-processed for every relation."""
    n = 0
    for pair in inputs:
        for rel in relations:
            stacked = stack_vertical(load_image(pair["imageA"]), load_image(pair["imageB"]))
            text = backend.render(Request(prompt(pair, rel.template), [stacked]))
            backend._generate_batch([text], [[stacked]], decoding)
            n += 1
    return n


def requests_for(inputs: list[dict], relations: Sequence[Relation]) -> list[Request]:
    requests = []
    for pair in inputs:
        stacked = stack_vertical(load_image(pair["imageA"]), load_image(pair["imageB"]))  # once per pair
        requests += [Request(prompt(pair, rel.template), [stacked]) for rel in relations]
    return requests


def pipeline(backend: TransformersBackend, inputs: list[dict], relations: Sequence[Relation], decoding: Decoding) -> int:
    requests = requests_for(inputs, relations)
    backend.generate(requests, decoding)
    return len(requests)


# --- one measured mode ----------------------------------------------------------------------------


def pairs_per_batch(backend: TransformersBackend, sample: list[dict], relations: Sequence[Relation], decoding: Decoding) -> int:
    """Whole pairs per model batch: the fast path's row limit at this prompt's cache length."""
    if backend.fast is None:
        return max(1, backend.batch_size // len(relations))
    reqs = requests_for(sample[:1], relations)
    texts = [backend.render(r) for r in reqs]
    plans = backend.fast.plans(texts, [r.images for r in reqs], decoding.max_new_tokens)
    return max(1, backend.fast.batch_limit(plans[0].length) // len(relations))


def measure(backend: TransformersBackend, folder: Path, relations: Sequence[Relation], decoding: Decoding, batches: int,
            pairs: int | None, image_size: int, share: bool = True) -> dict:
    """Warm-up batch (compiles the shape), then the timed run; the backend's own split of the time."""
    if backend.fast is not None:
        backend.fast.opt.share_prefix = share
    sample = make_inputs(folder, 1, image_size)
    per_batch = pairs_per_batch(backend, sample, relations, decoding)
    n_pairs = pairs if pairs is not None else per_batch * batches
    inputs = make_inputs(folder, max(n_pairs, per_batch), image_size)
    backend.take_stats()
    started = time.perf_counter()
    if backend.fast is not None:  # one full batch: it compiles the shape the timed batches use
        pipeline(backend, inputs[:per_batch], relations, decoding)
    else:  # kernels and allocator only
        pipeline(backend, inputs[:1], relations[:2], decoding)
    warm = backend.take_stats()
    warmup_wall = time.perf_counter() - started
    started = time.perf_counter()
    units = pipeline(backend, inputs[:n_pairs], relations, decoding)
    wall = time.perf_counter() - started
    stats = backend.take_stats()
    part = stats.get("fast") or stats.get("plain") or {}
    out = {
        "compile": backend.compile_mode, "path": stats["path"], "compiled": stats.get("compiled", False),
        "share_prefix": share if backend.fast is not None else False,
        "units": units, "pairs": n_pairs, "pairs_per_batch": per_batch, "rows_per_batch": per_batch * len(relations),
        "wall_s": round(wall, 3), "units_per_s": round(units / wall, 3),
        "tokens": part.get("new_tokens"), "tokens_per_s": round(part.get("new_tokens", 0) / wall, 2),
        "prefill_s": part.get("prefill_s"), "decode_s": part.get("decode_s"),
        "decode_step_ms": part.get("decode_step_ms"), "batches": part.get("batches"),
        "model_rows": part.get("rows"), "prompt_tokens_per_request": round(part.get("prompt_tokens", 0) / max(1, units), 1),
        "prefilled_tokens": part.get("prefilled_tokens"), "shapes": (warm.get("fast") or {}).get("shapes", []),
        "warmup_s": round(warmup_wall, 3), "compile_warmup_s": (warm.get("fast") or {}).get("warmup_s", 0.0),
        "peak_memory_gib": max(warm.get("peak_memory_gib") or 0, stats.get("peak_memory_gib") or 0) or None,
    }
    for key in ("memory_plan", "kv_arena_gib"):
        if key in stats:
            out[key] = stats[key]
    if "dynamo_graphs" in stats:  # equal: the timed batches ran the graphs the warm-up compiled
        out["dynamo_graphs"] = [warm.get("dynamo_graphs"), stats["dynamo_graphs"]]
    return out


# --- the paper's run ------------------------------------------------------------------------------


def paper_tokens(intention_tokens: int = INTENTION_TOKENS) -> dict:
    """Generated tokens of the paper's run, with the stages' budgets from the settings."""
    from generation.requests import token_budgets
    from mindkb.settings import Settings

    budgets = token_budgets(Settings())
    units = PAPER_PAIRS * PAPER_RELATIONS
    return {
        "intentions": units * min(intention_tokens, budgets["intentions"]),
        "filter": units * budgets["filter"],
        "features": PAPER_PRODUCTS * budgets["features"],
    }


def project(shared_rate: float, unshared_rate: float | None = None, gpus: tuple[int, ...] = (8, 16)) -> dict:
    """Wall time of the paper's run at the measured tokens/s: intentions at the shared-prefix rate,
    filter verdicts and feature descriptions (which share less of their prompts) at the per-row rate.
    N GPUs: one Ray actor per GPU at the same rate each (linear scaling assumed, the engine's fixed
    start-up per stage left out)."""
    tokens = paper_tokens()
    other = unshared_rate or shared_rate
    seconds = tokens["intentions"] / shared_rate + (tokens["filter"] + tokens["features"]) / other
    out = {"tokens": tokens, "total_tokens": sum(tokens.values()),
           "rate_intentions_tok_s": round(shared_rate, 1), "rate_other_tok_s": round(other, 1),
           "one_gpu_days": round(seconds / 86400, 2),
           "assumption": "N GPUs = N Ray actors, each at the measured single-GPU rate"}
    for n in gpus:
        out[f"gpus_{n}_hours"] = round(seconds / n / 3600, 2)
    return out


# --- main ------------------------------------------------------------------------------------------


def load_backend(args: argparse.Namespace, tmp_path: Path, model: PreTrainedModel | None = None,
                 processor: Processor = None) -> tuple[PreTrainedModel, Processor]:
    if model is not None:
        return model, processor
    if args.model:
        b = TransformersBackend.load(args.model, args.device, args.dtype)
        return b.model, b.processor
    if args.arch == "tiny":
        from generation.tiny import write_tiny_model

        write_tiny_model(tmp_path / "tiny")
        b = TransformersBackend.load(str(tmp_path / "tiny"), args.device, args.dtype)
        return b.model, b.processor
    return build_synthetic(args.arch, args.scale, args.device, args.dtype)


def backend_for(model: PreTrainedModel, processor: Processor, name: str, mode: str, batch: str,
                args: argparse.Namespace) -> TransformersBackend:
    auto = batch == "auto"
    size = 8 if auto else int(batch)
    options = FastOptions(length_bucket=args.length_bucket, auto_batch=auto and mode != "off")
    return TransformersBackend(model, processor, name, batch_size=size, compile=mode, fast_options=options)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=("tiny", *TEXT_SIZES), default="tiny")
    ap.add_argument("--scale", type=float, default=1.0, help="Scale the LLaVA sizes (tests: 0.03).")
    ap.add_argument("--model", help="A checkpoint folder or id instead of a synthetic model.")
    ap.add_argument("--pairs", type=int, default=None, help="Pairs per timed run (default: --batches full batches).")
    ap.add_argument("--batches", type=int, default=1, help="Timed batches per mode when --pairs is not given.")
    ap.add_argument("--relations", type=int, default=20, help="Relations per pair (1-20).")
    ap.add_argument("--batch-size", default="20", help="Rows per model batch, or auto (the fast path: what fits).")
    ap.add_argument("--compile", default="off", help="Comma-separated modes to measure: off, static, on, auto.")
    ap.add_argument("--no-share", action="store_true", help="Also measure the fast path without prefix sharing.")
    ap.add_argument("--no-reference", action="store_true", help="Skip the batch-1 loop (slow on big models).")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--length-bucket", type=int, default=128)
    ap.add_argument("--image-size", type=int, default=500, help="Side of the drawn product images (px).")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--json", action="store_true")
    return ap


def run(args: argparse.Namespace, model: PreTrainedModel | None = None, processor: Processor = None) -> dict:
    relations = RELATIONS[: max(1, min(20, args.relations))]
    decoding = Decoding(max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens, seed=0)
    modes = [m.strip() for m in args.compile.split(",") if m.strip()]
    name = args.model or args.arch
    result: dict = {"arch": name, "scale": args.scale, "max_new_tokens": args.max_new_tokens,
                    "relations": len(relations), "batch_size": args.batch_size, "modes": {}}
    with tempfile.TemporaryDirectory(prefix="mind-bench-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        model, processor = load_backend(args, tmp_path, model, processor)
        result["build_s"] = round(time.perf_counter() - started, 2)
        result["device"], result["dtype"] = str(model.device), str(model.dtype)
        if not args.no_reference:
            backend = backend_for(model, processor, name, "off", args.batch_size, args)
            inputs = make_inputs(tmp_path, args.pairs or 6, args.image_size)
            pipeline(backend, inputs[:1], relations[:1], decoding)  # kernels, allocator: outside both timings
            t0 = time.perf_counter()
            n_ref = reference(backend, inputs, relations, decoding)
            t_ref = time.perf_counter() - t0
            t0 = time.perf_counter()
            n_pipe = pipeline(backend, inputs, relations, decoding)
            t_pipe = time.perf_counter() - t0
            ref_rate, pipe_rate = n_ref / t_ref, n_pipe / t_pipe
            result.update({"reference_per_s": round(ref_rate, 3), "pipeline_per_s": round(pipe_rate, 3),
                           "speedup": round(pipe_rate / ref_rate, 2), "units": n_pipe})
        for mode in modes:
            backend = backend_for(model, processor, name, mode, args.batch_size, args)
            shares = [True, False] if args.no_share and backend.fast is not None else [True]
            for share in shares:
                key = mode if share else f"{mode}-unshared"
                result["modes"][key] = measure(backend, tmp_path, relations, decoding, args.batches, args.pairs,
                                               args.image_size, share)
            backend.close()  # its KV arena and compiled graphs
            del backend
            gc.collect()
    result.update(compare(result["modes"]))
    return result


def compare(modes: dict) -> dict:
    """Fast path against `model.generate` in the same run, and the paper's run projected."""
    out: dict = {}
    plain = modes.get("off")
    fast_key = next((k for k in ("on", "auto", "static") if k in modes), None)
    fast = modes.get(fast_key) if fast_key else None
    if plain and fast and plain.get("tokens_per_s") and fast.get("tokens_per_s"):
        out["fast_vs_plain"] = {
            "fast_mode": fast_key,
            "tokens_per_s": round(fast["tokens_per_s"] / plain["tokens_per_s"], 2),
            "decode_step": round(plain["decode_step_ms"] / fast["decode_step_ms"], 2)
            if plain.get("decode_step_ms") and fast.get("decode_step_ms") else None,
            "prefill": round(plain["prefill_s"] / fast["prefill_s"], 2) if fast.get("prefill_s") else None,
        }
    best = fast or plain
    if best and best.get("tokens_per_s"):
        unshared = modes.get(f"{fast_key}-unshared") if fast else None
        out["projection"] = project(best["tokens_per_s"], unshared["tokens_per_s"] if unshared else None)
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    result = run(args)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
