"""kb mode on the authors' real MIND output: it answers every question whatever the graph holds,
never falls below the embedding mode on products it does not know, and says which questions
its knowledge covers (`--sources`, `covered`)."""

from __future__ import annotations

import csv
import json
from itertools import islice

import pytest

from mindkb.ids import pair_key
from tests.conftest import reset_graph
from tests.support.cli import run_cli
from tests.support.paths import shared_file

MIND_ROWS = 240  # a pair-grouped head of the real file: enough pairs, a short embed


def _mind_head(tmp_path, rows: int = MIND_ROWS):
    source = shared_file("mind-real/mind_output.dev.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        records = list(islice(reader, rows))
        fields = reader.fieldnames
    path = tmp_path / "mind_head.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    return path, records


def _questions(task: int) -> list[dict]:
    path = shared_file(f"intentionqa/task{task}.dev.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path, questions: list[dict]):
    path.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mind_records(driver, settings, tmp_path_factory):
    """The head of the real file imported and embedded once for the module; the last test adds to it."""
    reset_graph(driver, settings)
    path, records = _mind_head(tmp_path_factory.mktemp("mind-head"))
    r = run_cli("import", "intentions", str(path), "--format", "mind-csv", "--json")
    assert r.returncode == 0 and r.summary["quarantined"] == 0, r.stderr
    assert run_cli("embed", "--json").returncode == 0
    return records


def test_task2_on_products_the_graph_lacks_answers_all_and_keeps_up_with_embedding(mind_records, cli, tmp_path):
    records = mind_records
    known = {a for r in records for a in (r["id_a"], r["id_b"])}
    foreign = [q for q in _questions(2) if q["item_a_id"] not in known and q["item_b_id"] not in known][:60]
    data = _write(tmp_path / "foreign.jsonl", foreign)
    result = cli("eval", "intentionqa", "--task", "2", "--data", str(data), "--mode", "kb", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    # every complete question answered (the dev file has some with fewer than four options)
    assert s["n"] + s["skipped"] == len(foreign) and s["n"] >= 40 and s["unparsable"] == 0
    assert s["missing_products"] >= len(foreign)  # the options' products are not in the graph...
    assert s["accuracy"] >= s["embedding_accuracy"]  # ...and the answer is still never worse
    assert s["accuracy"] > 0.5  # far above chance (0.25), unlike answering from the graph alone
    assert s["covered"] == 0 and s["accuracy_covered"] is None


def test_sources_and_covered_on_the_questions_the_mind_output_knows(mind_records, cli, tmp_path):
    records = mind_records
    pairs = {pair_key(r["id_a"], r["id_b"]) for r in records if r["Agreement"].lower().startswith("yes")}
    known = [q for q in _questions(2) if pair_key(q["item_a_id"], q["item_b_id"]) in pairs][:30]
    assert known, "the head of the MIND file shares pairs with IntentionQA"
    data = _write(tmp_path / "known.jsonl", known)
    mind = cli("eval", "intentionqa", "--task", "2", "--data", str(data), "--mode", "kb", "--sources", "mind-csv",
               "--json")
    assert mind.returncode == 0, mind.stderr
    s = mind.summary
    assert s["sources"] == ["mind-csv"] and s["n"] == len(known)
    assert s["covered"] == s["n"]  # each question's own pair has an accepted MIND intention
    assert s["accuracy_covered"] == s["accuracy"] and s["embedding_accuracy_covered"] == s["embedding_accuracy"]
    assert s["accuracy_covered"] >= s["embedding_accuracy_covered"]

    other = cli("eval", "intentionqa", "--task", "2", "--data", str(data), "--mode", "kb", "--sources",
                "intentionqa", "--json")
    assert other.returncode == 0 and other.summary["covered"] == 0  # no fact of that source in the graph

    bad = cli("eval", "intentionqa", "--task", "2", "--data", str(data), "--mode", "embedding", "--sources",
              "mind-csv", "--json")
    assert bad.returncode == 2 and "--sources" in bad.stderr and "Traceback" not in bad.stderr


def test_task1_keeps_the_own_pairs_generated_facts_when_the_benchmark_is_imported_too(mind_records, cli, tmp_path):
    """The gold option is the own pair's IntentionQA fact: that fact goes, the pair's MIND facts stay.
    (Last in the module: it adds the benchmark's facts to the shared graph.)"""
    records = mind_records
    pairs = {pair_key(r["id_a"], r["id_b"]) for r in records if r["Agreement"].lower().startswith("yes")}
    known = [q for q in _questions(1) if pair_key(q["item_a_id"], q["item_b_id"]) in pairs][:20]
    assert known
    data = _write(tmp_path / "known1.jsonl", known)
    r = cli("import", "intentions", str(data), "--format", "intentionqa", "--json")
    assert r.returncode == 0 and r.summary["created"] > 0, r.stderr
    assert cli("embed", "--json").returncode == 0
    result = cli("eval", "intentionqa", "--task", "1", "--data", str(data), "--mode", "kb", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert s["n"] + s["skipped"] == len(known) and s["n"] > 0 and s["covered"] == s["n"]
    assert s["excluded_facts"] >= r.summary["created"]  # every imported benchmark fact withheld from its question
