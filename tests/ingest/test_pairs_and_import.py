"""`mind ingest pairs` and `mind import intentions` (mind-csv, intentionqa, jsonl) on the real Neo4j."""

from __future__ import annotations

import json
from itertools import islice

from tests.support.ingest import counts, edges, intentions, product, props, quarantined, write_lines
from tests.support.paths import shared_file


def test_pairs_csv_and_jsonl(empty_graph, settings, cli, tmp_path):
    catalog = write_lines(tmp_path / "c.jsonl", [product("G0001", "Catalogue title")])
    assert cli("ingest", "catalog", str(catalog), "--json").returncode == 0
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text(
        "item_a_id,item_b_id,item_a_name,item_b_name\n"
        "G0001,G0002,Ignored name,Tent stakes\n"
        "G0003,G0002,Sleeping bag,\n"
        "G0004,G0004,Self,Self\n"
        ",G0005,,x\n"
        "G0006,G0007,a,b,extra\n"
        "\n"
    )
    jsonl = write_lines(tmp_path / "pairs.jsonl", [
        {"item_a_id": "G0002", "item_b_id": "G0001", "relation": "all"},  # the same pair again
        {"item_a_id": "G0008", "item_b_id": "G0009", "item_a_name": "Lantern", "item_b_name": "Fuel"},
        {"item_b_id": "G0009"},
        "not json",
    ])
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "pairs", str(csv_file), str(jsonl), "--quarantine", str(q), "--json")
    assert r.returncode == 1 and "5 of 9 records (55.6%) went to the quarantine" in r.stderr, r.stderr
    s = r.summary  # printed, and the valid records loaded, before the exit status says most were not
    assert {"lines", "read", "pairs", "products", "quarantined", "quarantine_file"} <= set(s)
    assert (s["lines"], s["read"], s["pairs"], s["products"], s["quarantined"]) == (11, 9, 4, 4, 5)
    reasons = sorted(e["reason"] for e in quarantined(q))
    assert any(r.startswith("unknown column") for r in reasons)
    assert "item_a_id equals item_b_id" in reasons and "missing or empty item_a_id" in reasons
    assert any(r.startswith("missing field") for r in reasons) and any(r.startswith("invalid JSON") for r in reasons)
    got = props(empty_graph, settings, "G0001", "G0002", "G0003", "G0008")
    assert got["G0001"]["title"] == "Catalogue title"  # a loaded product keeps its data
    assert got["G0002"]["title"] == "Tent stakes" and got["G0002"]["imageState"] == "missing"
    assert [(a, b) for a, b, _ in edges(empty_graph, settings)] == [
        ("G0001", "G0002"), ("G0002", "G0003"), ("G0008", "G0009")]
    before = counts(empty_graph, settings)
    again = cli("ingest", "pairs", str(csv_file), str(jsonl), "--quarantine", str(q), "--json")
    assert again.summary["products"] == 0 and counts(empty_graph, settings) == before

    bad = tmp_path / "bad.csv"
    bad.write_text("left,right\nA,B\n")
    r = cli("ingest", "pairs", str(bad), "--json")
    assert r.returncode == 2 and "item_a_id" in r.stderr and "Traceback" not in r.stderr


def test_import_mind_csv(empty_graph, settings, cli, tmp_path):
    path = tmp_path / "mind.csv"
    path.write_text(
        "id_a,id_b,Product_a,Product_b,Relation,Intention,Agreement\n"
        'H0001,H0002,Tent,Stakes,UsedFor,"they are both used for camping.","Yes, campers need both."\n'
        'H0001,H0002,Tent,Stakes,IsA,"they both are a type of gear.","NO. too generic"\n'
        'H0002,H0003,Stakes,Mallet,Can,"they both can be hammered.","maybe"\n'
        'H0002,H0003,Stakes,Mallet,FliesTo,"they both fly.","Yes"\n'
        'H0002,H0003,Stakes,Mallet,Can,"","Yes"\n'
    )
    q = tmp_path / "q.jsonl"
    r = cli("import", "intentions", str(path), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    assert {k: r.summary[k] for k in ("read", "intentions", "quarantined")} == {"read": 5, "intentions": 3, "quarantined": 2}
    assert {e["reason"] for e in quarantined(q)} == {"unknown relation 'FliesTo'", "missing or empty Intention"}
    rows = {row["props"]["relation"]: row for row in intentions(empty_graph, settings, "mind-csv")}
    assert rows["UsedFor"]["props"]["status"] == "ACCEPTED"
    assert rows["UsedFor"]["props"]["rationale"] == "Campers need both."
    assert rows["IsA"]["props"]["status"] == "REJECTED" and rows["IsA"]["props"]["rationale"] == "Too generic"
    assert rows["Can"]["props"]["status"] == "UNDECIDED"
    assert all(row["explains"] == 2 and row["relationNode"] == row["props"]["relation"]
               and row["props"]["relation"] in row["labels"] for row in rows.values())
    assert props(empty_graph, settings, "H0003")["H0003"]["title"] == "Mallet"
    before = counts(empty_graph, settings)
    again = cli("import", "intentions", str(path), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert again.summary["created"] == 0 and counts(empty_graph, settings) == before

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    r = cli("import", "intentions", str(bad), "--format", "mind-csv", "--json")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_import_intentionqa_real_dev_file(empty_graph, settings, cli, tmp_path):
    source = shared_file("intentionqa/task1.dev.jsonl")
    with source.open(encoding="utf-8") as handle:
        lines = list(islice(handle, 80))
    path = tmp_path / "task1.slice.jsonl"
    path.write_text("".join(lines) + "\n{broken\n", encoding="utf-8")
    records = [json.loads(line) for line in lines]
    distinct = {(r["item_a_id"], r["item_b_id"], r["assertion"].split("because ", 1)[-1].strip()) for r in records}
    r = cli("import", "intentions", str(path), "--format", "intentionqa", "--quarantine", str(tmp_path / "q.jsonl"),
            "--json")
    assert r.returncode == 0, r.stderr
    assert r.summary["read"] == 81 and r.summary["quarantined"] == 1
    stored = intentions(empty_graph, settings, "intentionqa")
    assert len(stored) == r.summary["intentions"] == len(distinct)
    by_text = {row["props"]["text"]: row for row in stored}
    first = records[0]["assertion"].split("because ", 1)[1]
    assert by_text[first]["props"]["relation"] == "IsA"  # "they both are a type of ..."
    assert by_text[first]["props"]["rawText"] == records[0]["assertion"]
    relations = {row["props"]["relation"] for row in stored}
    assert {"IsA", "Other"} <= relations and len(relations) >= 4
    assert all(row["props"]["status"] == "ACCEPTED" and row["props"]["promptVersion"] == "import" for row in stored)
    name = props(empty_graph, settings, records[0]["item_a_id"])[records[0]["item_a_id"]]["title"]
    assert name == records[0]["item_a_name"]
    before = counts(empty_graph, settings)
    again = cli("import", "intentions", str(path), "--format", "intentionqa", "--quarantine",
                str(tmp_path / "q.jsonl"), "--json")
    assert again.summary["created"] == 0 and counts(empty_graph, settings) == before


def test_import_jsonl_own_format(empty_graph, settings, cli, tmp_path):
    path = write_lines(tmp_path / "kb.jsonl", [
        {"asin_a": "J0001", "asin_b": "J0002", "relation": "CapableOf", "text": "they both are capable of x.",
         "source": "folkscope", "status": "rejected", "rationale": "vague"},
        {"asin_a": "J0001", "asin_b": "J0002", "relation": "USED_FOR", "text": "they are both used for y."},
        {"asin_a": "J0001", "asin_b": "J0002", "relation": "UsedFor", "text": "z", "status": "MAYBE"},
        {"asin_a": "J0001", "asin_b": "J0002", "relation": "Nope", "text": "z"},
    ])
    r = cli("import", "intentions", str(path), "--format", "jsonl", "--quarantine", str(tmp_path / "q.jsonl"), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.summary["intentions"], r.summary["quarantined"]) == (2, 2)
    folk = intentions(empty_graph, settings, "folkscope")
    assert len(folk) == 1 and folk[0]["props"]["status"] == "REJECTED" and folk[0]["props"]["rationale"] == "vague"
    plain = intentions(empty_graph, settings, "jsonl")
    assert len(plain) == 1 and plain[0]["props"]["relation"] == "UsedFor" and plain[0]["props"]["status"] == "ACCEPTED"
    r = cli("import", "intentions", str(path), "--format", "csv", "--json")
    assert r.returncode == 2
