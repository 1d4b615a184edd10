"""The same paper-scale benchmark on two Neo4j servers, one after the other, in one run.

Each version gets a local server of its own (its own home and ports under --base), loaded by the
bulk path and measured by benchmarks/paper_scale.py with the same seed, texts and options; the
server is stopped before the next one starts, so the two never share the machine. Prints one JSON
object: each version's figures and the second's over the first's (ratios). One version alone runs
the benchmark on a fresh local server of its own (settings such as MIND_NEO4J_VECTOR_POPULATION_BUFFER_MB
apply to it).

  python -m benchmarks.neo4j_versions --json --versions 5.26.30,2026.08.1 --scale 1.0 -- --clients 1,32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.query import free_port
from graph.localdb import LocalNeo4j
from mindkb.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def environment(version: str, base: Path) -> dict[str, str]:
    home = base / f"neo4j-{version}"
    bolt = free_port()
    return {"MIND_NEO4J_VERSION": version, "MIND_NEO4J_HOME": str(home), "MIND_NEO4J_BOLT_PORT": str(bolt),
            "MIND_NEO4J_HTTP_PORT": str(free_port()), "NEO4J_URI": f"bolt://localhost:{bolt}",
            "MIND_DATA_DIR": str(base / "data")}


def run(version: str, base: Path, scale: float, extra: list[str]) -> dict:
    env = dict(os.environ, **environment(version, base))
    for name in ("NEO4J_PASSWORD", "MIND_NEO4J_PASSWORD"):
        env.pop(name, None)  # each server's own generated password
    settings = Settings(_env_file=None, **{k: v for k, v in env.items() if k.startswith(("MIND_NEO4J", "NEO4J_URI"))})
    local = LocalNeo4j(settings)
    local.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.paper_scale", "--json", "--scale", str(scale),
                               "--wipe", "--load", "bulk", *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              text=True)
    finally:
        local.stop()
    if proc.returncode != 0:
        raise SystemExit(f"paper_scale on Neo4j {version} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ratios(a: dict, b: dict) -> dict:
    """b over a for the figures a user compares (below 1: b is faster)."""
    out = {}
    for key in ("total_s", "import_s", "indexes_s"):
        if a.get("load", {}).get(key) and b.get("load", {}).get(key):
            out[f"load_{key}"] = round(b["load"][key] / a["load"][key], 2)
    for level, row in a["latency_ms"].items():
        for name in ("raw_cypher", "searchIntentions", "recommend"):
            out[f"{name}_p50_{level}_clients"] = round(b["latency_ms"][level][name]["p50"] / row[name]["p50"], 2)
            out[f"{name}_per_s_{level}_clients"] = round(b["latency_ms"][level][name]["per_s"] / row[name]["per_s"], 2)
    out["recall_at_10_difference"] = round(b["recall"]["recall_at_10"] - a["recall"]["recall_at_10"], 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--versions", default="5.26.30,2026.08.1", help="one or two Neo4j versions, comma-separated")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--base", type=Path, default=Path("/tmp/mind-neo4j-versions"),
                    help="homes of the servers and the bulk CSVs (scratch: wiped by the load)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("extra", nargs="*", help="after --: options passed to benchmarks.paper_scale")
    args = ap.parse_args()
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    if len(versions) not in (1, 2):
        raise SystemExit("--versions takes one or two versions, e.g. 5.26.30,2026.08.1")
    results = {}
    for version in versions:
        print(f"--- Neo4j {version}", file=sys.stderr)
        results[version] = run(version, args.base, args.scale, args.extra)
    out = {"benchmark": "neo4j_versions", "scale": args.scale, "versions": versions, "results": results}
    if len(versions) == 2:
        out[f"{versions[1]}_over_{versions[0]}"] = ratios(results[versions[0]], results[versions[1]])
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
