"""`mind export sft`: byte-identical re-runs, a split by co-buy pair, relation and per-pair limits."""

from __future__ import annotations

import json

from tests.support.evaluation import seed_graph

PRODUCTS = {f"P{i:02d}": f"Product number {i}" for i in range(24)}
RELS = ["UsedFor", "IsA", "CapableOf"]
INTENTIONS = [
    (f"P{2 * k:02d}", f"P{2 * k + 1:02d}", RELS[j], "ACCEPTED", f"they both do thing {k}-{j}")
    for k in range(12) for j in range(3)
] + [("P00", "P01", "IsA", "REJECTED", "they both are a type of nothing")]


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_is_deterministic_and_split_by_pair(empty_graph, settings, cli, tmp_path):
    seed_graph(empty_graph, settings.neo4j_database, PRODUCTS, INTENTIONS)
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run / "sft.jsonl"
        result = cli("export", "sft", "--out", str(out), "--holdout-fraction", "0.3", "--json")
        assert result.returncode == 0, result.stderr
        outs.append((out, result.summary))
    (out_a, s_a), (out_b, _) = outs
    hold_a = out_a.with_name("sft.holdout.jsonl")
    assert out_a.read_bytes() == out_b.read_bytes()
    assert hold_a.read_bytes() == out_b.with_name("sft.holdout.jsonl").read_bytes()
    train, hold = _read(out_a), _read(hold_a)
    # 36 accepted intentions x 2 tasks; the rejected one is not exported.
    assert len(train) + len(hold) == 72 and s_a["records"] == len(train) and s_a["holdout_records"] == len(hold)
    assert hold and train
    pairs_train = {(r["asin_a"], r["asin_b"]) for r in train}
    pairs_hold = {(r["asin_a"], r["asin_b"]) for r in hold}
    assert not pairs_train & pairs_hold
    assert s_a["pairs"] + s_a["holdout_pairs"] == 12
    assert {r["task"] for r in train} == {"intention_understanding", "intention_utilisation"}
    assert all("rejected" not in r["output"] and "nothing" not in r["output"] for r in train + hold)
    util = next(r for r in train if r["task"] == "intention_utilisation")
    assert util["output"] == PRODUCTS[util["asin_b"]] and PRODUCTS[util["asin_a"]] in util["instruction"]
    under = next(r for r in train if r["task"] == "intention_understanding")
    assert "they both do thing" in under["output"]

    other = tmp_path / "seed1.jsonl"
    assert cli("export", "sft", "--out", str(other), "--holdout-fraction", "0.3", "--seed", "1").returncode == 0
    assert len(_read(other)) + len(_read(other.with_name("seed1.holdout.jsonl"))) == 72


def test_export_relations_and_max_per_pair(empty_graph, settings, cli, tmp_path):
    seed_graph(empty_graph, settings.neo4j_database, PRODUCTS, INTENTIONS)
    out = tmp_path / "isa.jsonl"
    result = cli("export", "sft", "--out", str(out), "--relations", "IsA,UsedFor", "--max-per-pair", "1", "--json")
    assert result.returncode == 0, result.stderr
    rows = _read(out)
    assert len(rows) == 12 * 2 and {r["relation"] for r in rows} <= {"IsA", "UsedFor"}
    assert result.summary["holdout_file"] is None and not out.with_name("isa.holdout.jsonl").exists()
    bad = cli("export", "sft", "--out", str(out), "--relations", "Nope", "--json")
    assert bad.returncode == 2 and "unknown relation" in bad.stderr
