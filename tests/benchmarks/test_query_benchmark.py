"""The benchmarks run end to end at toy size (they print the JSON the docs record)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO


def test_query_benchmark_scaled_down(neo4j_server):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.query", "--json", "--scale-down", "--wipe"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["graph"]["intentions"] == 1000
    for key in ("searchIntentions_http_ms", "recommend_http_ms", "vector_query_cypher_ms",
                "graphrag_vector_retriever_ms"):
        assert 0 < out[key]["p50"] <= out[key]["p99"]
