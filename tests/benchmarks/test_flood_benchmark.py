"""The flood benchmark runs end to end at toy size (it prints the JSON docs/reliability.md records)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO


def test_flood_benchmark_scaled_down(neo4j_server):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.flood", "--json", "--seconds", "1", "--attackers", "2",
                           "--intentions", "200", "--wipe"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for phase in ("alone", "megabyte", "widest"):
        assert out[phase]["victim_ms"]["n"] > 0 and out[phase]["victim_errors"] == 0, out[phase]
    assert out["alone"]["attacker_answers"] == {}
    # Megabyte documents are refused at the door; the widest allowed ones are answered.
    assert set(out["megabyte"]["attacker_answers"]) == {"413"}
    assert set(out["widest"]["attacker_answers"]) == {"200"}
