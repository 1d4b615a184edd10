"""`mind annotate export`: the sample as Label Studio tasks + labelling config, and as a CSV.

Files (each written to a temporary name and renamed, so an interrupted export leaves none half
written): DIR/tasks.json (Label Studio import format), DIR/label_config.xml (paste into the
project's Labeling Interface > Code), DIR/tasks.csv (one row per task, empty answer columns).
"""

from __future__ import annotations

import os
from pathlib import Path

from neo4j import Driver

from evaluation.annotation import FILTERED
from evaluation.annotation.csvformat import tasks_csv
from evaluation.annotation.labelstudio import label_config, task_data, tasks_json
from evaluation.annotation.sample import draw
from graph.annotations import task_rows
from graph.driver import chunked, read
from mindkb.errors import BadOption, literal

FILES = {"tasks": "tasks.json", "config": "label_config.xml", "csv": "tasks.csv"}
BATCH = 1000


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BadOption("{out} " + literal(out) + " is a file; give a folder")


def export(driver: Driver, database: str, out: Path, n: int, per_relation: bool, seed: int,
           relations: list[str], allocation: str, document_root: Path) -> dict:
    check_out(out)
    drawn = draw(driver, database, n, per_relation, seed, relations, allocation)
    by_id: dict[str, dict] = {}
    for ids in chunked(drawn["ids"], BATCH):
        for found in read(driver, database, task_rows, ids):
            by_id[found["id"]] = found
    datas, images = [], {"url": 0, "local": 0, "outside_root": 0, "none": 0}
    counts: dict[str, dict[str, int]] = {}
    for intention_id in drawn["ids"]:
        row = by_id.get(intention_id)
        if row is None:  # deleted between the draw and this read
            continue
        data, kinds = task_data(row, document_root)
        datas.append(data)
        for kind in kinds.values():
            images[kind] += 1
        per = counts.setdefault(data["relation"], dict.fromkeys(FILTERED, 0))
        per[data["status"]] = per.get(data["status"], 0) + 1
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {key: out / name for key, name in FILES.items()}
        _write(paths["config"], label_config())
        _write(paths["tasks"], tasks_json(datas))
        _write(paths["csv"], tasks_csv(datas))
    except OSError as exc:
        raise BadOption("cannot write to {out} " + literal(out) + ": " + literal(exc.strerror or exc)) from None
    totals = {s: sum(c.get(s, 0) for c in counts.values()) for s in FILTERED}
    return {"tasks": len(datas), "sample": n, "per_relation": per_relation, "seed": seed,
            "allocation": allocation, "relations": counts, "statuses": totals,
            "available": drawn["available"], "images": images, "document_root": str(document_root),
            "files": {key: str(p) for key, p in paths.items()}}
