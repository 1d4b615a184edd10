"""One command on a GPU machine: the fast path against `model.generate` at LLaVA-1.5-13B sizes (then
7B), random weights, 128 new tokens, the project's prompts and pair images; ONE JSON object last.

    PYTHONUNBUFFERED=1 python3 -m benchmarks.gpu_generation --budget-s 390

Sections, each in its own try (a failure is recorded and the next section runs), each skipped
when the time left is under its estimate, in this order:
  13b_fast_b60     compiled fast path at batch 60 (3 pairs x 20 relations): the decode-step goal;
                   then the same rows without prefix sharing (one prefill per row)
  13b_plain_b60    `model.generate` (dynamic cache) at batch 60: the same-run baseline
  13b_fast_auto    compiled fast path at the largest batch that fits the memory, then without sharing
  7b_fast_auto     the same with LLaVA-1.5-7B sizes
If compiling fails, the section falls back to the fast path with an eager decode step (`static`).
The JSON goes to stdout (last line) and to $OUT/gpu.json when OUT is set.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from benchmarks.generation import RELATIONS, backend_for, build_synthetic, compare, measure, project
from generation.backends import Decoding
from generation.fastpath import Processor

if TYPE_CHECKING:
    from transformers import PreTrainedModel

T = TypeVar("T")

GOALS = {"tokens_per_s": 1500, "decode_step_ms_batch_60": 30, "one_gpu_days": 4.5, "gpus_8_hours": 14}


def say(msg: str) -> None:
    sys.stderr.write(f"[gpu-bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def environment() -> dict:
    import torch
    import transformers

    env = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   capability=f"{props.major}.{props.minor}")
    return env


class Run:
    """The report and the clock: sections run while their estimate fits the budget."""

    def __init__(self, budget_s: float):
        self.started = time.perf_counter()
        self.budget_s = budget_s
        self.report: dict = {"budget_s": budget_s, "sections": {}, "errors": {}, "skipped": []}

    def save(self) -> str:
        """The report so far as one JSON line, also to $OUT/gpu.json (a run cut short keeps what it has)."""
        self.report["wall_s"] = round(time.perf_counter() - self.started, 1)
        try:
            self.report["summary"] = summarise(self.report)
        except Exception as exc:
            self.report["errors"]["summary"] = repr(exc)
        line = json.dumps(self.report, default=str)
        if os.environ.get("OUT"):
            Path(os.environ["OUT"]).mkdir(parents=True, exist_ok=True)
            (Path(os.environ["OUT"]) / "gpu.json").write_text(line + "\n")
        return line

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)

    def section(self, name: str, estimate_s: float, fn: Callable[..., T], *args: Any) -> T | None:
        if self.left() < estimate_s:
            say(f"skip {name}: {self.left():.0f} s left, it needs ~{estimate_s:.0f} s")
            self.report["skipped"].append(name)
            return None
        say(f"start {name} ({self.left():.0f} s left)")
        t0 = time.perf_counter()
        try:
            out = fn(*args)
        except Exception as exc:  # recorded; the other sections still run
            self.report["errors"][name] = f"{type(exc).__name__}: {str(exc)[:400]}"
            say(f"{name} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
            free_cuda()
            self.save()
            return None
        if isinstance(out, dict):
            out["section_s"] = round(time.perf_counter() - t0, 1)
            self.report["sections"][name] = out
        say(f"done {name} in {time.perf_counter() - t0:.0f} s")
        self.save()
        return out


def free_cuda() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def bench_args(batch: str, tokens: int) -> argparse.Namespace:
    return argparse.Namespace(length_bucket=128, batch_size=batch, max_new_tokens=tokens)


def fast_section(model: PreTrainedModel, processor: Processor, name: str, batch: str, tokens: int, batches: int, folder: Path,
                 unshared: bool) -> dict:
    """Compiled fast path (falls back to the eager decode step if compiling fails)."""
    decoding = Decoding(max_new_tokens=tokens, min_new_tokens=tokens, seed=0)
    out: dict = {}
    for mode in ("on", "static"):
        backend = backend_for(model, processor, name, mode, batch, bench_args(batch, tokens))
        try:
            out[mode] = measure(backend, folder, RELATIONS, decoding, batches, None, 500, share=True)
            if unshared:
                out[f"{mode}-unshared"] = measure(backend, folder, RELATIONS, decoding, 1, None, 500, share=False)
            return out
        except Exception as exc:
            if mode == "static" or "out of memory" in str(exc).lower():
                raise
            out["compile_error"] = f"{type(exc).__name__}: {str(exc)[:400]}"
            say(f"compiled fast path failed ({out['compile_error']}); trying the eager decode step")
        finally:
            backend.close()
            del backend
            free_cuda()
    return out


def plain_section(model: PreTrainedModel, processor: Processor, name: str, tokens: int, folder: Path) -> dict:
    decoding = Decoding(max_new_tokens=tokens, min_new_tokens=tokens, seed=0)
    backend = backend_for(model, processor, name, "off", "60", bench_args("60", tokens))
    try:
        return {"off": measure(backend, folder, RELATIONS, decoding, 1, None, 500)}
    finally:
        del backend
        free_cuda()


def build(arch: str, scale: float, device: str) -> tuple:
    import torch

    t0 = time.perf_counter()
    model, processor = build_synthetic(arch, scale, device, "bf16" if device == "cuda" else "fp32")
    info = {"parameters": sum(p.numel() for p in model.parameters())}
    if device == "cuda":
        torch.cuda.synchronize()
        info["weights_gib"] = round(torch.cuda.memory_allocated() / 2**30, 2)
    info["build_s"] = round(time.perf_counter() - t0, 1)
    return model, processor, info


def summarise(report: dict) -> dict:
    """Goals, fast-vs-plain ratios and the projection from what was measured."""
    s = report["sections"]

    def pick(section: str) -> dict | None:
        sec = s.get(section) or {}
        return sec.get("on") or sec.get("static")

    b60, auto, plain = pick("13b_fast_b60"), pick("13b_fast_auto"), (s.get("13b_plain_b60") or {}).get("off")

    def unshared_of(section: str) -> dict | None:
        sec = s.get(section) or {}
        return sec.get("on-unshared") or sec.get("static-unshared")

    # verdicts and descriptions share less of their prompts: projected at the rate without sharing,
    # at the batch that fits when it was measured
    unshared = unshared_of("13b_fast_auto") or unshared_of("13b_fast_b60")
    out: dict = {}
    if b60 and plain:
        out["fast_vs_plain_batch_60"] = compare({"off": plain, "on": b60}).get("fast_vs_plain")
    best = max((r for r in (b60, auto) if r and r.get("tokens_per_s")), key=lambda r: r["tokens_per_s"], default=None)
    if best:
        proj = project(best["tokens_per_s"], unshared["tokens_per_s"] if unshared else None)
        proj["rates_from"] = {"intentions": f"{best.get('rows_per_batch')} rows, shared prefixes",
                              "other": f"{unshared.get('rows_per_batch')} rows, no sharing" if unshared else "same"}
        out["projection_13b"] = proj
        out["goals"] = {
            "tokens_per_s": {"goal": GOALS["tokens_per_s"], "measured": best["tokens_per_s"],
                             "batch_rows": best.get("rows_per_batch"),
                             "met": best["tokens_per_s"] >= GOALS["tokens_per_s"]},
            "one_gpu_days": {"goal": GOALS["one_gpu_days"], "projected": proj["one_gpu_days"],
                             "met": proj["one_gpu_days"] <= GOALS["one_gpu_days"]},
            "gpus_8_hours": {"goal": GOALS["gpus_8_hours"], "projected": proj["gpus_8_hours"],
                             "met": proj["gpus_8_hours"] <= GOALS["gpus_8_hours"]},
        }
        if b60 and b60.get("decode_step_ms"):
            out["goals"]["decode_step_ms_batch_60"] = {"goal": GOALS["decode_step_ms_batch_60"],
                                                       "measured": b60["decode_step_ms"],
                                                       "met": b60["decode_step_ms"] <= GOALS["decode_step_ms_batch_60"]}
    seven = pick("7b_fast_auto")
    if seven:
        out["fast_7b_auto"] = {k: seven.get(k) for k in ("tokens_per_s", "decode_step_ms", "rows_per_batch",
                                                         "prefill_s", "decode_s", "peak_memory_gib")}
    if plain:
        out["plain_13b_batch_60"] = {k: plain.get(k) for k in ("tokens_per_s", "decode_step_ms", "prefill_s",
                                                               "peak_memory_gib")}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-s", type=float, default=390, help="Stop starting sections after this many seconds.")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--plain-tokens", type=int, default=128, help="New tokens of the plain baseline.")
    ap.add_argument("--batches", type=int, default=2, help="Timed batches per fast-path measurement.")
    ap.add_argument("--device", default="cuda", help="cpu with --scale: a smoke run of this script's flow.")
    ap.add_argument("--scale", type=float, default=1.0, help="Scale the model sizes (smoke runs only).")
    ap.add_argument("--archs", default="13b,7b", help="Which models' sections run (13b, 7b).")
    args = ap.parse_args(argv)
    run = Run(args.budget_s)
    rep = run.report
    try:
        rep["environment"] = environment()
    except Exception as exc:
        rep["errors"]["environment"] = repr(exc)
    say(json.dumps(rep.get("environment")))
    tokens = args.max_new_tokens
    with tempfile.TemporaryDirectory(prefix="mind-gpu-bench-") as tmp:
        folder = Path(tmp)
        archs = {a.strip() for a in args.archs.split(",")}
        built = "13b" in archs and run.section("13b_build", 60, build, "llava-1.5-13b", args.scale, args.device)
        if built:
            model, processor, info = built
            rep["sections"]["13b_build"] = info
            name = "synthetic-llava-1.5-13b"
            run.section("13b_fast_b60", 110, fast_section, model, processor, name, "60", tokens, args.batches,
                        folder, True)
            run.section("13b_plain_b60", 45, plain_section, model, processor, name, args.plain_tokens, folder)
            run.section("13b_fast_auto", 115, fast_section, model, processor, name, "auto", tokens, args.batches,
                        folder, True)
            del model, processor, built
            free_cuda()
        built = "7b" in archs and run.section("7b_build", 100, build, "llava-1.5-7b", args.scale, args.device)
        if built:
            model, processor, info = built
            rep["sections"]["7b_build"] = info
            run.section("7b_fast_auto", 80, fast_section, model, processor, "synthetic-llava-1.5-7b", "auto",
                        tokens, args.batches, folder, False)
            del model, processor, built
            free_cuda()
    print(run.save(), flush=True)
    return rep


if __name__ == "__main__":
    main()
