"""`mind annotate export|import|report` and the GraphQL fields, against the real Neo4j.

The graph: three relations, each with 4 ACCEPTED and 3 REJECTED intentions (plus GENERATED and
UNDECIDED ones that a sample must never hold), on three products with an image URL, a local
image and no image.

The votes (3 annotators, Label Studio user ids 1, 2, 3; y = yes, n = no; P plausible, T typical,
H human_centric, F filter_correct, R rationale_correct) and the figures computed by hand:

UsedFor, perfect agreement: U1, U2 accepted, U3, U4 rejected; every annotator gives the same answers
    U1: P y  T y  H y  F y  R y
    U2: P y  T n  H y  F y  R y
    U3: P n  T n  H n  F y  R y
    U4: P y  T y  H n  F n  R n
  majority, plausible/typical/human over the accepted U1, U2: plausible 2/2 = 1.0, typical 1/2 = 0.5,
  human 2/2 = 1.0; filter over all four 3/4 = 0.75, rationale 3/4 = 0.75.
  16 units (4 items x 4 required questions), all unanimous: every unit's pair agreement is 1, so
  agreement = 1.0 and Fleiss' P-bar = 1; both answers occur (30 yes, 18 no votes), so P_e < 1 and
  kappa = (1 - P_e) / (1 - P_e) = 1.0 exactly.

IsA, disagreement (votes of annotators 1, 2, 3); I1, I2 accepted, I3, I4 rejected, no R answers:
    I1: P yyn  T ynn  H yyy  F yyn
    I2: P yyy  T yyn  H nny  F yyy
    I3: P nny  T nnn  H ynn  F yyy
    I4: P yny  T nyn  H nnn  F nyy
  majority: plausible (I1 y, I2 y) 1.0, typical (I1 n, I2 y) 0.5, human (I1 y, I2 n) 0.5,
  filter (y, y, y, y) 1.0.
  Per unit the share of agreeing pairs is 1 when unanimous, 1/3 when split 2-1. Unanimous units:
  I1H, I2P, I2F, I3T, I3F, I4H = 6; split: 10. P-bar = (6 + 10/3) / 16 = 7/12 = 0.5833 (agreement).
  Yes votes: I1 8, I2 9, I3 5, I4 5 = 27 of 48: p_yes = 9/16, p_no = 7/16,
  P_e = (81 + 49) / 256 = 65/128; kappa = (7/12 - 65/128) / (1 - 65/128) = (29/384) / (63/128)
  = 29/189 = 0.1534.

Total (UsedFor + IsA, 32 units): agreement = (16 * 1 + 16 * 7/12) / 32 = 19/24 = 0.7917;
  yes votes 30 + 27 = 57 of 96: p_yes = 19/32, P_e = (19^2 + 13^2) / 32^2 = 530/1024 = 265/512;
  kappa = (19/24 - 265/512) / (1 - 265/512) = (421/1536) / (741/1536) = 421/741 = 0.5682.
  Plausible alone over the 8 items: unanimous U1-U4, I2 (5), split I1, I3, I4 (3):
  agreement = (5 + 3/3) / 8 = 0.75; yes votes 9 + 8 = 17 of 24: P_e = (17^2 + 7^2) / 24^2 = 338/576;
  kappa = (3/4 - 338/576) / (1 - 338/576) = (94/576) / (238/576) = 47/119 = 0.3950.
  Rates: plausible 4/4 = 1.0, typical 2/4 = 0.5, human 3/4 = 0.75, filter 7/8 = 0.875; by verdict,
  filter_correct of REJECTED: U3 y, U4 n, I3 y, I4 y = 0.75, of ACCEPTED 1.0.
CapableOf is exported but nobody annotates it (its tasks have no annotations).
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from evaluation.annotation.answers import parse_answer
from evaluation.annotation.labelstudio import iter_json_array, local_files_url
from evaluation.annotation.report import fleiss, pairwise_agreement
from evaluation.annotation.sample import spread
from graph.annotations import annotation_count
from graph.driver import read, write
from graph.intentions import merge_intentions
from graph.products import merge_co_buys, merge_products
from mindkb.annotation import majority
from mindkb.ids import intention_id, pair_key

Y, N = "yes", "no"
Q = {"P": "plausible", "T": "typical", "H": "human_centric", "F": "filter_correct", "R": "rationale_correct"}
# label -> {question letter: votes of annotators 1, 2, 3}
VOTES = {
    "U1": {"P": "yyy", "T": "yyy", "H": "yyy", "F": "yyy", "R": "yyy"},
    "U2": {"P": "yyy", "T": "nnn", "H": "yyy", "F": "yyy", "R": "yyy"},
    "U3": {"P": "nnn", "T": "nnn", "H": "nnn", "F": "yyy", "R": "yyy"},
    "U4": {"P": "yyy", "T": "yyy", "H": "nnn", "F": "nnn", "R": "nnn"},
    "I1": {"P": "yyn", "T": "ynn", "H": "yyy", "F": "yyn"},
    "I2": {"P": "yyy", "T": "yyn", "H": "nny", "F": "yyy"},
    "I3": {"P": "nny", "T": "nnn", "H": "ynn", "F": "yyy"},
    "I4": {"P": "yny", "T": "nyn", "H": "nnn", "F": "nyy"},
}
EXPECTED = {
    "UsedFor": {"items": 4, "votes": 12, "plausible": 1.0, "typical": 0.5, "human_centric": 1.0,
                "filter_correct": 0.75, "rationale_correct": 0.75, "agreement": 1.0, "kappa": 1.0, "units": 16},
    "IsA": {"items": 4, "votes": 12, "plausible": 1.0, "typical": 0.5, "human_centric": 0.5,
            "filter_correct": 1.0, "rationale_correct": None, "agreement": round(7 / 12, 4),
            "kappa": round(29 / 189, 4), "units": 16},
    "TOTAL": {"items": 8, "votes": 24, "plausible": 1.0, "typical": 0.5, "human_centric": 0.75,
              "filter_correct": 0.875, "rationale_correct": 0.75, "agreement": round(19 / 24, 4),
              "kappa": round(421 / 741, 4), "units": 32},
}

PRODUCTS = {
    "PURL00001": {"title": "Trail running shoes", "features": "Light shoes with a grippy sole.",
                  "imageUrl": "https://images.example.com/shoes.jpg"},
    "PLOCAL0001": {"title": "Reflective running vest", "features": "A vest that is seen at night."},
    "PNOIMG0001": {"title": "Sports water bottle", "features": "A 750 ml bottle with a clip."},
}
PAIRS = {"UsedFor": ("PURL00001", "PLOCAL0001"), "IsA": ("PLOCAL0001", "PNOIMG0001"),
         "CapableOf": ("PURL00001", "PNOIMG0001")}
TEMPLATES = {"UsedFor": "they are both used for", "IsA": "they both are a type of",
             "CapableOf": "they both are capable of"}


def build(driver, database: str, image_root) -> dict[str, dict]:
    """The graph above; returns {intention id: {relation, status}}; the local image under image_root."""
    local = image_root / "images" / "PLOCAL0001.jpg"
    local.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (10, 200, 10)).save(local)
    props = {asin: dict(p) for asin, p in PRODUCTS.items()}
    props["PLOCAL0001"].update(imagePath=str(local), imageState="ok")
    write(driver, database, merge_products, [{"asin": a, "props": p} for a, p in props.items()])
    write(driver, database, merge_co_buys, [dict(zip(("a", "b"), pair_key(*p), strict=True), source="test")
                                            for p in PAIRS.values()])
    rows, known = [], {}
    for relation, (a, b) in PAIRS.items():
        statuses = ["ACCEPTED"] * 4 + ["REJECTED"] * 3 + ["GENERATED", "UNDECIDED"]
        for n, status in enumerate(statuses):
            text = f"{TEMPLATES[relation]} reason number {n} of {relation}"
            iid = intention_id(a, b, relation, "test", "v1", text)
            rows.append({"id": iid, "asinA": a, "asinB": b, "relation": relation, "props": {
                "text": text, "status": status, "model": "test", "promptVersion": "v1", "source": "mind",
                "rationale": f"{'Yes' if status == 'ACCEPTED' else 'No'}, because of reason {n}."}})
            known[iid] = {"relation": relation, "status": status}
    write(driver, database, merge_intentions, rows)
    return known


def export(cli, out, *args: str) -> dict:
    result = cli("annotate", "export", "--out", str(out), "--json", *args)
    assert result.returncode == 0, result.stderr
    return result.summary


def tasks(out) -> list[dict]:
    return json.loads((out / "tasks.json").read_text(encoding="utf-8"))


def one_line_error(result, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def label_tasks(data: list[dict]) -> dict[str, dict]:
    """U1..U4 = UsedFor tasks (accepted first), I1..I4 = IsA; by intention id order within a status."""
    out = {}
    for relation, prefix in (("UsedFor", "U"), ("IsA", "I")):
        ordered = sorted((d for d in data if d["relation"] == relation),
                         key=lambda d: (d["status"] != "ACCEPTED", d["intention_id"]))
        assert [d["status"] for d in ordered] == ["ACCEPTED", "ACCEPTED", "REJECTED", "REJECTED"]
        for n, d in enumerate(ordered, 1):
            out[f"{prefix}{n}"] = d
    return out


# --- Label Studio's JSON export, as documented (https://labelstud.io/guide/task_format) ------------------
def ls_result(answers: dict[str, str]) -> list[dict]:
    return [{"id": f"r{n}{q}", "from_name": q, "to_name": "intention", "type": "choices", "origin": "manual",
             "value": {"choices": [value]}} for n, (q, value) in enumerate(answers.items())]


def ls_annotation(ann_id: int, task_id: int, user, answers: dict[str, str], **extra) -> dict:
    ann = {"id": ann_id, "completed_by": user, "result": ls_result(answers), "was_cancelled": False,
           "ground_truth": False, "created_at": f"2024-05-0{1 + ann_id % 7}T10:1{ann_id % 10}:08.728353Z",
           "updated_at": "2024-05-08T10:00:00.000000Z", "lead_time": 12.5, "result_count": 0,
           "task": task_id, "project": 7, "parent_prediction": None, "parent_annotation": None}
    ann.update(extra)
    if user is None:
        del ann["completed_by"]
    return ann


def answers_of(label: str, annotator: int) -> dict[str, str]:
    return {Q[k]: (Y if v[annotator - 1] == "y" else N) for k, v in VOTES[label].items()}


def label_studio_export(data: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    labelled = label_tasks(data)
    by_id = {d["intention_id"]: label for label, d in labelled.items()}
    out, ann_id = [], 1000
    for task_id, d in enumerate(data, 1):
        anns = []
        label = by_id.get(d["intention_id"])
        if label:
            for user in (1, 2, 3):
                ann_id += 1
                anns.append(ls_annotation(ann_id, task_id, user, answers_of(label, user)))
        out.append({"id": task_id, "data": d, "annotations": anns, "predictions": [], "drafts": [],
                    "meta": {}, "created_at": "2024-05-01T09:00:00.000000Z",
                    "updated_at": "2024-05-08T10:00:00.000000Z", "inner_id": task_id, "total_annotations": len(anns),
                    "cancelled_annotations": 0, "total_predictions": 0, "project": 7, "file_upload": "tasks.json"})
    return out, labelled


def add_bad_rows(export_tasks: list[dict], labelled: dict[str, dict]) -> None:
    """Bad votes (all by other annotators, so the figures stay the hand-computed ones)."""
    task_of = {t["data"]["intention_id"]: t for t in export_tasks}
    full = {q: Y for q in Q.values()}
    u1, i1, u2, u3, i2 = (task_of[labelled[k]["intention_id"]] for k in ("U1", "I1", "U2", "U3", "I2"))
    u1["annotations"].append(ls_annotation(9001, u1["id"], 4, {k: v for k, v in full.items() if k != "typical"}))
    i1["annotations"].append(ls_annotation(9002, i1["id"], 4, {**full, "plausible": "maybe"}))
    u2["annotations"].append(ls_annotation(9003, u2["id"], None, full))
    u3["annotations"].append(ls_annotation(9004, u3["id"], 6, full, was_cancelled=True))
    i2["annotations"].append(ls_annotation(9005, i2["id"], 1, {q: N for q in Q.values()}))  # a second vote by 1
    export_tasks.append({"id": 99, "data": {**i2["data"], "intention_id": "int_" + "0" * 32},
                         "annotations": [ls_annotation(9006, 99, 1, full)], "predictions": []})


def check_report(summary: dict) -> None:
    for name, want in EXPECTED.items():
        got = summary["total"] if name == "TOTAL" else summary["relations"][name]
        assert (got["items"], got["votes"]) == (want["items"], want["votes"]), name
        for q in Q.values():
            assert got[q]["rate"] == want[q], (name, q, got[q])
        assert got["agreement"]["value"] == want["agreement"], name
        assert got["agreement"]["units"] == want["units"]
        assert got["kappa"]["value"] == want["kappa"], name
        assert (got["kappa"]["units"], got["kappa"]["raters"], got["kappa"]["excluded_units"]) == (want["units"], 3, 0)
    used, isa, total = summary["relations"]["UsedFor"], summary["relations"]["IsA"], summary["total"]
    assert used["plausible"] == {"rate": 1.0, "yes": 2, "items": 2, "ties": 0, "votes": 6}
    assert used["filter_correct"] == {"rate": 0.75, "yes": 3, "items": 4, "ties": 0, "votes": 12}
    assert isa["rationale_correct"]["items"] == 0 and isa["rationale_correct"]["votes"] == 0
    assert (used["accepted_items"], used["rejected_items"]) == (2, 2)
    assert used["paper"] == isa["paper"] == {"plausible": 0.94, "typical": 0.88}
    assert summary["paper"] == {"plausible": 0.94, "typical": 0.90, "agreement": 0.731, "kappa": 0.56}
    plausible = total["questions"]["plausible"]
    assert plausible["agreement"]["value"] == 0.75 and plausible["kappa"]["value"] == round(47 / 119, 4)
    assert total["by_status"]["REJECTED"]["filter_correct"]["rate"] == 0.75
    assert total["by_status"]["ACCEPTED"]["filter_correct"]["rate"] == 1.0
    cap = summary["relations"]["CapableOf"]
    assert cap["items"] == 0 and cap["plausible"]["rate"] is None and cap["kappa"]["value"] is None
    assert len(summary["relations"]) == 20 and summary["annotators"] == 3 and summary["annotations"] == 24


def quarantined(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def count(driver, settings) -> dict:
    return read(driver, settings.neo4j_database, annotation_count)


# --- tests -------------------------------------------------------------------------------------------
def test_export_is_stratified_deterministic_and_label_studio_ready(empty_graph, settings, cli, tmp_path):
    known = build(empty_graph, settings.neo4j_database, tmp_path)
    summary = export(cli, tmp_path / "a", "--sample", "4", "--per-relation", "--seed", "7",
                     "--document-root", str(tmp_path))
    assert summary["tasks"] == 12
    assert summary["relations"] == {r: {"ACCEPTED": 2, "REJECTED": 2} for r in PAIRS}
    assert summary["available"]["UsedFor"] == {"ACCEPTED": 4, "REJECTED": 3}
    data = [t["data"] for t in tasks(tmp_path / "a")]
    assert len(data) == 12 and all(set(t) == {"data"} for t in tasks(tmp_path / "a"))
    assert all(known[d["intention_id"]]["status"] in ("ACCEPTED", "REJECTED") for d in data)
    assert all(known[d["intention_id"]]["status"] == d["status"] for d in data)
    assert len({d["intention_id"] for d in data}) == 12

    # Images: the URL as it is, the local file as Label Studio's local-files URL, else empty.
    used = next(d for d in data if d["relation"] == "UsedFor")
    assert used["image_a"] == "https://images.example.com/shoes.jpg"
    assert used["image_b"] == "/data/local-files/?d=images/PLOCAL0001.jpg"
    isa = next(d for d in data if d["relation"] == "IsA")
    assert isa["image_b"] == "" and isa["title_b"] == "Sports water bottle"
    assert used["features_a"] == "Light shoes with a grippy sole." and used["rationale"].startswith(("Yes", "No"))
    assert summary["images"] == {"url": 8, "local": 8, "outside_root": 0, "none": 8}

    # The labelling config: valid XML, both products, the intention, the verdict, five yes/no questions.
    root = ET.parse(tmp_path / "a" / "label_config.xml").getroot()
    choices = {c.get("name"): c for c in root.iter("Choices")}
    assert list(choices) == list(Q.values())
    for name, c in choices.items():
        assert [x.get("value") for x in c.iter("Choice")] == ["yes", "no"] and c.get("toName") == "intention"
        assert (c.get("required") == "true") == (name != "rationale_correct")
    assert {i.get("value") for i in root.iter("Image")} == {"$image_a", "$image_b"}
    texts = {t.get("name"): t.get("value") for t in root.iter("Text")}
    assert {"title_a", "title_b", "features_a", "features_b", "intention", "verdict", "rationale"} <= set(texts)
    variables = {v[1:] for v in [*texts.values(), "$image_a", "$image_b"]}
    assert variables <= set(data[0])

    # The CSV: one row per task, empty answer columns.
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a" / "tasks.csv").read_text(encoding="utf-8"))))
    assert [r["intention_id"] for r in rows] == [d["intention_id"] for d in data]
    assert all(r[c] == "" for r in rows for c in ("annotator", *Q.values()))

    # Same seed -> byte-identical files; a smaller sample is a prefix of the larger per stratum.
    export(cli, tmp_path / "b", "--sample", "4", "--per-relation", "--seed", "7", "--document-root", str(tmp_path))
    for name in ("tasks.json", "tasks.csv", "label_config.xml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    export(cli, tmp_path / "c", "--sample", "2", "--per-relation", "--seed", "7")
    assert {d["intention_id"] for d in (t["data"] for t in tasks(tmp_path / "c"))} <= {d["intention_id"] for d in data}
    samples = set()
    for seed in ("1", "2", "3"):
        export(cli, tmp_path / f"s{seed}", "--sample", "4", "--per-relation", "--seed", seed)
        samples.add(frozenset(t["data"]["intention_id"] for t in tasks(tmp_path / f"s{seed}")))
    assert len(samples) > 1

    # N in total is spread over the relations (5 -> 2, 2, 1); more than there is -> all 21 filtered.
    total = export(cli, tmp_path / "t", "--sample", "5", "--seed", "7")
    assert total["tasks"] == 5
    assert sorted(sum(v.values()) for v in total["relations"].values()) == [1, 2, 2]
    everything = export(cli, tmp_path / "all", "--sample", "100", "--seed", "7")
    assert everything["statuses"] == {"ACCEPTED": 12, "REJECTED": 9}
    proportional = export(cli, tmp_path / "p", "--sample", "7", "--per-relation", "--allocation", "proportional")
    assert proportional["relations"]["IsA"] == {"ACCEPTED": 4, "REJECTED": 3}

    # Bad input: one line, exit 2.
    assert "--sample" in one_line_error(cli("annotate", "export", "--sample", "100001", "--out", str(tmp_path / "x")))
    (tmp_path / "file").write_text("x")
    assert "is a file" in one_line_error(cli("annotate", "export", "--sample", "1", "--out", str(tmp_path / "file")))
    assert "unknown relation" in one_line_error(
        cli("annotate", "export", "--sample", "1", "--out", str(tmp_path / "x"), "--relations", "Nope"))
    assert "--allocation" in one_line_error(
        cli("annotate", "export", "--sample", "1", "--out", str(tmp_path / "x"), "--allocation", "random"))


def test_export_of_an_unfiltered_graph_says_so(empty_graph, cli, tmp_path):
    assert "no filtered intentions" in one_line_error(
        cli("annotate", "export", "--sample", "3", "--out", str(tmp_path / "x")), code=1)


def test_label_studio_round_trip_report_and_quarantine(empty_graph, settings, cli, tmp_path):
    build(empty_graph, settings.neo4j_database, tmp_path)
    export(cli, tmp_path / "out", "--sample", "4", "--per-relation", "--seed", "3")
    data = [t["data"] for t in tasks(tmp_path / "out")]
    export_tasks, labelled = label_studio_export(data)
    add_bad_rows(export_tasks, labelled)
    ls_file = tmp_path / "project-7-at-2024-05-08-10-00-export.json"
    text = json.dumps(export_tasks, indent=2)
    ls_file.write_text(text, encoding="utf-8")
    qfile = tmp_path / "q.jsonl"

    result = cli("annotate", "import", str(ls_file), "--quarantine", str(qfile), "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert (s["format"], s["read"], s["annotations"], s["created"], s["updated"]) == ("labelstudio", 30, 24, 24, 0)
    assert (s["skipped"], s["unannotated_tasks"], s["quarantined"]) == (1, 4, 5)
    assert (s["intentions"], s["annotators"], s["quarantine_file"]) == (8, 3, str(qfile))
    reasons = {e["reason"] for e in quarantined(qfile)}
    assert any("missing answer(s): typical" in r and "annotation 9001" in r for r in reasons)
    assert any("plausible: expected yes or no, got 'maybe'" in r for r in reasons)
    assert any("no completed_by" in r for r in reasons)
    assert any("annotator '1' already answered" in r for r in reasons)
    assert any("unknown intention id 'int_000" in r for r in reasons)
    lines = text.splitlines()
    unknown = next(e for e in quarantined(qfile) if "unknown intention" in e["reason"])
    assert lines[unknown["line"] - 1] == "  {" and '"id": 99' in lines[unknown["line"]]
    assert count(empty_graph, settings) == {"annotations": 24, "annotated": 8}

    again = cli("annotate", "import", str(ls_file), "--quarantine", str(tmp_path / "q2.jsonl"), "--json").summary
    assert (again["annotations"], again["created"], again["updated"], again["quarantined"]) == (24, 0, 24, 5)
    assert count(empty_graph, settings) == {"annotations": 24, "annotated": 8}

    plot = tmp_path / "table1.png"
    report = cli("annotate", "report", "--json", "--plot", str(plot))
    assert report.returncode == 0, report.stderr
    check_report(report.summary)
    with Image.open(plot) as img:
        img.load()
        assert img.format == "PNG" and img.size[0] > 300
    text_report = cli("annotate", "report")
    assert text_report.returncode == 0, text_report.stderr
    used = next(line for line in text_report.stdout.splitlines() if line.startswith("UsedFor")).split()
    assert used == ["UsedFor", "4", "12", "100.0", "94.0", "50.0", "88.0", "100.0", "75.0", "75.0", "100.0", "1.000"]
    assert next(line for line in text_report.stdout.splitlines() if line.startswith("TOTAL")).split()[-1] == "0.568"
    assert not any(line.startswith("CapableOf") for line in text_report.stdout.splitlines())


def test_csv_round_trip_gives_the_same_table(empty_graph, settings, cli, tmp_path):
    build(empty_graph, settings.neo4j_database, tmp_path)
    export(cli, tmp_path / "out", "--sample", "4", "--per-relation", "--seed", "3")
    template = list(csv.DictReader(io.StringIO((tmp_path / "out" / "tasks.csv").read_text(encoding="utf-8"))))
    labelled = label_tasks(template)
    by_id = {d["intention_id"]: label for label, d in labelled.items()}
    names = {1: "alice", 2: "bob", 3: "carol"}
    filled = []
    for user, name in names.items():  # each annotator fills a copy; the copies are concatenated
        for row in template:
            label = by_id.get(row["intention_id"])
            if label:
                filled.append({**row, "annotator": name, **answers_of(label, user),
                               "created_at": "2024-05-02T08:00:00Z"})
            else:
                filled.append(dict(row))  # not filled in: skipped
    u1, i1 = labelled["U1"], labelled["I1"]
    bad = [
        {**u1, "annotator": "dave", **{q: "yes" for q in Q.values()}, "typical": ""},      # missing answer
        {**i1, "annotator": "dave", **{q: "yes" for q in Q.values()}, "plausible": "maybe"},  # bad value
        {**i1, "annotator": "erin", **{q: "y" for q in Q.values()}, "intention_id": "int_nope"},  # unknown id
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(template[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(filled + bad)
    answers_csv = tmp_path / "answers.csv"
    answers_csv.write_text(out.getvalue(), encoding="utf-8")
    qfile = tmp_path / "q.jsonl"

    s = cli("annotate", "import", str(answers_csv), "--quarantine", str(qfile), "--json").summary
    assert (s["format"], s["annotations"], s["created"], s["quarantined"], s["skipped"]) == ("csv", 24, 24, 3, 12)
    entries = quarantined(qfile)
    assert [e["line"] for e in entries] == [len(filled) + 2, len(filled) + 3, len(filled) + 4]
    assert "missing answer(s): typical" in entries[0]["reason"]
    assert "expected yes or no, got 'maybe'" in entries[1]["reason"]
    assert "unknown intention id 'int_nope'" in entries[2]["reason"]
    again = cli("annotate", "import", str(answers_csv), "--quarantine", str(tmp_path / "q2.jsonl"), "--json").summary
    assert (again["created"], again["updated"]) == (0, 24)

    report = cli("annotate", "report", "--json").summary
    check_report(report)


def test_import_rejects_broken_files_in_one_line(cli, tmp_path):
    broken = tmp_path / "export.json"
    broken.write_text('[{"data": {"intention_id": "x"}, "annotations": []},', encoding="utf-8")
    assert "export.json" in one_line_error(cli("annotate", "import", str(broken)))
    not_array = tmp_path / "object.json"
    not_array.write_text('{"tasks": []}', encoding="utf-8")
    assert "JSON array" in one_line_error(cli("annotate", "import", str(not_array)))
    header = tmp_path / "answers.csv"
    header.write_text("intention_id,annotator,plausible\nx,a,yes\n", encoding="utf-8")
    assert "typical" in one_line_error(cli("annotate", "import", str(header)))
    assert "no such file" in one_line_error(cli("annotate", "import", str(tmp_path / "missing.json")))
    assert "--format" in one_line_error(cli("annotate", "import", str(tmp_path / "answers.txt")))
    assert ".png" in one_line_error(cli("annotate", "report", "--plot", str(tmp_path / "x.pdf")))


def test_graphql_annotations_and_majority(empty_graph, settings, cli, tmp_path):
    build(empty_graph, settings.neo4j_database, tmp_path)
    export(cli, tmp_path / "out", "--sample", "4", "--per-relation", "--seed", "3")
    export_tasks, labelled = label_studio_export([t["data"] for t in tasks(tmp_path / "out")])
    (tmp_path / "ls.json").write_text(json.dumps(export_tasks), encoding="utf-8")
    assert cli("annotate", "import", str(tmp_path / "ls.json"), "--quarantine", str(tmp_path / "q")).returncode == 0

    fields = "id annotations { annotator plausible typical humanCentric filterCorrect rationaleCorrect " \
             "statusShown createdAt } majority { plausible typical humanCentric filterCorrect rationaleCorrect votes }"
    query = '{ pairIntentions(asinA: "PLOCAL0001", asinB: "PNOIMG0001", includeRejected: true) { %s } }'
    with TestClient(create_app(settings)) as client:
        body = client.post("/graphql", json={"query": query % fields}).json()
        plain = client.post("/graphql", json={"query": query % "id text"}).json()
    assert not body.get("errors"), body
    got = {i["id"]: i for i in body["data"]["pairIntentions"]}
    assert len(got) == 9  # IsA: 4 accepted, 3 rejected, 1 generated, 1 undecided
    i1 = got[labelled["I1"]["intention_id"]]
    assert [a["annotator"] for a in i1["annotations"]] == ["1", "2", "3"]
    assert [a["plausible"] for a in i1["annotations"]] == [True, True, False]
    assert [a["typical"] for a in i1["annotations"]] == [True, False, False]
    assert all(a["statusShown"] == "ACCEPTED" and a["rationaleCorrect"] is None for a in i1["annotations"])
    assert i1["annotations"][0]["createdAt"].startswith("2024-05-0")
    assert i1["majority"] == {"plausible": True, "typical": False, "humanCentric": True, "filterCorrect": True,
                              "rationaleCorrect": None, "votes": 3}
    i4 = got[labelled["I4"]["intention_id"]]
    assert i4["majority"] == {"plausible": True, "typical": False, "humanCentric": False, "filterCorrect": True,
                              "rationaleCorrect": None, "votes": 3}
    unannotated = [i for i in got.values() if not i["annotations"]]
    assert len(unannotated) == 5 and all(i["majority"] is None for i in unannotated)
    # Annotations of every intention in the list come in one extra round trip (a DataLoader).
    assert body["extensions"]["dbRoundTrips"] == plain["extensions"]["dbRoundTrips"] + 1


# --- pure functions (no database) -----------------------------------------------------------------
def test_fleiss_kappa_and_agreement_by_hand():
    isa = [(2, 1), (1, 2), (3, 0), (2, 1), (3, 0), (2, 1), (1, 2), (3, 0),
           (1, 2), (0, 3), (1, 2), (3, 0), (2, 1), (1, 2), (0, 3), (2, 1)]
    assert pairwise_agreement(isa)["value"] == round(7 / 12, 4)
    assert fleiss(isa)["value"] == round(29 / 189, 4)
    assert fleiss([(3, 0), (0, 3), (3, 0)])["value"] == 1.0
    assert fleiss([(3, 0), (3, 0)])["value"] is None  # one answer only: chance agreement 1, kappa undefined
    mixed = fleiss([(2, 1), (3, 0), (1, 1)])  # units with 2 raters are left out of kappa
    assert (mixed["units"], mixed["raters"], mixed["excluded_units"]) == (2, 3, 1)


@pytest.mark.parametrize("total,caps,want", [
    (5, {"a": 9, "b": 9, "c": 9}, {"a": 2, "b": 2, "c": 1}),
    (6, {"a": 1, "b": 9, "c": 9}, {"a": 1, "b": 3, "c": 2}),
    (50, {"a": 1, "b": 2, "c": 0}, {"a": 1, "b": 2, "c": 0}),
])
def test_spread(total, caps, want):
    assert spread(total, caps, ["a", "b", "c"]) == want


def test_json_array_lines_and_answers():
    text = '[\n {"a": 1},\n\n {"b": [1,\n 2]}, {"c": 3}\n]\n'
    assert [line for line, _ in iter_json_array(text)] == [2, 4, 5]
    with pytest.raises(ValueError):
        list(iter_json_array('[{"a": 1} {"b": 2}]'))
    assert [parse_answer(v) for v in ("Yes", " no ", "Y", "false", "1", True)] == [True, False, True, False, True, True]
    with pytest.raises(ValueError):
        parse_answer("maybe")
    assert (majority([True, True, False]), majority([True, False]), majority([])) == (True, None, None)
    assert local_files_url("/data/img/a b.jpg", Path("/data")) == "/data/local-files/?d=img/a%20b.jpg"
    assert local_files_url("/elsewhere/a.jpg", Path("/data")) is None
