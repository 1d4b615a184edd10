"""The human evaluation round trip through a real Label Studio (1.23.2, its own venv: make labelstudio).

`mind annotate export` writes the tasks and labelling config; Label Studio, started on the loopback,
takes the config, imports the tasks, serves a product's local image through a Local Files storage,
records three annotators' answers (the hand-computed votes of test_annotate.py) and exports the
project as its own JSON. `mind annotate import` reads that export and `mind annotate report` gives
the Table 1 figures computed by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.evaluation.test_annotate import (
    PRODUCTS,
    answers_of,
    build,
    check_report,
    export,
    label_tasks,
    tasks,
)
from tests.support.paths import REPO
from tests.support.server import free_port

LABEL_STUDIO = REPO / os.environ.get("LABEL_STUDIO_VENV", ".venv-labelstudio") / "bin" / "label-studio"


def test_real_label_studio_round_trip_gives_the_hand_computed_table(empty_graph, settings, cli, tmp_path):
    assert LABEL_STUDIO.exists(), f"{LABEL_STUDIO} missing: run `make labelstudio`"
    build(empty_graph, settings.neo4j_database, tmp_path)
    out = tmp_path / "out"
    summary = export(cli, out, "--sample", "4", "--per-relation", "--seed", "3", "--document-root", str(tmp_path))
    assert summary["images"]["local"] > 0
    labelled = label_tasks([t["data"] for t in tasks(out)])
    answers = {d["intention_id"]: [answers_of(label, n) for n in (1, 2, 3)] for label, d in labelled.items()}
    (tmp_path / "answers.json").write_text(json.dumps(answers), encoding="utf-8")

    exported = tmp_path / "ls-export.json"
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "labelstudio_roundtrip.py"), "--label-studio", str(LABEL_STUDIO),
         "--tasks", str(out), "--images", str(tmp_path / "images"), "--document-root", str(tmp_path),
         "--answers", str(tmp_path / "answers.json"), "--out", str(exported), "--port", str(free_port())],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    trip = json.loads(run.stdout.strip().splitlines()[-1])
    assert trip["imported_tasks"] == len(tasks(out)) and trip["annotations"] == 24
    assert trip["local_image"]["status"] == 200 and trip["local_image"]["bytes"] > 0  # served by Label Studio

    raw = json.loads(exported.read_text(encoding="utf-8"))  # Label Studio's own export format
    assert {t["data"]["intention_id"] for t in raw} == {t["data"]["intention_id"] for t in tasks(out)}
    assert sum(len(t["annotations"]) for t in raw) == 24
    assert {a["completed_by"] for t in raw for a in t["annotations"]} == set(trip["users"])
    assert any(t["data"]["title_a"] == PRODUCTS["PURL00001"]["title"] for t in raw)

    imported = cli("annotate", "import", str(exported), "--quarantine", str(tmp_path / "q.jsonl"), "--json")
    assert imported.returncode == 0, imported.stderr
    s = imported.summary
    assert (s["format"], s["annotations"], s["created"], s["quarantined"], s["annotators"]) == \
        ("labelstudio", 24, 24, 0, 3)
    assert s["unannotated_tasks"] == len(tasks(out)) - 8  # every task came back, annotated or not
    report = cli("annotate", "report", "--json")
    assert report.returncode == 0, report.stderr
    check_report(report.summary)
