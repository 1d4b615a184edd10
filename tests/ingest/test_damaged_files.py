"""Damaged input files through `mind ingest` / `mind import` on the real Neo4j: a stray quote, a bad
line in a quoted file, an over-long field and bad bytes cost one record each; a run that sets most
records aside exits 1 after loading the rest and printing its summary."""

from __future__ import annotations

from graph.driver import read
from graph.ingest import graph_counts
from tests.support.ingest import edges, quarantined

STRAY = '"a stray quote opens here'


def test_a_stray_quote_in_a_csv_of_20001_records_costs_one_record(empty_graph, settings, cli, tmp_path):
    """As found: an unquoted CSV, one line with a quote that opens a field and never closes."""
    lines = ["id_a,id_b,Relation,Intention"]
    for i in range(20_001):
        text = STRAY if i == 10_000 else f"they are both used for trip {i}"
        lines.append(f"S{i % 50:04d},T{i % 50:04d},UsedFor,{text}")
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(lines) + "\n")
    q = tmp_path / "q.jsonl"
    r = cli("import", "intentions", str(path), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    s = r.summary
    assert (s["lines"], s["read"], s["intentions"], s["quarantined"]) == (20_002, 20_001, 20_000, 1)
    [entry] = quarantined(q)
    assert entry["line"] == 10_002 and entry["raw"] == f"S0000,T0000,UsedFor,{STRAY}"
    assert entry["reason"].startswith("unclosed quote")
    assert read(empty_graph, settings.neo4j_database, graph_counts)["intentions"] == 20_000


def test_a_bad_line_in_a_quoted_pairs_file_keeps_the_row_after_it(empty_graph, settings, cli, tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text('"item_a_id","item_b_id","item_a_name","item_b_name"\r\n'
                    '"Q0001","Q0002","Tent","Stakes"\r\n'
                    '"Q0003","Q0004","Lamp","unterminated\r\n'
                    '"Q0005","Q0006","Stove","Fuel"\r\n'
                    '"Q0007","Q0008","Map","Compass"\r\n', newline="")
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "pairs", str(path), "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.summary["lines"], r.summary["read"], r.summary["pairs"], r.summary["quarantined"]) == (5, 4, 3, 1)
    assert [(e["line"], e["reason"].split(":")[0]) for e in quarantined(q)] == [(3, "unclosed quote")]
    assert [(a, b) for a, b, _ in edges(empty_graph, settings)] == [
        ("Q0001", "Q0002"), ("Q0005", "Q0006"), ("Q0007", "Q0008")]


def test_a_field_over_the_bound_is_quarantined_and_the_next_record_loads(empty_graph, settings, cli, tmp_path):
    path = tmp_path / "mind.csv"
    long_answer = "they are both " + "very " * 600 + "useful"
    path.write_text("id_a,id_b,Relation,Intention\n"
                    f"F0001,F0002,UsedFor,\"{long_answer}\"\n"
                    "F0001,F0002,IsA,they both are a type of gear\n")
    q = tmp_path / "q.jsonl"
    r = cli("import", "intentions", str(path), "--format", "mind-csv", "--quarantine", str(q), "--json",
            env={"MIND_INGEST_MAX_FIELD_BYTES": "2048"})
    assert r.returncode == 0, r.stderr
    assert (r.summary["read"], r.summary["intentions"], r.summary["quarantined"]) == (2, 1, 1)
    assert [(e["line"], e["reason"]) for e in quarantined(q)] == [(2, "field 'Intention' longer than 2048 bytes")]


def test_invalid_utf8_is_quarantined_in_csv_and_json_lines(empty_graph, settings, cli, tmp_path):
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_bytes(b"item_a_id,item_b_id,item_a_name,item_b_name\n"
                         b"U0001,U0002,Caf\xe9 mug,Saucer\n"
                         b"U0003,U0004,Lamp,Bulb\n")
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_bytes(b'{"item_a_id": "U0005", "item_b_id": "U0006"}\n'
                      b'{"item_a_id": "U0007", "item_b_id": "U0008", "item_a_name": "Caf\xe9"}\n')
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "pairs", str(csv_file), str(jsonl), "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.summary["lines"], r.summary["read"], r.summary["pairs"], r.summary["quarantined"]) == (5, 4, 2, 2)
    reasons = {(e["source"].rsplit("/", 1)[-1], e["line"]): e["reason"] for e in quarantined(q)}
    assert reasons == {("pairs.csv", 2): "line is not valid UTF-8", ("pairs.jsonl", 2): "line is not valid UTF-8"}
    assert [(a, b) for a, b, _ in edges(empty_graph, settings)] == [("U0003", "U0004"), ("U0005", "U0006")]


def test_a_run_that_quarantines_most_records_exits_1_after_loading_the_rest(empty_graph, settings, cli, tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("item_a_id,item_b_id\nM0001,M0002\nM0003,M0004\nM0005\nM0006\nM0007,M0007\n\n")
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "pairs", str(path), "--quarantine", str(q), "--json")
    assert r.returncode == 1, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "3 of 5 records (60.0%)" in errors[0] and str(q) in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    s = r.summary  # still the last stdout line
    assert (s["lines"], s["read"], s["pairs"], s["quarantined"]) == (7, 5, 2, 3)
    assert [(a, b) for a, b, _ in edges(empty_graph, settings)] == [("M0001", "M0002"), ("M0003", "M0004")]

    allowed = cli("ingest", "pairs", str(path), "--json", env={"MIND_INGEST_MAX_QUARANTINE_SHARE": "0.6"})
    assert allowed.returncode == 0, allowed.stderr
