"""`mind ingest pairs`: co-buy pairs (FolkScope / IntentionQA format) as CSV or JSON lines.

Products named only here become minimal nodes (asin + title from the name, imageState missing);
products already loaded keep their catalogue data.
"""

from __future__ import annotations

from pathlib import Path

from neo4j import Driver

from graph.ingest import ensure_ingest_schema, write_pairs_batch
from ingest.quarantine import Quarantine
from ingest.records import clean_text, valid_asin
from ingest.table import open_table
from mindkb.errors import BadInput
from mindkb.ids import pair_key
from mindkb.output import progress
from mindkb.settings import Settings

REQUIRED = ("item_a_id", "item_b_id")
PAIR_SOURCE = "pairs"


class PairError(ValueError):
    pass


def parse_pair(data: dict) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    ends = []
    for side in ("a", "b"):
        raw = data.get(f"item_{side}_id")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise PairError(f"missing or empty item_{side}_id")
        asin = valid_asin(raw)
        if asin is None:
            raise PairError(f"invalid item_{side}_id {str(raw)[:80]!r}")
        ends.append((asin, clean_text(data.get(f"item_{side}_name"))))
    if ends[0][0] == ends[1][0]:
        raise PairError("item_a_id equals item_b_id")
    return ends[0], ends[1]


def open_tables(paths: list[Path], required: tuple[str, ...], settings: Settings) -> list:
    """All files are checked before anything is written."""
    if not paths:
        raise BadInput("no input file given")
    return [(path, open_table(path, required, settings.ingest_max_line_bytes)) for path in paths]


def ingest_pairs(driver: Driver, settings: Settings, paths: list[Path], quarantine: Quarantine,
                 batch_size: int | None = None) -> dict:
    tables = open_tables(paths, REQUIRED, settings)
    ensure_ingest_schema(driver, settings.neo4j_database)
    batch_size = batch_size or settings.write_batch_size
    read = pairs = created = co_buy = 0
    products: dict[str, dict] = {}
    links: dict[tuple[str, str], dict] = {}

    with driver.session(database=settings.neo4j_database) as session, \
            progress(desc="pairs", unit="lines") as bar:

        def flush() -> None:
            nonlocal created, co_buy
            if links:
                result = session.execute_write(write_pairs_batch, list(products.values()), list(links.values()))
                created += result["created"]
                co_buy += result["co_buy"]
            products.clear()
            links.clear()
            quarantine.flush()
            bar.update(read - bar.n)
            bar.set_postfix(pairs=pairs, quarantined=quarantine.count, refresh=False)

        for path, records in tables:
            for record in records:
                read += 1
                if record.error:
                    quarantine.add(path, record.line, record.error, record.raw)
                    continue
                try:
                    (asin_a, name_a), (asin_b, name_b) = parse_pair(record.data)
                except PairError as exc:
                    quarantine.add(path, record.line, str(exc), record.raw)
                    continue
                pairs += 1
                for asin, name in ((asin_a, name_a), (asin_b, name_b)):
                    if asin not in products or (name and not products[asin]["title"]):
                        products[asin] = {"asin": asin, "title": name}
                a, b = pair_key(asin_a, asin_b)
                links[(a, b)] = {"a": a, "b": b, "source": PAIR_SOURCE}
                if len(links) >= batch_size:
                    flush()
        flush()

    return {"read": read, "pairs": pairs, "products": created, "quarantined": quarantine.count,
            "quarantine_file": quarantine.file, "co_buy": co_buy}
