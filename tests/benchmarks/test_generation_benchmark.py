"""The throughput benchmarks, scaled down: every path runs and reports comparable rates; the GPU
script's whole flow runs on the CPU at 3% of the sizes and prints one JSON object."""

from __future__ import annotations

import importlib.util
import json

from tests.support.paths import REPO


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_tiny_and_scaled_architectures(capsys):
    bench = _load("generation")
    tiny = bench.main(["--pairs", "2", "--relations", "4", "--max-new-tokens", "4", "--batch-size", "8",
                       "--image-size", "64", "--compile", "off,static", "--no-share", "--length-bucket", "16",
                       "--json"])
    assert tiny["units"] == 8 and tiny["reference_per_s"] > 0 and tiny["pipeline_per_s"] > 0
    assert tiny["speedup"] == round(tiny["pipeline_per_s"] / tiny["reference_per_s"], 2)
    off, fast, unshared = tiny["modes"]["off"], tiny["modes"]["static"], tiny["modes"]["static-unshared"]
    assert off["path"] == "plain" and fast["path"] == "fast" and fast["share_prefix"] and not unshared["share_prefix"]
    for mode in (off, fast, unshared):
        assert mode["units"] == 8 and mode["tokens"] == 8 * 4  # a fixed output length on every path
        assert mode["tokens_per_s"] > 0 and mode["prefill_s"] > 0 and mode["decode_s"] > 0
    assert fast["prefilled_tokens"] < unshared["prefilled_tokens"] == off["prefilled_tokens"]
    ratio = tiny["fast_vs_plain"]
    assert ratio["fast_mode"] == "static" and ratio["tokens_per_s"] == round(fast["tokens_per_s"] / off["tokens_per_s"], 2)
    proj = tiny["projection"]
    assert proj["tokens"]["intentions"] == 126_142 * 20 * 130 and proj["tokens"]["features"] == 107_215 * 384
    assert proj["tokens"]["filter"] == 126_142 * 20 * 96
    assert abs(proj["gpus_8_hours"] - proj["one_gpu_days"] * 24 / 8) < 0.02  # linear in GPUs

    scaled = bench.main(["--arch", "llava-1.5-13b", "--scale", "0.03", "--pairs", "1", "--relations", "2",
                         "--max-new-tokens", "2", "--batch-size", "2", "--image-size", "64", "--json"])
    assert scaled["units"] == 2 and scaled["speedup"] > 0 and scaled["arch"] == "llava-1.5-13b"
    for arch, sizes in (("llava-1.5-7b", (4096, 32, 32, 11008)), ("llava-1.5-13b", (5120, 40, 40, 13824))):
        s = bench.llava_spec(arch)
        assert (s["text_hidden"], s["text_layers"], s["text_heads"], s["text_intermediate"]) == sizes
        assert (s["vision_hidden"], s["image_size"], s["patch_size"], s["vocab"]) == (1024, 336, 14, 32064)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("{") and '"speedup"' in printed[-1]


def test_gpu_script_flow_on_the_cpu(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OUT", str(tmp_path / "out"))
    gpu = _load("gpu_generation")
    report = gpu.main(["--device", "cpu", "--scale", "0.03", "--archs", "13b", "--max-new-tokens", "2",
                       "--plain-tokens", "2", "--batches", "1"])
    assert report["errors"] == {} and report["skipped"] == []
    sections = report["sections"]
    assert set(sections) == {"13b_build", "13b_fast_b60", "13b_plain_b60", "13b_fast_auto"}
    b60 = sections["13b_fast_b60"]
    assert b60["on"]["rows_per_batch"] == 60 and b60["on"]["units"] == 60  # one timed batch of 3 pairs
    shared, unshared = b60["on"], b60["on-unshared"]  # prefill per request: each pair's prefix once, or 20 times
    assert unshared["prefilled_tokens"] / unshared["units"] > 3 * shared["prefilled_tokens"] / shared["units"]
    summary = report["summary"]
    assert summary["fast_vs_plain_batch_60"]["fast_mode"] == "on"
    assert set(summary["goals"]) == {"tokens_per_s", "one_gpu_days", "gpus_8_hours", "decode_step_ms_batch_60"}
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == json.loads((tmp_path / "out" / "gpu.json").read_text())
