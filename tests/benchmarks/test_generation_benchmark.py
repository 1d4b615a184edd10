"""The throughput benchmark, scaled down: both loops run and report comparable rates."""

from __future__ import annotations

import importlib.util

from tests.support.paths import REPO


def _bench():
    spec = importlib.util.spec_from_file_location("bench_generation", REPO / "benchmarks" / "generation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_tiny_and_scaled_7b_architecture(capsys):
    bench = _bench()
    tiny = bench.main(["--pairs", "2", "--relations", "4", "--max-new-tokens", "4", "--batch-size", "8",
                       "--image-size", "64", "--json"])
    assert tiny["units"] == 8 and tiny["reference_per_s"] > 0 and tiny["pipeline_per_s"] > 0
    assert tiny["speedup"] == round(tiny["pipeline_per_s"] / tiny["reference_per_s"], 2)
    scaled = bench.main(["--arch", "llava-1.5-7b", "--scale", "0.03", "--pairs", "1", "--relations", "2",
                         "--max-new-tokens", "2", "--batch-size", "2", "--image-size", "64", "--json"])
    assert scaled["units"] == 2 and scaled["speedup"] > 0
    spec = bench.llava_7b_spec(1.0)
    assert (spec["text_hidden"], spec["text_layers"], spec["vision_hidden"], spec["image_size"]) == (4096, 32, 1024, 336)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("{") and '"speedup"' in printed[-1]
