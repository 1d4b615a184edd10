"""`mind import intentions --format mind-csv` on the authors' real LLaVA output and on new records of
the same layout: every relation spelling, stage-1 features, Agreement verdicts, normalised text."""

from __future__ import annotations

import csv
import statistics

from mindkb.relations import RELATION_NAMES, lookup_relation
from tests.support.ingest import counts, intentions, props, quarantined
from tests.support.paths import shared_file

# The authors' relation list, as their scripts spell it (see ../shared/mind-real/README.md).
AUTHORS_RELATIONS = {
    "can": "Can", "effect": "Effect", "usedFor": "UsedFor", "createdBy": "CreatedBy", "isA": "IsA",
    "capableOf": "CapableOf", "propertOf": "PropertyOf", "propertyOf": "PropertyOf", "open": "Open",
    "cause": "Cause", "mannerOf": "MannerOf", "definedAs": "DefinedAs", "partOf": "PartOf",
    "symbolOf": "SymbolOf", "similarTo": "SimilarTo", "deriveFrom": "DeriveFrom", "madeOf": "MadeOf",
    "distinctFrom": "DistinctFrom", "relatedTo": "RelatedTo", "other": "Other", "causeDesire": "CauseDesire",
}


def test_every_spelling_of_the_authors_relation_list_maps_to_one_of_the_20():
    for spelling, name in AUTHORS_RELATIONS.items():
        for variant in (spelling, spelling.upper(), spelling.lower(), f" {spelling} "):
            assert lookup_relation(variant) == name, variant
    assert set(AUTHORS_RELATIONS.values()) == set(RELATION_NAMES)
    assert lookup_relation("FliesTo") is None and lookup_relation("") is None


def _verdict(agreement: str) -> str:
    first = agreement.strip().split(None, 1)[0].strip(".,!").lower()
    return {"yes": "ACCEPTED", "no": "REJECTED"}[first]


def test_real_mind_output_imports_whole(empty_graph, settings, cli, tmp_path):
    source = shared_file("mind-real/mind_output.dev.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    q = tmp_path / "q.jsonl"
    r = cli("import", "intentions", str(source), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    s = r.summary
    assert (s["read"], s["quarantined"], s["intentions"], s["created"]) == (len(records), 0, len(records), len(records))
    assert s["lines"] == source.read_bytes().count(b"\n")  # the header and the descriptions' own lines too
    assert quarantined(q) == []

    rows = intentions(empty_graph, settings, "mind-csv")
    assert len(rows) == len(records)
    stored = {(r["props"]["asinA"], r["props"]["asinB"], r["props"]["rawText"]): r["props"] for r in rows}
    texts = []
    for record in records:
        raw = " ".join(record["Intention"].split())
        p = stored[(record["id_a"], record["id_b"], raw)]
        assert p["relation"] == AUTHORS_RELATIONS[record["Relation"]]
        assert p["status"] == _verdict(record["Agreement"])  # every verdict, as Agreement says
        if len(record["Agreement"].split()) > 1:  # a bare "No." carries no rationale
            assert p["rationale"]
        else:
            assert not p.get("rationale")
        text = p["text"]
        assert text and "co-buy intention" not in text.lower() and not text.lower().startswith("the potential")
        texts.append(len(text))
    assert statistics.median(texts) < 150 and max(texts) <= 300
    assert sum(1 for r in rows if r["props"]["status"] == "ACCEPTED") / len(rows) > 0.4  # the file keeps ~44%

    named = {a for rec in records for a in (rec["id_a"], rec["id_b"])}
    stored_products = props(empty_graph, settings, *named)
    assert set(stored_products) == named
    for p in stored_products.values():
        assert p.get("features") and p["featuresSource"] == "mind-csv" and p["featuresPromptVersion"] == "import"
        assert p.get("featuresRaw") and p.get("title")

    stats = cli("stats", "--json", "--plot", str(tmp_path / "preserve.png"))
    assert stats.returncode == 0, stats.stderr
    accepted = sum(1 for rec in records if _verdict(rec["Agreement"]) == "ACCEPTED")
    assert stats.summary["total"]["preserve_rate"] == round(accepted / len(records), 4)  # the real filter's rate
    assert stats.summary["paper_preserve_rate"] == 0.467 and (tmp_path / "preserve.png").stat().st_size > 0
    for name, row in stats.summary["relations"].items():
        mine = [rec for rec in records if AUTHORS_RELATIONS[rec["Relation"]] == name]
        assert row["generated"] == len(mine)

    before = counts(empty_graph, settings)
    again = cli("import", "intentions", str(source), "--format", "mind-csv", "--json")
    assert again.returncode == 0 and again.summary["created"] == 0 and counts(empty_graph, settings) == before


def _write(path, header: list[str], rows: list[list[str]]):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_new_records_of_the_layout_extra_and_missing_columns_and_assertions(empty_graph, settings, cli, tmp_path):
    """Records nobody here has seen: other spellings, columns in another order, an extra column,
    no product_b_desc column, chat artefacts; `tail` stays out unless --with-assertions."""
    header = ["Agreement", "id_b", "id_a", "Relation", "Intention", "Product_a", "Product_b", "product_a_desc",
              "tail", "batch"]
    rows = [
        ["Yes, hikers need both.", "N0002", "N0001", "USED_FOR",
         "ASSISTANT: The potential co-buy intention for these two camping items could be that they are both "
         "used for hiking in wet weather. The tent is light.</s>",
         "Tent", "Rain poncho", "The image features a green tent.\n\nIt is light.",
         "PersonX bought a product of Item A and a product of Item B because they are both used for camping.", "7"],
        ["No. They serve different needs.", "N0003", "N0001", "propertOf",
         "The potential co-buy intention could be that they both have a property of being waterproof.",
         "Tent", "Mallet", "", "", "7"],
        ["", "N0004", "N0003", "Causes",
         "the person wants to fix a tent peg", "Mallet", "Pegs", "A rubber mallet.", "", "8"],
        ["Yes", "N0005", "N0004", "teleportsTo", "they both fly", "Pegs", "Wings", "", "", "8"],
    ]
    path = _write(tmp_path / "new.csv", header, rows)
    q = tmp_path / "q.jsonl"
    r = cli("import", "intentions", str(path), "--format", "mind-csv", "--quarantine", str(q), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.summary["read"], r.summary["intentions"], r.summary["quarantined"]) == (4, 3, 1)
    assert [e["reason"] for e in quarantined(q)] == ["unknown relation 'teleportsTo'"]
    by_rel = {row["props"]["relation"]: row["props"] for row in intentions(empty_graph, settings, "mind-csv")}
    assert by_rel["UsedFor"]["text"] == "they are both used for hiking in wet weather"
    assert by_rel["UsedFor"]["status"] == "ACCEPTED" and by_rel["UsedFor"]["rationale"] == "Hikers need both."
    assert "</s>" not in by_rel["UsedFor"]["rawText"] and "The tent is light." in by_rel["UsedFor"]["rawText"]
    assert by_rel["PropertyOf"]["text"] == "they both have a property of being waterproof"
    assert by_rel["PropertyOf"]["status"] == "REJECTED"
    assert by_rel["Cause"]["status"] == "GENERATED"  # no verdict yet: the filter stage may still judge it
    products = props(empty_graph, settings, "N0001", "N0002", "N0003")
    assert products["N0001"]["features"] == "The image features a green tent. It is light."
    assert products["N0003"]["features"] == "A rubber mallet."
    assert "features" not in products["N0002"]  # no product_b_desc column: nothing invented
    assert intentions(empty_graph, settings, "folkscope") == []  # `tail` is not model output

    again = cli("import", "intentions", str(path), "--format", "mind-csv", "--with-assertions", "--json")
    assert again.returncode == 0, again.stderr
    assert again.summary["created"] == 1  # only the assertion is new
    [assertion] = intentions(empty_graph, settings, "folkscope")
    assert assertion["props"]["text"] == "they are both used for camping."
    assert assertion["props"]["relation"] == "UsedFor" and assertion["explains"] == 2

    bad = cli("import", "intentions", str(path), "--format", "jsonl", "--with-assertions", "--json")
    assert bad.returncode == 2 and "--with-assertions" in bad.stderr and "Traceback" not in bad.stderr


def test_imported_features_are_kept_by_generation_unless_asked(empty_graph, settings, cli, tmp_path):
    """The features stage never overwrites text it did not make, unless --overwrite-features."""
    from tests.support.generation import build_tiny, seed_catalog

    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path / "img", n=2, pairs=[(0, 1)])
    path = _write(tmp_path / "m.csv", ["id_a", "id_b", "Relation", "Intention", "product_a_desc", "product_b_desc"],
                  [["P000", "P001", "can", "they both can be carried", "Imported A.", "Imported B."]])
    assert cli("import", "intentions", str(path), "--format", "mind-csv", "--json").returncode == 0
    model = build_tiny(tmp_path / "tiny")
    run = cli("generate", "--stage", "features", "--model", str(model), "--max-new-tokens", "4", "--json")
    assert run.returncode == 0, run.stderr
    assert run.summary["done"] == 0
    assert props(empty_graph, settings, "P000")["P000"]["features"] == "Imported A."
    forced = cli("generate", "--stage", "features", "--model", str(model), "--max-new-tokens", "4",
                 "--overwrite-features", "--json")
    assert forced.returncode == 0 and forced.summary["done"] == 2, forced.stderr
    p = props(empty_graph, settings, "P000")["P000"]
    assert p["featuresModel"] == str(model) and "featuresSource" not in p
