"""The Ray engine's overhead benchmark runs end to end at toy size, on the suite's local Ray."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO


def test_ray_overhead_benchmark_scaled_down(neo4j_server, ray_cluster):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ray_overhead", "--json", "--scale-down", "--wipe",
                           "--ray-address", ray_cluster], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["units"] == {"features": 4}
    (run,) = out["ray"]
    assert run["same_counts"] and run["actors"] == 1 and run["seconds"] > 0 and run["ratio_to_in_process"] > 0
