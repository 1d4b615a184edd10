"""`mind import intentions`: existing intention knowledge as Intention nodes.

Formats:
- mind-csv: the reference MIND scripts' output, columns id_a, id_b, Product_a, Product_b,
  Relation, product_a_desc, product_b_desc, Intention, tail, Agreement (extra columns ignored,
  the optional ones may be missing); or FolkScope's release layout, two such records per row with
  every column suffixed `_1` and `_2` (found from the header), where item_a_img1_url..item_b_img3_url,
  item_a_cate, item_b_cate, item_a_link, item_b_link are kept on the products. Relations in any spelling of the authors' list
  (`propertOf`, `can`, ...). `Intention` goes through the model-output normaliser (`text` is the
  intention, `rawText` the whole answer); `product_*_desc` become the products' stage-1
  `features` (featuresSource mind-csv); `Agreement` "Yes..." -> ACCEPTED, "No..." -> REJECTED
  with the rest as rationale, anything else UNDECIDED, absent GENERATED. `tail` is FolkScope's
  assertion for the pair, not model output: imported only with `with_assertions`, as source
  `folkscope` (IntentionQA's answers come from it, so it never mixes in silently).
- intentionqa: the benchmark's JSON lines; one ACCEPTED intention per question from its
  `assertion` (the clause after "because"), relation from the template it starts with, else Other.
- jsonl: {"asin_a", "asin_b", "relation", "text", "status"?, "rationale"?, "source"?,
  "name_a"?, "name_b"?}; status defaults to ACCEPTED, source to "jsonl".
Ids are mindkb.ids.intention_id(pair, relation, model=<source>, prompt_version="import",
discriminator=<the record's own text>), so a re-import changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neo4j import Driver, ManagedTransaction

from graph.ingest import (
    complete_pending_links,
    ensure_ingest_schema,
    existing_intention_ids,
    link_co_buys,
    merge_minimal_products,
    set_imported_features,
    set_imported_product_details,
)
from graph.intentions import merge_intentions
from ingest.batches import LineCounter, Parsed, RecordError, batched, parse_records, write_batches
from ingest.reader import Limits
from ingest.table import Table, open_table
from mindkb.errors import BadInput
from mindkb.ids import intention_id, named_product_asin, pair_key, valid_asin
from mindkb.normalize import normalize_features, normalize_intention, parse_verdict
from mindkb.quarantine import Quarantine
from mindkb.relations import BY_NAME, STATUSES, lookup_relation, relation_from_text
from mindkb.settings import Settings
from mindkb.sources import NOISE
from mindkb.text import clean_text

FORMATS = ("mind-csv", "intentionqa", "jsonl")
PROMPT_VERSION = "import"
ASSERTION_SOURCE = "folkscope"
MAX_INTENTION_CHARS = 5_000
REQUIRED = {
    "mind-csv": ("id_a", "id_b", "Relation", "Intention"),
    "intentionqa": ("item_a_id", "item_b_id", "assertion"),
    "jsonl": ("asin_a", "asin_b", "relation", "text"),
}
# FolkScope's release holds two mind-csv records per row, every column suffixed with the record's number.
PAIRED_SUFFIXES = ("_1", "_2")
IMAGE_COLUMNS = ("img1_url", "img2_url", "img3_url")
MAX_URL_CHARS = 2_000


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
    # What the id tells apart: the record's own text (for mind-csv the whole answer, so a change
    # of the normaliser never duplicates a re-import).
    discriminator: str | None = None

    def row(self) -> dict:
        iid = intention_id(self.asin_a, self.asin_b, self.relation, self.source, PROMPT_VERSION,
                           self.discriminator or self.text)
        props = {"text": self.text, "status": self.status, "rationale": self.rationale,
                 "model": self.source, "promptVersion": PROMPT_VERSION, "source": self.source}
        if self.raw_text:
            props["rawText"] = self.raw_text
        return {"id": iid, "asinA": self.asin_a, "asinB": self.asin_b, "relation": self.relation,
                "props": props}


@dataclass(frozen=True)
class ImportRecord:
    """What one line adds: intentions, the products they name, and stage-1 features."""

    intentions: tuple[ImportedIntention, ...]
    # Other products the record names (IntentionQA task 2: the distractor options), as
    # (asin, name); loaded as products without any co-buy link so a benchmark can rank them.
    extra_products: tuple[tuple[str, str | None], ...] = ()
    features: tuple[tuple[str, str, str], ...] = ()  # (asin, features, raw description)
    # What the release says about a product (image URLs, category, page), as (asin, properties).
    details: tuple[tuple[str, dict], ...] = ()


@dataclass(frozen=True)
class ImportOptions:
    with_assertions: bool = False  # mind-csv: also FolkScope's `tail` as source folkscope


def relation_name(value: object) -> str:
    name = lookup_relation(value)
    if name is None:
        raise RecordError(f"unknown relation {str(value)[:80]!r}")
    return name


def _ids(data: dict, key_a: str, key_b: str) -> tuple[str, str]:
    out = []
    for key in (key_a, key_b):
        raw = data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise RecordError(f"missing or empty {key}")
        asin = valid_asin(raw)
        if asin is None:
            raise RecordError(f"invalid {key} {str(raw)[:80]!r}")
        out.append(asin)
    if out[0] == out[1]:
        raise RecordError(f"{key_a} equals {key_b}")
    return out[0], out[1]


def _text(value: object, field: str) -> str:
    text = clean_text(value)
    if not text:
        raise RecordError(f"missing or empty {field}")
    if len(text) > MAX_INTENTION_CHARS:
        raise RecordError(f"{field} longer than {MAX_INTENTION_CHARS} characters")
    return text


def _because(assertion: str) -> str:
    """The clause after "because" in "PersonX bought ... because <intention>"."""
    cut = assertion.lower().find("because ")
    text = assertion[cut + len("because "):].strip() if cut >= 0 else assertion
    if not text:
        raise RecordError("empty assertion after 'because'")
    return text


def parse_mind_csv(data: dict, options: ImportOptions) -> ImportRecord:
    asin_a, asin_b = _ids(data, "id_a", "id_b")
    relation = relation_name(data.get("Relation"))
    raw = data.get("Intention")
    _text(raw, "Intention")  # present and bounded
    answer = normalize_intention(str(raw), BY_NAME[relation].template)
    agreement = clean_text(data.get("Agreement"))
    if agreement is None:
        status, rationale = "GENERATED", None
    else:
        verdict = parse_verdict(agreement)
        status, rationale = verdict.status, verdict.rationale or (agreement if verdict.status == "UNDECIDED" else None)
    name_a, name_b = clean_text(data.get("Product_a")), clean_text(data.get("Product_b"))
    intentions = [ImportedIntention(asin_a, asin_b, name_a, name_b, relation, answer.text, status, rationale,
                                    "mind-csv", answer.raw_text, discriminator=answer.raw_text)]
    tail = clean_text(data.get("tail"))
    if options.with_assertions and tail:
        text = _because(tail)
        intentions.append(ImportedIntention(asin_a, asin_b, name_a, name_b, relation, text, "ACCEPTED", None,
                                            ASSERTION_SOURCE, tail))
    features = []
    for asin, column in ((asin_a, "product_a_desc"), (asin_b, "product_b_desc")):
        desc = data.get(column)
        if isinstance(desc, str) and desc.strip():
            text = normalize_features(desc)
            if text:
                features.append((asin, text[:MAX_INTENTION_CHARS * 4], desc))
    details = tuple((asin, found) for asin, side in ((asin_a, "a"), (asin_b, "b"))
                    if (found := _product_details(data, side)))
    return ImportRecord(tuple(intentions), features=tuple(features), details=details)


def _url(value: object) -> str | None:
    text = clean_text(value)
    return text if text and len(text) <= MAX_URL_CHARS and text.startswith(("http://", "https://")) else None


def _product_details(data: dict, side: str) -> dict:
    """item_<side>_img1_url..img3_url, item_<side>_cate, item_<side>_link: the release's product columns."""
    urls = list(dict.fromkeys(u for c in IMAGE_COLUMNS if (u := _url(data.get(f"item_{side}_{c}")))))
    category = clean_text(data.get(f"item_{side}_cate"))
    category = category[:200] if category else None
    found = {"imageUrl": urls[0] if urls else None, "imageUrls": urls or None, "mainCat": category,
             "categories": [category] if category else None, "link": _url(data.get(f"item_{side}_link"))}
    return found if any(v is not None for v in found.values()) else {}


def parse_intentionqa(data: dict, options: ImportOptions) -> ImportRecord:
    asin_a, asin_b = _ids(data, "item_a_id", "item_b_id")
    assertion = _text(data.get("assertion"), "assertion")
    text = _because(assertion)
    intention = ImportedIntention(asin_a, asin_b, clean_text(data.get("item_a_name")),
                                  clean_text(data.get("item_b_name")), relation_from_text(text), text, "ACCEPTED",
                                  None, "intentionqa", assertion)
    return ImportRecord((intention,), extra_products=_distractor_products(data))


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


def parse_jsonl(data: dict, options: ImportOptions) -> ImportRecord:
    asin_a, asin_b = _ids(data, "asin_a", "asin_b")
    relation = relation_name(data.get("relation"))
    status = str(data.get("status") or "ACCEPTED").strip().upper()
    if status not in STATUSES:
        raise RecordError(f"unknown status {str(data.get('status'))[:40]!r}")
    source = clean_text(data.get("source")) or "jsonl"
    if len(source) > 100:
        raise RecordError("source longer than 100 characters")
    if source == NOISE:
        raise RecordError(f"source {NOISE!r} is reserved: the filters' name for output of a model with random weights")
    intention = ImportedIntention(asin_a, asin_b, clean_text(data.get("name_a")), clean_text(data.get("name_b")),
                                  relation, _text(data.get("text"), "text"), status,
                                  clean_text(data.get("rationale")), source)
    return ImportRecord((intention,))


PARSERS = {"mind-csv": parse_mind_csv, "intentionqa": parse_intentionqa, "jsonl": parse_jsonl}


@dataclass
class _Batch:
    products: dict[str, dict] = field(default_factory=dict)
    links: dict[tuple[str, str], dict] = field(default_factory=dict)
    rows: dict[str, dict] = field(default_factory=dict)
    features: dict[str, dict] = field(default_factory=dict)
    details: dict[str, dict] = field(default_factory=dict)

    def add(self, record: ImportRecord) -> None:
        for item in record.intentions:
            for asin, name in ((item.asin_a, item.name_a), (item.asin_b, item.name_b)):
                self._product(asin, name)
            a, b = pair_key(item.asin_a, item.asin_b)
            self.links[(a, b)] = {"a": a, "b": b, "source": item.source}
            row = item.row()
            self.rows[row["id"]] = row
        for asin, name in record.extra_products:
            self._product(asin, name)
        for asin, text, raw in record.features:
            self.features[asin] = {"asin": asin, "features": text, "raw": raw}
        for asin, found in record.details:
            known = self.details.setdefault(asin, {"asin": asin})
            for key, value in found.items():
                if known.get(key) is None:
                    known[key] = value

    def _product(self, asin: str, name: str | None) -> None:
        if asin not in self.products or (name and not self.products[asin]["title"]):
            self.products[asin] = {"asin": asin, "title": name}


@dataclass(frozen=True)
class ImportBatch:
    """The rows one batch of records writes, as every sink receives them: the transaction of
    `write_import_batch` or the bulk path's graph in memory (graph/bulkgraph.py)."""

    products: list[dict]
    links: list[dict]
    rows: list[dict]
    features: list[dict]
    feature_source: str
    details: list[dict]

    @classmethod
    def of(cls, batch: list[Parsed[ImportRecord]], fmt: str) -> ImportBatch:
        collected = _Batch()
        for parsed in batch:
            collected.add(parsed.item)
        return cls(list(collected.products.values()), list(collected.links.values()), list(collected.rows.values()),
                   list(collected.features.values()), fmt, list(collected.details.values()))

    def args(self) -> tuple[list[dict], list[dict], list[dict], list[dict], str, list[dict]]:
        """The arguments of `write_import_batch` after its transaction."""
        return self.products, self.links, self.rows, self.features, self.feature_source, self.details


def write_import_batch(tx: ManagedTransaction, products: list[dict], links: list[dict], rows: list[dict],
                       features: list[dict] | None = None, feature_source: str = "",
                       details: list[dict] | None = None) -> dict:
    """Minimal products for unknown asins (with the release's image URLs, category and page), the
    pair's CO_BUY edge, features, then the intentions."""
    existing = set(existing_intention_ids(tx, [r["id"] for r in rows]))
    merge_minimal_products(tx, products)
    if details:
        set_imported_product_details(tx, details)
    link_co_buys(tx, links)
    complete_pending_links(tx, [p["asin"] for p in products])
    featured = set_imported_features(tx, features, feature_source) if features else 0
    written = merge_intentions(tx, rows)
    return {"written": written, "created": sum(1 for r in rows if r["id"] not in existing), "features": featured}


def open_intentions(path: Path, fmt: str, settings: Settings) -> Table:
    """The file's records; a wrong format or a missing column fails here, before any write."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if fmt == "mind-csv":  # the authors' descriptions and answers span lines
        return open_table(path, REQUIRED[fmt], Limits.of(settings), multiline=True, looks_like_record=_pair_row,
                          suffixes=PAIRED_SUFFIXES)
    return open_table(path, REQUIRED[fmt], Limits.of(settings), json_lines=True)


def _pair_row(row: dict[str, str]) -> bool:
    """A mind-csv line that starts a record: both asins where they belong (the first record's, in
    the two-per-row layout)."""
    a, b = (row.get(key, row.get(key + PAIRED_SUFFIXES[0])) for key in ("id_a", "id_b"))
    return bool(valid_asin(a) and valid_asin(b))


@dataclass
class ImportStream:
    """An import's batches, read lazily, and the lines they took."""

    fmt: str
    batches: Iterator[ImportBatch]
    lines: LineCounter

    def summary(self, totals: Mapping[str, int], quarantine: Quarantine) -> dict:
        """What `mind import` prints, whichever sink took the batches."""
        summary = {"lines": self.lines.lines, "read": self.lines.read, "intentions": totals["written"],
                   "quarantined": quarantine.count, "quarantine_file": quarantine.file, "created": totals["created"]}
        if self.fmt == "mind-csv":
            summary["features"] = totals["features"]
        return summary


def read_import(settings: Settings, paths: Path | list[Path], fmt: str, quarantine: Quarantine,
                batch_size: int | None = None, options: ImportOptions | None = None) -> ImportStream:
    """One file, or several read as one stream; every file is checked here, before anything is written."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    tables = [(path, open_intentions(path, fmt, settings)) for path in paths]
    options = options or ImportOptions()
    parse = PARSERS[fmt]
    lines = LineCounter()
    items = parse_records(tables, lambda data: parse(data, options), quarantine, lines)
    batches = (ImportBatch.of(batch, fmt) for batch in batched(items, batch_size or settings.write_batch_size))
    return ImportStream(fmt, batches, lines)


def import_intentions(driver: Driver, settings: Settings, paths: Path | list[Path], fmt: str,
                      quarantine: Quarantine, batch_size: int | None = None,
                      options: ImportOptions | None = None) -> dict:
    """One file, or several read as one stream (every file is checked before anything is written)."""
    stream = read_import(settings, paths, fmt, quarantine, batch_size, options)
    ensure_ingest_schema(driver, settings.neo4j_database)

    def write(tx: ManagedTransaction, batch: ImportBatch) -> dict:
        return write_import_batch(tx, *batch.args())

    totals = write_batches(driver, settings.neo4j_database, stream.batches, write, quarantine, stream.lines,
                           f"import {fmt}")
    return stream.summary(totals, quarantine)
