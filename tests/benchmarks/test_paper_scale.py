"""benchmarks/paper_scale.py runs end to end, scaled down, and reports every figure sanely."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.paper_scale import PAPER
from tests.support.paths import REPO

SCALE = 0.002


def test_paper_scale_benchmark_scaled_down(neo4j_server):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.paper_scale", "--json", "--scale", str(SCALE), "--wipe",
         "--clients", "1,4", "--requests", "8", "--seconds", "2", "--recall-queries", "30",
         "--recall-fetch", "10,100", "--batch", "1000", "--load", "incremental"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    graph = out["graph"]
    for key, full in PAPER.items():
        assert graph[key] == round(full * SCALE)
    assert sum(graph["statuses"].values()) == graph["intentions"] and graph["relations"] == 20
    load = out["load"]
    assert load["total_s"] > 0 and load["intentions_per_s"] > 0 and load["products_per_s"] > 0
    for level in ("1", "4"):
        row = out["latency_ms"][level]
        for name in ("raw_cypher", "searchIntentions", "recommend"):
            assert row[name]["n"] > 0 and 0 < row[name]["p50"] <= row[name]["p99"] and row[name]["errors"] == 0
        assert row["searchIntentions_over_raw_p50"] > 0 and row["recommend_over_raw_p50"] > 0
    calibration = out["calibration"]  # the index's candidate count, measured once it is online
    table = [calibration["recall_by_fetch"][f] for f in sorted(calibration["recall_by_fetch"], key=int)]
    assert all(b >= a - 0.02 for a, b in zip(table, table[1:], strict=False)), table  # more candidates, no fewer neighbours
    assert calibration["vectors"] == graph["intentions"] and calibration["seconds"] > 0
    fetch = calibration["fetch"]
    assert not calibration["met"] or calibration["recall_by_fetch"][str(fetch)] >= calibration["target"]
    recall = out["recall"]
    assert recall["api_fetch"] == max(40, fetch)  # the API serves at the calibrated count
    assert recall["queries"] == 30 and set(recall["by_fetch"]) == {"10", "100", str(recall["api_fetch"])}
    # Clustered vectors at this size: the index finds most true neighbours, never more than all.
    assert 0.5 <= recall["recall_at_10"] <= 1.0
    assert recall["by_fetch"]["100"]["recall_at_10"] >= recall["by_fetch"]["10"]["recall_at_10"] - 0.02
    recommend_timing = out["latency_ms"]["1"]["recommend_server_timing_p50"]
    assert recommend_timing["db"] > 0 and recommend_timing["encode"] > 0
    profile = out["search_profile"]  # where one search's time goes, measured in the same run
    assert profile["search_ms"] == out["latency_ms"]["1"]["searchIntentions"]["p50"]
    assert profile["encode_ms"] > 0 and profile["http_graphql_floor_ms"] > 0 and profile["floor_ratio"] > 1
    assert abs(profile["raw_cypher_ms"] + profile["encode_ms"] + profile["http_graphql_floor_ms"]
               + profile["rest_ms"] - profile["search_ms"]) < 0.05
    assert profile["server_db_ms"] > 0 and 0 < profile["server_encode_ms"] < profile["server_graphql_ms"]
    assert profile["outside_graphql_ms"] > 0  # the client's time holds the server's whole operation
    assert out["graphrag_vector_retriever_ms"]["n"] > 0 and out["searchIntentions_over_graphrag_p50"] > 0
    assert set(out["targets"]) >= {"search_p50_le_15ms_one_client", "search_le_graphrag", "recall_ge_0_95"}
    assert load["path"] == "incremental" and out["neo4j"]["version"]


def test_paper_scale_refuses_a_non_empty_database_without_wipe(neo4j_server, empty_graph):
    from graph.driver import write
    from graph.products import merge_products

    write(empty_graph, neo4j_server.neo4j_database, merge_products, [{"asin": "B0KEEPME01", "props": {}}])
    proc = subprocess.run([sys.executable, "-m", "benchmarks.paper_scale", "--json", "--scale", str(SCALE)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--wipe" in proc.stderr
    records, _, _ = empty_graph.execute_query("MATCH (p:Product {asin: 'B0KEEPME01'}) RETURN count(p) AS n",
                                              database_=neo4j_server.neo4j_database)
    assert records[0]["n"] == 1
