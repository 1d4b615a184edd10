"""The ingest benchmark runs at a small scale and cleans up after itself."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.ingest import counts, product, write_lines
from tests.support.paths import REPO


def test_benchmark_scaled_down(empty_graph, settings, cli, tmp_path):
    keep = write_lines(tmp_path / "c.jsonl", [product("K0001")])
    assert cli("ingest", "catalog", str(keep), "--json").returncode == 0
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ingest", "--lines", "400", "--baseline-lines", "20",
                           "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["loaded"] == 400 and result["quarantined"] == 0
    assert result["co_buy_in_graph"] == result["co_buy"] > 400
    assert result["products_per_s"] > 0 and result["baseline"]["lines"] == 20 and result["speedup"] > 0
    after = counts(empty_graph, settings)
    assert after["products"] == 1 and after["pending"] == 0  # only the benchmark's own nodes were removed
