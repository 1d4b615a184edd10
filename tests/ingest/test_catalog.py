"""`mind ingest catalog` against the real Neo4j: records, bad input, links, re-runs."""

from __future__ import annotations

import json

from tests.support.ingest import counts, edges, product, props, quarantined, write_lines


def test_plain_and_gzip_with_every_bad_record_kind(empty_graph, settings, cli, tmp_path):
    plain = write_lines(tmp_path / "meta_a.json", [
        product("A0001", "Caf\u00e9 Mug &amp; Saucer \u2013 Blue", brand="Kiln &amp; Co",
                feature=["Holds 300 ml", "Dishwasher safe"], description=["Glazed <b>stoneware</b>."],
                price="$12.50", imageURL=["https://example.invalid/a.jpg"]),
        "",
        "{not json",
        "[1, 2, 3]",
        json.dumps(product("", "Empty asin")),
        json.dumps({"title": "No asin at all"}),
        json.dumps({"asin": "A0002"}),
        json.dumps(product("A0003", "   ")),
        "   ",
        json.dumps(product("A0004", "Second good one")),
    ])
    gz = write_lines(tmp_path / "meta_b.json.gz", [product("A0005", "From gzip \u2603"), "42"], gz=True)
    qfile = tmp_path / "q.jsonl"
    result = cli("ingest", "catalog", str(plain), str(gz), "--quarantine", str(qfile), "--json")
    # 7 of 10 records set aside: more than MIND_INGEST_MAX_QUARANTINE_SHARE (0.5), so exit 1 with one
    # line, after the valid records are loaded and the summary printed.
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().startswith("mind: 7 of 10 records (70.0%) went to the quarantine")
    summary = result.summary
    assert {"lines", "read", "loaded", "quarantined", "co_buy", "quarantine_file"} <= set(summary)
    assert summary["lines"] == 12 and summary["read"] == 10  # 2 blank lines skipped silently
    assert summary["loaded"] == 3
    assert summary["quarantined"] == 7
    assert summary["quarantine_file"] == str(qfile)

    entries = quarantined(qfile)
    assert len(entries) == 7
    reasons = {(e["source"].rsplit("/", 1)[-1], e["line"]): e["reason"] for e in entries}
    assert reasons[("meta_a.json", 3)].startswith("invalid JSON")
    assert reasons[("meta_a.json", 4)].startswith("not a JSON object")
    assert reasons[("meta_a.json", 5)] == "missing or empty asin"
    assert reasons[("meta_a.json", 6)] == "missing or empty asin"
    assert reasons[("meta_a.json", 7)] == "missing title"
    assert reasons[("meta_a.json", 8)] == "missing title"
    assert reasons[("meta_b.json.gz", 2)].startswith("not a JSON object")
    assert all(e["raw"] for e in entries)
    assert next(e for e in entries if e["line"] == 3)["raw"] == "{not json"

    got = props(empty_graph, settings, "A0001", "A0004", "A0005")
    assert set(got) == {"A0001", "A0004", "A0005"}
    mug = got["A0001"]
    assert mug["title"] == "Caf\u00e9 Mug & Saucer \u2013 Blue"
    assert mug["brand"] == "Kiln & Co"
    assert mug["bulletPoints"] == ["Holds 300 ml", "Dishwasher safe"]
    assert mug["categories"] == ["Electronics", "Accessories"]
    assert mug["price"] == 12.5
    assert mug["imageUrl"] == "https://example.invalid/a.jpg"
    assert mug["imageState"] == "missing"
    assert got["A0005"]["title"] == "From gzip \u2603"
    assert counts(empty_graph, settings)["products"] == 3


def test_also_buy_both_directions_pending_links_and_reruns(empty_graph, settings, cli, tmp_path):
    first = write_lines(tmp_path / "first.jsonl", [
        product("B0002", also_buy=["B0001", "B0009"]),  # B0009 arrives in a later file
        product("B0001", also_buy=["B0002", "B0001"]),  # lists B0002 back, and itself
        product("B0003", also_buy=["B0002"]),
    ])
    q = tmp_path / "q.jsonl"
    r1 = cli("ingest", "catalog", str(first), "--quarantine", str(q), "--json")
    assert r1.returncode == 0, r1.stderr
    assert r1.summary["co_buy"] == 2
    assert r1.summary["pending_links"] == 1
    assert [(a, b) for a, b, _ in edges(empty_graph, settings)] == [("B0001", "B0002"), ("B0002", "B0003")]

    later = write_lines(tmp_path / "later.jsonl.gz", [product("B0009", also_buy=["B0002", "B0007"])], gz=True)
    r2 = cli("ingest", "catalog", str(later), "--quarantine", str(q), "--json")
    assert r2.returncode == 0, r2.stderr
    assert r2.summary["co_buy"] == 1  # the pending B0002>B0009 and B0009's own link are one pair
    pairs = [(a, b) for a, b, _ in edges(empty_graph, settings)]
    assert pairs == [("B0001", "B0002"), ("B0002", "B0003"), ("B0002", "B0009")]
    assert all(source == "also_buy" for _, _, source in edges(empty_graph, settings))
    before = counts(empty_graph, settings)
    assert before["pending"] == 1  # B0009 > B0007 waits for B0007

    for path in (first, later):
        again = cli("ingest", "catalog", str(path), "--quarantine", str(q), "--json")
        assert again.returncode == 0, again.stderr
        assert again.summary["co_buy"] == 0
        assert again.summary["created"] == 0
    assert counts(empty_graph, settings) == before
    assert not q.exists()


def test_duplicate_asin_updates_and_domain_and_limit(empty_graph, settings, cli, tmp_path):
    path = write_lines(tmp_path / "c.jsonl", [
        product("C0001", "Old title"),
        product("C0002", "Shoe", category=["Clothing, Shoes & Jewelry", "Shoes"], main_cat="Amazon Fashion"),
        product("C0001", "New title"),
        product("C0003", "Cable"),
    ])
    r = cli("ingest", "catalog", str(path), "--domain", "electronics", "--json")
    assert r.returncode == 0, r.stderr
    assert r.summary["read"] == 4 and r.summary["skipped"] == 1
    assert r.summary["loaded"] == 2  # the duplicate asin within a batch is written once, the later line wins
    assert counts(empty_graph, settings)["products"] == 2
    assert props(empty_graph, settings, "C0001")["C0001"]["title"] == "New title"

    r = cli("ingest", "catalog", str(path), "--domain", "Clothing, Shoes & Jewelry", "--limit", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert r.summary["loaded"] == 1
    assert "C0002" in props(empty_graph, settings, "C0002")


def test_whole_file_failures_exit_2_before_writing(empty_graph, settings, cli, tmp_path):
    good = write_lines(tmp_path / "good.jsonl", [product("D0001")])
    binary = tmp_path / "image.json"
    binary.write_bytes(bytes(range(256)) * 4)
    csv_file = tmp_path / "pairs.json"
    csv_file.write_text("item_a_id,item_b_id\nX1,X2\n")
    broken_gz = tmp_path / "broken.json.gz"
    broken_gz.write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate")
    for bad in (binary, csv_file, broken_gz, tmp_path / "missing.jsonl"):
        r = cli("ingest", "catalog", str(good), str(bad), "--json")
        assert r.returncode == 2, (bad, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and bad.name in lines[0], r.stderr
        assert "Traceback" not in r.stderr
    assert counts(empty_graph, settings)["products"] == 0


def test_over_long_and_non_utf8_lines_are_quarantined(empty_graph, settings, cli, tmp_path):
    path = tmp_path / "odd.jsonl"
    long_line = json.dumps(product("L0002", "x" * 5000)).encode()
    path.write_bytes(json.dumps(product("L0001")).encode() + b"\n" + long_line + b"\n"
                     + b'{"asin": "L0003", "title": "caf\xe9"}\n' + json.dumps(product("L0004")).encode())
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "catalog", str(path), "--quarantine", str(q), "--json",
            env={"MIND_INGEST_MAX_RECORD_BYTES": "2048"})
    assert r.returncode == 0, r.stderr
    assert (r.summary["read"], r.summary["loaded"], r.summary["quarantined"]) == (4, 2, 2)
    reasons = {e["line"]: e["reason"] for e in quarantined(q)}
    assert reasons == {2: "line longer than 2048 bytes", 3: "line is not valid UTF-8"}
    assert set(props(empty_graph, settings, "L0001", "L0004")) == {"L0001", "L0004"}
