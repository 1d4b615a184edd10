"""`--bulk`: an empty local database filled by neo4j-admin's offline importer.

The records are read, parsed, quarantined and batched exactly as the incremental loaders do
(`read_import`, `read_pairs`, `catalog_batches`); only the sink differs: each batch goes to the write
statements' graph in memory (graph/bulkgraph.py) instead of a transaction. The graph is then written
as CSVs, imported with `neo4j-admin database import full`, and the constraints and vector indexes are
built once (graph/bulk.py); the empty lists the importer cannot store are set last. The summary is the incremental loader's, plus `path`, `counts` and `timings`.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from graph.bulk import load, refuse_unless_empty
from graph.bulkgraph import BulkGraph
from graph.driver import make_driver
from graph.ingest import ensure_ingest_schema, set_empty_lists
from ingest.batches import LineCounter, batched, drain
from ingest.catalog import CatalogOptions, CatalogStats, catalog_batches, catalog_summary, check_options, write_counted
from ingest.intentions import ImportBatch, ImportOptions, read_import
from ingest.pairs import PairBatch, read_pairs
from ingest.release import Fetched, Release, fetch_summary
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings

B = TypeVar("B")


def _bulk(settings: Settings, batches: Iterable[B], sink: Callable[[BulkGraph, B], dict | None], lines: LineCounter,
          quarantine: Quarantine, desc: str, dimensions: int) -> tuple[Counter, dict]:
    """The target checked (the local server, an empty database), the batches taken in memory, then the
    import; returns the sink's totals and what the bulk path adds to the summary."""
    refuse_unless_empty(settings)
    graph = BulkGraph()
    t0 = time.perf_counter()
    totals = drain(batches, lambda batch: sink(graph, batch), quarantine, lines, desc)
    timings = {"read_s": time.perf_counter() - t0}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bulk-", dir=settings.data_dir) as folder:
        t1 = time.perf_counter()
        files = graph.files(Path(folder))
        timings["csv_s"] = time.perf_counter() - t1
        report = load(settings, files, dimensions)
    with make_driver(settings) as driver, driver.session(database=settings.neo4j_database) as session:
        ensure_ingest_schema(driver, settings.neo4j_database)
        for rows in batched(graph.empty_lists(), settings.write_batch_size):
            session.execute_write(set_empty_lists, rows)
    timings.update({k: report[k] for k in ("import_s", "start_s", "indexes_s")})
    return totals, {"path": "bulk", "counts": report["counts"],
                    "timings": {k: round(v, 1) for k, v in timings.items()}}


def bulk_import_intentions(settings: Settings, paths: Path | list[Path], fmt: str, quarantine: Quarantine,
                           dimensions: int, batch_size: int | None = None,
                           options: ImportOptions | None = None) -> dict:
    """`mind import intentions --bulk`: the files checked first, then the target, then the import."""
    stream = read_import(settings, paths, fmt, quarantine, batch_size, options)

    def sink(graph: BulkGraph, batch: ImportBatch) -> dict:
        return graph.write_import_batch(*batch.args())

    totals, extra = _bulk(settings, stream.batches, sink, stream.lines, quarantine, f"bulk {fmt}", dimensions)
    return {**stream.summary(totals, quarantine), **extra}


def bulk_import_release(settings: Settings, release: Release, fetched: Fetched, quarantine: Quarantine,
                        dimensions: int, options: ImportOptions | None = None) -> dict:
    """`mind import release --bulk`: the fetched files of a release as one stream."""
    summary = bulk_import_intentions(settings, fetched.paths, release.format, quarantine, dimensions, options=options)
    return {**fetch_summary(release, fetched), **summary}


def bulk_ingest_pairs(settings: Settings, paths: list[Path], quarantine: Quarantine, dimensions: int,
                      batch_size: int | None = None) -> dict:
    """`mind ingest pairs --bulk`: the files checked first, then the target, then the import."""
    stream = read_pairs(settings, paths, quarantine, batch_size)

    def sink(graph: BulkGraph, batch: PairBatch) -> dict:
        return {"pairs": batch.pairs, **graph.write_pairs_batch(batch.products, batch.links)}

    totals, extra = _bulk(settings, stream.batches, sink, stream.lines, quarantine, "bulk pairs", dimensions)
    return {**stream.summary(totals, quarantine), **extra}


def bulk_ingest_catalog(settings: Settings, paths: list[Path], options: CatalogOptions, quarantine: Quarantine,
                        dimensions: int, batch_size: int | None = None) -> dict:
    """`mind ingest catalog --bulk`: the files and options checked first, then the target, then the
    import; also_buy links whose target never came are imported as the pending links they are."""
    check_options(paths, options)
    stats = CatalogStats()

    def sink(graph: BulkGraph, batch: tuple[list[dict], list[dict]]) -> dict | None:
        return write_counted(batch, graph.write_catalog_batch)

    with catalog_batches(settings, paths, options, quarantine, stats, batch_size) as batches:
        totals, extra = _bulk(settings, batches, sink, stats, quarantine, "bulk catalog", dimensions)
    return {**catalog_summary(stats, totals, quarantine, extra["counts"].get("pending_links", 0)), **extra}
