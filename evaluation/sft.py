"""`mind export sft`: accepted intentions as instruction-tuning records (the paper's §5.1).

Two tasks per intention, as IntentionQA asks them: "intention understanding" (two products ->
the co-buy intention) and "intention utilisation" (a product and an intention -> the co-bought
product). Each task has a few phrasings; the one used is chosen by a hash of the intention id,
so the same graph always gives a byte-identical file. Records are ordered by pair, then id.
The split is by co-buy pair: a hash of (seed, pair) puts all of a pair's records in the train
file or all in the holdout file (FILE.holdout.jsonl), stable across runs and graph growth.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path

from neo4j import Driver

from graph.driver import read
from graph.evaluation import accepted_intentions_page
from mindkb.errors import BadInput, BadOption
from mindkb.ids import pair_key

UNDERSTANDING = (
    ('A customer bought "{a}" and "{b}" together. Explain the intention behind this purchase.',
     "The customer bought them together because {text}"),
    ('Why would a shopper buy "{a}" together with "{b}"?', "Because {text}"),
    ("Product 1: {a}\nProduct 2: {b}\nWhat is the most likely reason these two products are bought together?",
     "They are bought together because {text}"),
)
UTILISATION = (
    ('A customer bought "{a}" because {text_nodot}. Which product did the customer most probably buy with it?',
     "{b}"),
    ('Someone purchased "{a}" and another product, because {text_nodot}. Name the other product.', "{b}"),
    ("Product: {a}\nPurchase intention: {text}\nWhat product would a customer with this intention buy together "
     "with it?", "{b}"),
)
TASKS = (("intention_understanding", UNDERSTANDING), ("intention_utilisation", UTILISATION))
PAGE = 5000


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def in_holdout(asin_a: str, asin_b: str, fraction: float, seed: int) -> bool:
    a, b = pair_key(asin_a, asin_b)
    return fraction > 0 and _hash(f"{seed}\x1f{a}\x1f{b}") / 2**64 < fraction


def holdout_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.holdout{out.suffix or '.jsonl'}")


def records(row: dict) -> list[dict]:
    text = " ".join(row["text"].split())
    fields = {"a": row["nameA"], "b": row["nameB"], "text": text if text.endswith(".") else text + ".",
              "text_nodot": text.rstrip(".")}
    out = []
    for task, templates in TASKS:
        instruction, answer = templates[_hash(f"{row['id']}\x1f{task}") % len(templates)]
        out.append({"id": f"{row['id']}:{task}", "task": task, "instruction": instruction.format(**fields),
                    "output": answer.format(**fields), "relation": row["relation"], "asin_a": row["asinA"],
                    "asin_b": row["asinB"], "intention_id": row["id"]})
    return out


def export(driver: Driver, database: str, out: Path, relations: list[str], max_per_pair: int | None,
           holdout_fraction: float, seed: int, max_records: int) -> dict:
    if not 0 <= holdout_fraction < 1:
        raise BadOption("{holdout_fraction} must be in [0, 1)")
    if max_per_pair is not None and max_per_pair < 1:
        raise BadOption("{max_per_pair} must be at least 1")
    by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    after, read_rows, unnamed = "", 0, 0
    while rows := read(driver, database, accepted_intentions_page, relations, after, PAGE):
        after = rows[-1]["id"]
        for row in rows:
            read_rows += 1
            if not row["nameA"] or not row["nameB"] or not row["text"]:
                unnamed += 1
                continue
            by_pair[pair_key(row["asinA"], row["asinB"])].append(row)
    holdout = holdout_path(out)
    written = {"train": 0, "holdout": 0}
    pairs = {"train": 0, "holdout": 0}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = {"train": out.with_name(out.name + ".tmp"), "holdout": holdout.with_name(holdout.name + ".tmp")}
    handles = {"train": tmp["train"].open("w", encoding="utf-8")}
    if holdout_fraction > 0:
        handles["holdout"] = tmp["holdout"].open("w", encoding="utf-8")
    try:
        for pair in sorted(by_pair):
            side = "holdout" if in_holdout(*pair, holdout_fraction, seed) else "train"
            chosen = sorted(by_pair[pair], key=lambda r: r["id"])[:max_per_pair]
            pairs[side] += 1
            for row in chosen:
                for record in records(row):
                    if written["train"] + written["holdout"] >= max_records:
                        raise BadInput(f"more than {max_records} records (MIND_EXPORT_MAX_RECORDS); "
                                       "narrow with --relations or --max-per-pair")
                    handles[side].write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                    written[side] += 1
    except BaseException:
        for h in handles.values():
            h.close()
        for p in tmp.values():
            p.unlink(missing_ok=True)
        raise
    for h in handles.values():
        h.close()
    os.replace(tmp["train"], out)
    if holdout_fraction > 0:
        os.replace(tmp["holdout"], holdout)
    return {"out": str(out), "records": written["train"], "pairs": pairs["train"],
            "holdout_file": str(holdout) if holdout_fraction > 0 else None,
            "holdout_records": written["holdout"], "holdout_pairs": pairs["holdout"],
            "intentions_read": read_rows, "skipped_unnamed": unnamed}
