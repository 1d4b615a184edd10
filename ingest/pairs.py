"""`mind ingest pairs`: co-buy pairs (FolkScope / IntentionQA format) as CSV or JSON lines.

Products named only here become minimal nodes (asin + title from the name, imageState missing);
products already loaded keep their catalogue data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from neo4j import Driver, ManagedTransaction

from graph.ingest import ensure_ingest_schema, write_pairs_batch
from ingest.batches import LineCounter, Parsed, RecordError, batched, parse_records, write_batches
from ingest.reader import Limits
from ingest.table import Table, open_table
from mindkb.errors import BadInput
from mindkb.ids import pair_key, valid_asin
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings
from mindkb.text import clean_text

REQUIRED = ("item_a_id", "item_b_id")
PAIR_SOURCE = "pairs"


@dataclass(frozen=True)
class Pair:
    a: tuple[str, str | None]  # (asin, name)
    b: tuple[str, str | None]


def parse_pair(data: dict) -> Pair:
    ends = []
    for side in ("a", "b"):
        raw = data.get(f"item_{side}_id")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise RecordError(f"missing or empty item_{side}_id")
        asin = valid_asin(raw)
        if asin is None:
            raise RecordError(f"invalid item_{side}_id {str(raw)[:80]!r}")
        ends.append((asin, clean_text(data.get(f"item_{side}_name"))))
    if ends[0][0] == ends[1][0]:
        raise RecordError("item_a_id equals item_b_id")
    return Pair(ends[0], ends[1])


def open_pair_tables(paths: list[Path], settings: Settings) -> list[tuple[Path, Table]]:
    """All files are checked before anything is written."""
    if not paths:
        raise BadInput("no input file given")
    return [(path, open_table(path, REQUIRED, Limits.of(settings))) for path in paths]


@dataclass(frozen=True)
class PairBatch:
    """The rows one batch of pairs writes, as every sink receives them: the transaction of
    `write_pairs_batch` or the bulk path's graph in memory (graph/bulkgraph.py)."""

    pairs: int
    products: list[dict]
    links: list[dict]

    @classmethod
    def of(cls, batch: list[Parsed[Pair]]) -> PairBatch:
        products: dict[str, dict] = {}
        links: dict[tuple[str, str], dict] = {}
        for parsed in batch:
            for asin, name in (parsed.item.a, parsed.item.b):
                if asin not in products or (name and not products[asin]["title"]):
                    products[asin] = {"asin": asin, "title": name}
            a, b = pair_key(parsed.item.a[0], parsed.item.b[0])
            links[(a, b)] = {"a": a, "b": b, "source": PAIR_SOURCE}
        return cls(len(batch), list(products.values()), list(links.values()))


@dataclass
class PairStream:
    """The pair files' batches, read lazily, and the lines they took."""

    batches: Iterator[PairBatch]
    lines: LineCounter

    def summary(self, totals: Mapping[str, int], quarantine: Quarantine) -> dict:
        """What `mind ingest pairs` prints, whichever sink took the batches."""
        return {"lines": self.lines.lines, "read": self.lines.read, "pairs": totals["pairs"],
                "products": totals["created"], "quarantined": quarantine.count,
                "quarantine_file": quarantine.file, "co_buy": totals["co_buy"]}


def read_pairs(settings: Settings, paths: list[Path], quarantine: Quarantine,
               batch_size: int | None = None) -> PairStream:
    """Every file is checked here, before anything is written."""
    tables = open_pair_tables(paths, settings)
    lines = LineCounter()
    items = parse_records(tables, parse_pair, quarantine, lines)
    return PairStream((PairBatch.of(batch) for batch in batched(items, batch_size or settings.write_batch_size)),
                      lines)


def write_pairs(tx: ManagedTransaction, batch: PairBatch) -> dict:
    return {"pairs": batch.pairs, **write_pairs_batch(tx, batch.products, batch.links)}


def ingest_pairs(driver: Driver, settings: Settings, paths: list[Path], quarantine: Quarantine,
                 batch_size: int | None = None) -> dict:
    stream = read_pairs(settings, paths, quarantine, batch_size)
    ensure_ingest_schema(driver, settings.neo4j_database)
    totals = write_batches(driver, settings.neo4j_database, stream.batches, write_pairs, quarantine, stream.lines,
                           "pairs")
    return stream.summary(totals, quarantine)
