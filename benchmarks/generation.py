"""Intention-generation throughput: the authors' reference loop vs. the pipeline, in one run.

(a) reference: as the released MIND scripts, one request at a time (batch 1), the two images read
    from disk, stacked and processed afresh for every relation;
(b) pipeline: `TransformersBackend.generate` as `mind generate` uses it: each pair's stacked image
    made once for all its relations, requests sorted by length, batches with left padding.
Both decode the same prompts with the paper's sampling (temperature 0.2) and a FIXED output length
(min_new_tokens = max_new_tokens), so both produce the same number of tokens.

    python -m benchmarks.generation --json                       # tiny random LLaVA, CPU
    python -m benchmarks.generation --arch llava-1.5-7b --json   # LLaVA-1.5-7B sizes, random weights (GPU)
    python -m benchmarks.generation --arch llava-1.5-7b --scale 0.03 --pairs 1 --relations 2 --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from generation.backends import Decoding, Request, TransformersBackend, pick_device, pick_dtype
from generation.images import load_image, stack_vertical
from generation.prompts import intention_prompt
from mindkb.relations import RELATIONS

REPO = Path(__file__).resolve().parents[1]

FEATURES = (
    "The product is a {colour} item with a clean, modern design and sturdy construction. It appears well "
    "made, with smooth edges and a matte finish that suggests good quality. Its compact size makes it easy "
    "to carry, and the visible details indicate attention to durability. A consumer could use it every day "
    "at home, at work or while travelling, and it would make a practical gift for friends and family."
)


def llava_7b_spec(scale: float) -> dict:
    """LLaVA-1.5-7B: CLIP ViT-L/14-336 + Llama-2-7B (Vicuna), optionally scaled down for tests."""
    def dim(full: int, heads: int) -> int:
        return max(heads, int(full * scale) // heads * heads)

    vision_heads, text_heads = 16, 32
    if scale < 1:
        vision_heads, text_heads = 2, 4
    image = 336 if scale >= 1 else max(28, int(336 * scale) // 14 * 14)
    return dict(
        image_size=image, patch_size=14,
        vision_hidden=dim(1024, vision_heads), vision_layers=max(2, round(24 * scale)), vision_heads=vision_heads,
        vision_intermediate=dim(4096, vision_heads),
        text_hidden=dim(4096, text_heads), text_layers=max(2, round(32 * scale)), text_heads=text_heads,
        text_intermediate=dim(11008, text_heads), vocab=32064, max_positions=4096,
    )


def build_synthetic(arch: str, scale: float, device: str, dtype: str) -> TransformersBackend:
    import torch
    from transformers import LlavaForConditionalGeneration

    from generation.tiny import TinySpec, build_config, build_processor, build_tokenizer

    s = llava_7b_spec(scale)
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
    return TransformersBackend(model, processor, f"synthetic-{arch}-x{scale}", batch_size=8)


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


def reference(backend: TransformersBackend, inputs: list[dict], relations, decoding: Decoding) -> int:
    """One request at a time; images re-read, re-stacked and re-processed for every relation."""
    n = 0
    for pair in inputs:
        for rel in relations:
            stacked = stack_vertical(load_image(pair["imageA"]), load_image(pair["imageB"]))
            text = backend.render(Request(prompt(pair, rel.template), [stacked]))
            backend._generate_batch([text], [[stacked]], decoding)
            n += 1
    return n


def pipeline(backend: TransformersBackend, inputs: list[dict], relations, decoding: Decoding) -> int:
    requests = []
    for pair in inputs:
        stacked = stack_vertical(load_image(pair["imageA"]), load_image(pair["imageB"]))  # once per pair
        requests += [Request(prompt(pair, rel.template), [stacked]) for rel in relations]
    backend.generate(requests, decoding)
    return len(requests)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=("tiny", "llava-1.5-7b"), default="tiny")
    ap.add_argument("--scale", type=float, default=1.0, help="Scale the llava-1.5-7b sizes (tests: 0.03).")
    ap.add_argument("--model", help="A checkpoint folder or id instead of a synthetic model.")
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--relations", type=int, default=20, help="Relations per pair (1-20).")
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=500, help="Side of the drawn product images (px).")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    relations = RELATIONS[: max(1, min(20, args.relations))]
    decoding = Decoding(max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens, seed=0)

    with tempfile.TemporaryDirectory(prefix="mind-bench-") as tmp:
        tmp_path = Path(tmp)
        if args.model:
            backend = TransformersBackend.load(args.model, args.device, args.dtype, batch_size=args.batch_size)
        elif args.arch == "tiny":
            from generation.tiny import write_tiny_model

            write_tiny_model(tmp_path / "tiny")
            backend = TransformersBackend.load(str(tmp_path / "tiny"), args.device, args.dtype,
                                               batch_size=args.batch_size)
        else:
            backend = build_synthetic(args.arch, args.scale, args.device, args.dtype)
        backend.batch_size = args.batch_size
        inputs = make_inputs(tmp_path, args.pairs, args.image_size)
        # Warm-up (kernels, allocator) outside both timings.
        pipeline(backend, inputs[:1], relations[:1], decoding)
        t0 = time.perf_counter()
        n_ref = reference(backend, inputs, relations, decoding)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_pipe = pipeline(backend, inputs, relations, decoding)
        t_pipe = time.perf_counter() - t0
    ref_rate, pipe_rate = n_ref / t_ref, n_pipe / t_pipe
    result = {
        "reference_per_s": round(ref_rate, 3), "pipeline_per_s": round(pipe_rate, 3),
        "speedup": round(pipe_rate / ref_rate, 2), "units": n_pipe, "arch": args.model or args.arch,
        "scale": args.scale, "device": str(backend.model.device), "dtype": str(backend.model.dtype),
        "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens,
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
