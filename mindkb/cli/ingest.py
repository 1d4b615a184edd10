"""`mind ingest catalog|pairs` and `mind import intentions`."""

from __future__ import annotations

import typer

from mindkb.cli.stub import stub

ingest_app = typer.Typer(help="Load product catalogues and co-buy pairs into the graph.", no_args_is_help=True)
import_app = typer.Typer(help="Import existing intention knowledge bases.", no_args_is_help=True)

stub(ingest_app, "catalog", "ingest catalog", "Amazon Review Data 2018 metadata (JSON lines, .gz)")
stub(ingest_app, "pairs", "ingest pairs", "Co-buy pairs as CSV or JSON lines")
stub(import_app, "intentions", "import intentions", "Existing intentions (mind-csv, intentionqa, jsonl)")


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(import_app, name="import")
