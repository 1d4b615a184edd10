"""`--format mind-csv` on FolkScope's release layout: two records per row, every column suffixed `_1`
and `_2`, with the products' image URLs, categories and pages. The same records must give the same
intentions as in the one-record-per-row layout."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

from graph.driver import write
from graph.products import merge_products
from tests.conftest import reset_graph
from tests.support.ingest import PAIRED_HEADER, intentions, paired_row, props, quarantined
from tests.support.paths import shared_file

CATEGORIES = ("Electronics", "Clothing, Shoes & Jewelry", "Cell Phones & Accessories")
RECORDS = 301  # an odd number: the last row's second record is empty


def made_up(asin: str) -> dict:
    """What the release says about a product, made up per asin (so every record agrees)."""
    return {"urls": [f"https://images.example/{asin}/{n}.jpg" for n in (1, 2, 3)],
            "cate": CATEGORIES[zlib.crc32(asin.encode()) % len(CATEGORIES)], "link": f"https://amazon.com/dp/{asin}"}


def release_columns(record: dict) -> dict:
    out = dict(record, Cate="electronics")
    for side in ("a", "b"):
        info = made_up(record[f"id_{side}"])
        for n, url in enumerate(info["urls"], 1):
            out[f"item_{side}_img{n}_url"] = url
        out[f"item_{side}_cate"], out[f"item_{side}_link"] = info["cate"], info["link"]
    return out


def write_paired(path: Path, records: list[dict]) -> Path:
    """FolkScope's layout: consecutive records side by side, LF line ends (as the release)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAIRED_HEADER)
        for first in range(0, len(records), 2):
            pair = [release_columns(r) for r in records[first:first + 2]]
            writer.writerow(paired_row(pair[0], pair[1] if len(pair) == 2 else None))
    return path


def write_single(path: Path, records: list[dict]) -> Path:
    """The authors' scripts' layout: one record per row, CRLF between records."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)
    return path


def stored(driver, settings) -> dict[str, tuple]:
    return {r["props"]["id"]: (r["props"]["text"], r["props"]["status"], r["props"]["relation"],
                               r["props"].get("rationale"), r["props"]["rawText"], r["props"]["asinA"],
                               r["props"]["asinB"])
            for r in intentions(driver, settings, "mind-csv")}


def test_the_paired_release_layout_gives_the_same_intentions_as_one_per_row(empty_graph, settings, cli, tmp_path):
    source = shared_file("mind-real/mind_output.dev.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))[:RECORDS]
    single = write_single(tmp_path / "single.csv", records)
    paired = write_paired(tmp_path / "paired.csv", records)

    one = cli("import", "intentions", str(single), "--format", "mind-csv", "--json")
    assert one.returncode == 0, one.stderr
    expected = stored(empty_graph, settings)
    asins = sorted({r[k] for r in records for k in ("id_a", "id_b")})
    expected_features = {a: p.get("features") for a, p in props(empty_graph, settings, *asins).items()}
    assert len(expected) == RECORDS and one.summary["quarantined"] == 0

    reset_graph(empty_graph, settings)
    q = tmp_path / "q.jsonl"
    two = cli("import", "intentions", str(paired), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert two.returncode == 0, two.stderr
    s = two.summary
    # 151 rows, the last with an empty second record: skipped, not quarantined.
    assert (s["read"], s["intentions"], s["created"], s["quarantined"]) == (RECORDS, RECORDS, RECORDS, 0)
    assert s["lines"] == paired.read_bytes().count(b"\n") and quarantined(q) == []
    assert stored(empty_graph, settings) == expected  # ids, texts, statuses, rationales, answers

    products = props(empty_graph, settings, *asins)
    assert {a: p.get("features") for a, p in products.items()} == expected_features
    for asin, p in products.items():
        info = made_up(asin)
        assert p["imageUrl"] == info["urls"][0] and p["imageUrls"] == info["urls"]
        assert p["mainCat"] == info["cate"] and p["categories"] == [info["cate"]] and p["link"] == info["link"]
        assert p["imageState"] == "missing"  # a URL is not an image on disk

    again = cli("import", "intentions", str(paired), "--format", "mind-csv", "--json")
    assert again.returncode == 0 and again.summary["created"] == 0


def test_each_record_of_a_row_is_quarantined_on_its_own(empty_graph, settings, cli, tmp_path):
    """Bad halves go to the quarantine with the row's line and which record; the other half loads;
    a catalogue's own image and category are kept."""
    db = settings.neo4j_database
    write(empty_graph, db, merge_products, [{"asin": "K0001", "props": {
        "title": "Catalogued kettle", "imageUrl": "https://catalogue.example/k.jpg", "mainCat": "Home"}}])

    def record(a, b, relation="usedFor", agreement="Yes, both.", **extra):
        return {"id_a": a, "id_b": b, "Relation": relation, "Agreement": agreement,
                "Intention": f"The potential co-buy intention could be that they are both used for test {a}{b}.",
                "Product_a": f"product {a}", "Product_b": f"product {b}", **extra}

    rows = [
        paired_row(record("K0001", "K0002", item_a_img1_url="https://release.example/k1.jpg", item_a_cate="Kitchen",
                    item_b_img1_url="https://release.example/k2.jpg", item_b_cate="Kitchen"),
             record("K0003", "K0004", relation="teleportsTo")),
        paired_row(record("bad id!", "K0006"), record("K0005", "K0006", agreement="No, they differ.")),
        paired_row(record("K0007", "K0008"), None),
        paired_row(record("K0009", "K0010"), record("K0011", "K0012"))[:-3],  # a damaged row: too few fields
    ]
    path = tmp_path / "paired.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAIRED_HEADER)
        writer.writerows(rows)
    q = tmp_path / "q.jsonl"
    r = cli("import", "intentions", str(path), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.summary["read"], r.summary["intentions"], r.summary["quarantined"]) == (6, 3, 3)
    entries = [(e["line"], e["reason"]) for e in quarantined(q)]
    assert entries == [
        (2, "record 2 of the row (columns *_2): unknown relation 'teleportsTo'"),
        (3, "record 1 of the row (columns *_1): invalid id_a 'bad id!'"),
        (5, f"the row has {len(PAIRED_HEADER) - 3} fields, the header {len(PAIRED_HEADER)}"),
    ]
    loaded = {(i["props"]["asinA"], i["props"]["asinB"]): i["props"]["status"]
              for i in intentions(empty_graph, settings, "mind-csv")}
    assert loaded == {("K0001", "K0002"): "ACCEPTED", ("K0005", "K0006"): "REJECTED", ("K0007", "K0008"): "ACCEPTED"}
    p = props(empty_graph, settings, "K0001", "K0002")
    assert p["K0001"]["imageUrl"] == "https://catalogue.example/k.jpg" and p["K0001"]["mainCat"] == "Home"
    assert p["K0001"]["imageUrls"] == ["https://release.example/k1.jpg"]  # what the catalogue lacked
    assert p["K0002"]["imageUrl"] == "https://release.example/k2.jpg" and p["K0002"]["mainCat"] == "Kitchen"

    path.write_text(",".join(h for h in PAIRED_HEADER if h != "Intention_2") + "\n", encoding="utf-8")
    bad = cli("import", "intentions", str(path), "--format", "mind-csv", "--json")
    assert bad.returncode == 2 and "missing column(s) Intention_2" in bad.stderr and "Traceback" not in bad.stderr
