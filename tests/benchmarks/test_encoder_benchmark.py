"""The encoder benchmark runs end to end at toy size (it prints the JSON the docs record)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO


def test_encoder_benchmark_scaled_down():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.encoder", "--json", "--scale-down"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["queries"] == 20 and out["threads"] == 1
    for key in ("torch_ms", "onnx-int8_ms"):
        assert 0 < out[key]["p50"] <= out[key]["p99"]
    assert out["onnx-int8_cosine_to_torch"]["min"] >= 0.99
