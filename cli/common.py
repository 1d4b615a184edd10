"""Pieces every command shares: the --json option and a connected, schema-ready driver."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from neo4j import Driver

from embedding.models import embedding_dimensions
from graph.database import open_database
from mindkb.errors import BadInput
from mindkb.output import emit
from mindkb.settings import Settings, get_settings

JsonOption = typer.Option(False, "--json", help="Print one JSON summary object as the last line of stdout.")


@contextmanager
def database(settings: Settings | None = None, schema: bool = True) -> Iterator[tuple[Settings, Driver]]:
    """A verified driver; the schema is applied on first use in this process."""
    settings = settings or get_settings()
    dimensions = embedding_dimensions(settings.embedding_model) if schema else None
    with open_database(settings, dimensions) as driver:
        yield settings, driver


def check_plot(plot: Path | None) -> None:
    """Refuse a --plot that is not a PNG before any work is done."""
    if plot is not None and plot.suffix.lower() != ".png":
        raise BadInput("--plot must name a .png file")


def emit_report(result: dict, table: Callable[[dict], str], draw: Callable[[dict, Path], None],
                plot: Path | None, as_json: bool) -> None:
    """A report command's output: the plot if asked, then the text table or the JSON summary."""
    if plot is not None:
        try:
            draw(result, plot)
        except OSError as exc:
            raise BadInput(f"cannot write --plot {plot}: {exc.strerror or exc}") from None
        result["plot"] = str(plot)
    if as_json:
        emit(result, as_json)
        return
    sys.stdout.write(table(result) + "\n")
    if plot is not None:
        sys.stdout.write(f"plot: {plot}\n")
