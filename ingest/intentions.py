"""`mind import intentions`: existing intention knowledge as Intention nodes.

Formats:
- mind-csv: the reference MIND scripts' output, columns id_a, id_b, Product_a, Product_b,
  Relation, Intention, Agreement. Agreement "Yes..." -> ACCEPTED, "No..." -> REJECTED (the rest is
  the rationale), anything else -> UNDECIDED.
- intentionqa: the benchmark's JSON lines; one ACCEPTED intention per question from its
  `assertion` (the clause after "because"), relation from the template it starts with, else Other.
- jsonl: {"asin_a", "asin_b", "relation", "text", "status"?, "rationale"?, "source"?,
  "name_a"?, "name_b"?}; status defaults to ACCEPTED, source to "jsonl".
Ids are mindkb.ids.intention_id(pair, relation, model=<source>, prompt_version="import",
discriminator=<text>), so a re-import changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from neo4j import Driver

from graph.ingest import (complete_pending_links, ensure_ingest_schema, existing_intention_ids, link_co_buys,
                          merge_minimal_products)
from graph.intentions import merge_intentions
from ingest.quarantine import Quarantine
from ingest.records import clean_text, valid_asin
from ingest.table import open_table
from mindkb.errors import BadInput
from mindkb.ids import intention_id, named_product_asin, pair_key
from mindkb.output import progress
from mindkb.relations import RELATIONS, STATUSES
from mindkb.settings import Settings

FORMATS = ("mind-csv", "intentionqa", "jsonl")
PROMPT_VERSION = "import"
MAX_INTENTION_CHARS = 5_000
REQUIRED = {
    "mind-csv": ("id_a", "id_b", "Relation", "Intention"),
    "intentionqa": ("item_a_id", "item_b_id", "assertion"),
    "jsonl": ("asin_a", "asin_b", "relation", "text"),
}
# Longest template first, so "they both are a type of" wins over "they both are".
TEMPLATES = sorted(((r.template.lower(), r.name) for r in RELATIONS if r.template), key=lambda t: -len(t[0]))
RELATION_LOOKUP = {r.name.lower(): r.name for r in RELATIONS}
RELATION_LOOKUP.update({r.enum_name.lower(): r.name for r in RELATIONS})
RELATION_LOOKUP.update({r.template.lower(): r.name for r in RELATIONS if r.template})
VERDICT_RE = re.compile(r"^\W*(yes|no)\b\W*", re.IGNORECASE)


class IntentionRecordError(ValueError):
    """A record that cannot be imported; the message is the quarantine reason."""


@dataclass(frozen=True)
class ImportedIntention:
    asin_a: str
    asin_b: str
    name_a: str | None
    name_b: str | None
    relation: str
    text: str
    status: str
    rationale: str | None
    source: str
    raw_text: str | None = None
    # Other products the record names (IntentionQA task 2: the distractor options), as
    # (asin, name); loaded as products without any co-buy link so a benchmark can rank them.
    extra_products: tuple[tuple[str, str | None], ...] = ()

    def row(self) -> dict:
        iid = intention_id(self.asin_a, self.asin_b, self.relation, self.source, PROMPT_VERSION, self.text)
        props = {"text": self.text, "status": self.status, "rationale": self.rationale,
                 "model": self.source, "promptVersion": PROMPT_VERSION, "source": self.source}
        if self.raw_text:
            props["rawText"] = self.raw_text
        return {"id": iid, "asinA": self.asin_a, "asinB": self.asin_b, "relation": self.relation,
                "props": props}


def relation_from_text(text: str) -> str:
    lowered = text.lower()
    for template, name in TEMPLATES:
        if lowered.startswith(template):
            return name
    return "Other"


def relation_name(value: object) -> str:
    key = " ".join(str(value or "").split()).lower()
    if key not in RELATION_LOOKUP:
        raise IntentionRecordError(f"unknown relation {str(value)[:80]!r}")
    return RELATION_LOOKUP[key]


def parse_agreement(value: object) -> tuple[str, str | None]:
    text = clean_text(value)
    if not text:
        return "UNDECIDED", None
    match = VERDICT_RE.match(text)
    if not match:
        return "UNDECIDED", text
    status = "ACCEPTED" if match.group(1).lower() == "yes" else "REJECTED"
    return status, text[match.end():].strip() or None


def _ids(data: dict, key_a: str, key_b: str) -> tuple[str, str]:
    out = []
    for key in (key_a, key_b):
        raw = data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise IntentionRecordError(f"missing or empty {key}")
        asin = valid_asin(raw)
        if asin is None:
            raise IntentionRecordError(f"invalid {key} {str(raw)[:80]!r}")
        out.append(asin)
    if out[0] == out[1]:
        raise IntentionRecordError(f"{key_a} equals {key_b}")
    return out[0], out[1]


def _text(value: object, field: str) -> str:
    text = clean_text(value)
    if not text:
        raise IntentionRecordError(f"missing or empty {field}")
    if len(text) > MAX_INTENTION_CHARS:
        raise IntentionRecordError(f"{field} longer than {MAX_INTENTION_CHARS} characters")
    return text


def parse_mind_csv(data: dict) -> ImportedIntention:
    asin_a, asin_b = _ids(data, "id_a", "id_b")
    relation = relation_name(data.get("Relation"))
    status, rationale = parse_agreement(data.get("Agreement"))
    return ImportedIntention(asin_a, asin_b, clean_text(data.get("Product_a")), clean_text(data.get("Product_b")),
                             relation, _text(data.get("Intention"), "Intention"), status, rationale, "mind-csv")


def parse_intentionqa(data: dict) -> ImportedIntention:
    asin_a, asin_b = _ids(data, "item_a_id", "item_b_id")
    assertion = _text(data.get("assertion"), "assertion")
    lowered = assertion.lower()
    cut = lowered.find("because ")
    text = assertion[cut + len("because "):].strip() if cut >= 0 else assertion
    if not text:
        raise IntentionRecordError("empty assertion after 'because'")
    return ImportedIntention(asin_a, asin_b, clean_text(data.get("item_a_name")), clean_text(data.get("item_b_name")),
                             relation_from_text(text), text, "ACCEPTED", None, "intentionqa", assertion,
                             _distractor_products(data))


def _distractor_products(data: dict) -> tuple[tuple[str, str | None], ...]:
    """Task-2 records name their distractor products (`distractors_product`); task-1 records'
    distractors are other questions, not products. Keyed by name (`named_product_asin`): the
    benchmark's `distractors_id` often belong to other items."""
    names = data.get("distractors_product")
    if not isinstance(names, list):
        return ()
    out = []
    for name in names[:10]:
        name = clean_text(name) if isinstance(name, str) else None
        if name:
            out.append((named_product_asin(name), name))
    return tuple(out)


def parse_jsonl(data: dict) -> ImportedIntention:
    asin_a, asin_b = _ids(data, "asin_a", "asin_b")
    relation = relation_name(data.get("relation"))
    status = str(data.get("status") or "ACCEPTED").strip().upper()
    if status not in STATUSES:
        raise IntentionRecordError(f"unknown status {str(data.get('status'))[:40]!r}")
    source = clean_text(data.get("source")) or "jsonl"
    if len(source) > 100:
        raise IntentionRecordError("source longer than 100 characters")
    return ImportedIntention(asin_a, asin_b, clean_text(data.get("name_a")), clean_text(data.get("name_b")),
                             relation, _text(data.get("text"), "text"), status,
                             clean_text(data.get("rationale")), source)


PARSERS = {"mind-csv": parse_mind_csv, "intentionqa": parse_intentionqa, "jsonl": parse_jsonl}


def write_import_batch(tx, products: list[dict], links: list[dict], rows: list[dict]) -> dict:
    """Minimal products for unknown asins, the pair's CO_BUY edge, then the intentions."""
    existing = set(existing_intention_ids(tx, [r["id"] for r in rows]))
    merge_minimal_products(tx, products)
    link_co_buys(tx, links)
    complete_pending_links(tx, [p["asin"] for p in products])
    written = merge_intentions(tx, rows)
    return {"written": written, "created": sum(1 for r in rows if r["id"] not in existing)}


def import_intentions(driver: Driver, settings: Settings, path: Path, fmt: str, quarantine: Quarantine,
                      batch_size: int | None = None) -> dict:
    if fmt not in FORMATS:
        raise BadInput(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt != "mind-csv" and not path.exists():
        raise BadInput(f"{path}: no such file")
    records = open_table(path, REQUIRED[fmt], settings.ingest_max_line_bytes,
                         json_lines=None if fmt == "mind-csv" else True)
    ensure_ingest_schema(driver, settings.neo4j_database)
    parse = PARSERS[fmt]
    batch_size = batch_size or settings.write_batch_size
    read = written = created = 0
    products: dict[str, dict] = {}
    links: dict[tuple[str, str], dict] = {}
    rows: dict[str, dict] = {}

    with driver.session(database=settings.neo4j_database) as session, \
            progress(desc=f"import {fmt}", unit="lines") as bar:

        def flush() -> None:
            nonlocal written, created
            if rows:
                result = session.execute_write(write_import_batch, list(products.values()),
                                               list(links.values()), list(rows.values()))
                written += result["written"]
                created += result["created"]
            products.clear(); links.clear(); rows.clear()
            quarantine.flush()
            bar.update(read - bar.n)
            bar.set_postfix(intentions=written, quarantined=quarantine.count, refresh=False)

        for record in records:
            read += 1
            if record.error:
                quarantine.add(path, record.line, record.error, record.raw)
                continue
            try:
                item = parse(record.data)
            except IntentionRecordError as exc:
                quarantine.add(path, record.line, str(exc), record.raw)
                continue
            for asin, name in ((item.asin_a, item.name_a), (item.asin_b, item.name_b), *item.extra_products):
                if asin not in products or (name and not products[asin]["title"]):
                    products[asin] = {"asin": asin, "title": name}
            a, b = pair_key(item.asin_a, item.asin_b)
            links[(a, b)] = {"a": a, "b": b, "source": item.source}
            row = item.row()
            rows[row["id"]] = row
            if len(rows) >= batch_size:
                flush()
        flush()

    return {"read": read, "intentions": written, "quarantined": quarantine.count,
            "quarantine_file": quarantine.file, "created": created}
