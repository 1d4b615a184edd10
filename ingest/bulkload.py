"""`mind import ... --bulk`: an empty local database filled by neo4j-admin's offline importer.

The records are read, parsed, quarantined and batched exactly as the incremental import does
(`read_import`); only the sink differs: each batch goes to the import statements' graph in memory
(graph/bulkgraph.py) instead of a transaction. The graph is then written as CSVs, imported with
`neo4j-admin database import full`, and the constraints and vector indexes are built once
(graph/bulk.py). The summary is the incremental import's, plus `path` and the timings.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from graph.bulk import load, refuse_unless_empty
from graph.bulkgraph import BulkGraph
from graph.driver import make_driver
from graph.ingest import ensure_ingest_schema
from ingest.batches import drain
from ingest.intentions import ImportBatch, ImportOptions, read_import
from ingest.release import Fetched, Release, fetch_summary
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings


def bulk_import_intentions(settings: Settings, paths: Path | list[Path], fmt: str, quarantine: Quarantine,
                           dimensions: int, batch_size: int | None = None,
                           options: ImportOptions | None = None) -> dict:
    """Files checked first, then the target (the local server, an empty database), then the import."""
    stream = read_import(settings, paths, fmt, quarantine, batch_size, options)
    refuse_unless_empty(settings)
    graph = BulkGraph()

    def sink(batch: ImportBatch) -> dict:
        return graph.write_import_batch(*batch.args())

    t0 = time.perf_counter()
    totals = drain(stream.batches, sink, quarantine, stream.lines, f"bulk {fmt}")
    timings = {"read_s": time.perf_counter() - t0}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bulk-", dir=settings.data_dir) as folder:
        t1 = time.perf_counter()
        files = graph.files(Path(folder))
        timings["csv_s"] = time.perf_counter() - t1
        report = load(settings, files, dimensions)
    with make_driver(settings) as driver:
        ensure_ingest_schema(driver, settings.neo4j_database)
    timings.update({k: report[k] for k in ("import_s", "start_s", "indexes_s")})
    return {**stream.summary(totals, quarantine), "path": "bulk", "counts": report["counts"],
            "timings": {k: round(v, 1) for k, v in timings.items()}}


def bulk_import_release(settings: Settings, release: Release, fetched: Fetched, quarantine: Quarantine,
                        dimensions: int, options: ImportOptions | None = None) -> dict:
    """The fetched files of a release, bulk-imported as one stream."""
    summary = bulk_import_intentions(settings, fetched.paths, release.format, quarantine, dimensions, options=options)
    return {**fetch_summary(release, fetched), **summary}
