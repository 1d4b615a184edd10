"""The shared record readers (ingest/table.py, ingest/csvrecords.py) on damaged files: one stray quote,
an unclosed quoted field, an over-long field, bad bytes each cost their own record and nothing more."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ingest.intentions import open_intentions
from ingest.reader import Limits
from ingest.table import open_table
from mindkb.settings import Settings
from tests.support.paths import shared_file

LIMITS = Limits(record_bytes=100_000, field_bytes=10_000)
MIND = ("id_a", "id_b", "Relation", "Intention")


def _rows(n: int) -> list[list[str]]:
    return [[f"A{i:05d}", f"B{i:05d}", "UsedFor", f"they are both used for camping, trip {i}"] for i in range(n)]


def _csv(rows: list[list[str]], terminator: str = "\n", quoting: int = csv.QUOTE_MINIMAL) -> list[str]:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator, quoting=quoting).writerows([list(MIND), *rows])
    return out.getvalue().splitlines(keepends=True)


def _read(path: Path, multiline: bool, limits: Limits = LIMITS):
    table = open_table(path, MIND, limits, multiline=multiline)
    records = list(table)
    return table, [r for r in records if r.error is None], [(r.line, r.error) for r in records if r.error]


def test_a_stray_quote_in_an_unquoted_file_costs_one_line(tmp_path):
    lines = _csv(_rows(2001))
    lines[1001] = 'A01000,B01000,UsedFor,"a stray quote opens here\n'  # line 1002 of the file
    path = tmp_path / "stray.csv"
    path.write_text("".join(lines))
    for multiline in (False, True):  # pairs-like and mind-csv-like layouts
        table, good, bad = _read(path, multiline)
        assert len(good) == 2000 and [line for line, _ in bad] == [1002], bad
        assert "unclosed quote" in bad[0][1]
        assert table.lines == 2002
        assert good[1000].data["id_a"] == "A01001"  # the row right after the bad line
    # A later field that ends with a quote cannot close it into one record that swallows the lines between.
    lines[1006] = 'A01005,B01005,UsedFor,a 27" monitor"\n'
    path.write_text("".join(lines))
    _, good, bad = _read(path, True)
    assert len(good) == 2000 and [line for line, _ in bad] == [1002]
    assert "A01005" in {r.data["id_a"] for r in good}


def test_a_quoted_file_keeps_the_row_after_a_bad_line(tmp_path):
    for terminator in ("\n", "\r\n"):
        lines = _csv(_rows(6), terminator, csv.QUOTE_ALL)
        lines[3] = '"A00002","B00002","UsedFor","unterminated' + terminator
        path = tmp_path / "quoted.csv"
        path.write_text("".join(lines), newline="")
        for multiline in (False, True):
            _, good, bad = _read(path, multiline)
            assert [line for line, _ in bad] == [4], (terminator, multiline, bad)
            assert [r.data["id_a"] for r in good] == ["A00000", "A00001", "A00003", "A00004", "A00005"]


def test_quoted_fields_over_lines_load_where_the_format_allows_them(tmp_path):
    rows = _rows(3)
    rows[1][3] = 'first paragraph, with "quotes"\n\nsecond paragraph'
    for terminator in ("\n", "\r\n"):
        path = tmp_path / "multi.csv"
        path.write_text("".join(_csv(rows, terminator)), newline="")
        table, good, bad = _read(path, True)
        assert bad == [] and [r.line for r in good] == [2, 3, 6] and table.lines == 6
        assert good[1].data["Intention"] == rows[1][3]
        _, good, bad = _read(path, False)  # one record per line: the field is set aside, the rest loads
        assert [r.data["id_a"] for r in good] == ["A00000", "A00002"] and bad[0][0] == 3


def test_an_unclosed_quote_stops_at_the_field_bound_and_reading_resumes(tmp_path):
    rows = _rows(3)
    path = tmp_path / "open.csv"
    path.write_text("".join(_csv(rows[:1])) + 'A9,B9,UsedFor,"open\n' + "prose without quotes\n" * 200
                    + "".join(_csv(rows[1:])[1:]))
    _, good, bad = _read(path, True, Limits(record_bytes=100_000, field_bytes=1_000))
    assert bad[0] == (3, "unclosed quote: not closed within 1000 bytes; reading resumes at line 4")
    assert [r.data["id_a"] for r in good] == ["A00000", "A00001", "A00002"]
    assert len(bad) == 201  # the prose lines, each set aside on its own: nothing is dropped unseen


def test_a_field_over_the_bound_is_quarantined_and_the_next_record_loads(tmp_path):
    rows = _rows(3)
    rows[1][3] = "x" * 1_001
    path = tmp_path / "long.csv"
    path.write_text("".join(_csv(rows)))
    _, good, bad = _read(path, False, Limits(record_bytes=100_000, field_bytes=1_000))
    assert bad == [(3, "field 'Intention' longer than 1000 bytes")]
    assert [r.data["id_a"] for r in good] == ["A00000", "A00002"]
    jsonl = tmp_path / "long.jsonl"
    jsonl.write_text("".join(json.dumps(dict(zip(MIND, row, strict=True))) + "\n" for row in rows))
    records = list(open_table(jsonl, MIND, Limits(record_bytes=100_000, field_bytes=1_000)))
    assert [(r.line, r.error) for r in records if r.error] == [(2, "field 'Intention' longer than 1000 bytes")]


def test_invalid_utf8_is_set_aside_in_csv_and_json_lines(tmp_path):
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"id_a,id_b,Relation,Intention\r\nA1,B1,UsedFor,caf\xe9\r\n"
                     b'A2,B2,UsedFor,"two\nlines \xff"\r\nA3,B3,UsedFor,fine\r\n')
    table, good, bad = _read(path, True)
    assert bad == [(2, "line is not valid UTF-8"), (3, "line is not valid UTF-8 (line 4)")]
    assert [r.data["id_a"] for r in good] == ["A3"] and table.lines == 5
    jsonl = tmp_path / "bytes.jsonl"
    jsonl.write_bytes(b'{"id_a": "A1", "id_b": "B1", "Relation": "x", "Intention": "caf\xe9"}\n\n'
                      b'{"id_a": "A2", "id_b": "B2", "Relation": "x", "Intention": "ok"}\n' + b"[" * 100_000 + b"\n")
    records = list(open_table(jsonl, MIND, LIMITS))
    assert [(r.line, r.error) for r in records if r.error] == [(1, "line is not valid UTF-8"),
                                                                (4, "invalid JSON: nested too deeply")]


def test_the_real_mind_output_reads_as_the_csv_module_reads_it_in_either_line_ending(tmp_path):
    """CRLF between records and LF inside fields, as released; and the same records rewritten with LF
    everywhere (pandas' default), where only the ids tell a record's first line from a field's."""
    source = shared_file("mind-real/mind_output.dev.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        expected = list(csv.DictReader(handle))
    lf = tmp_path / "lf.csv"
    with lf.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(expected[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(expected)
    for path in (source, lf):
        table = open_intentions(path, "mind-csv", Settings())
        records = list(table)
        assert [r.data for r in records] == expected, path
        assert table.lines == path.read_bytes().count(b"\n")


def test_the_earlier_name_of_the_record_bound_still_works():
    assert Settings(MIND_INGEST_MAX_LINE_BYTES=4096).ingest_max_record_bytes == 4096
    assert Settings(MIND_INGEST_MAX_RECORD_BYTES=8192).ingest_max_record_bytes == 8192
