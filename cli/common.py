"""Pieces every command shares: the --json option and a connected, schema-ready driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from neo4j import Driver

from embedding.models import embedding_dimensions
from graph.database import open_database
from mindkb.settings import Settings, get_settings

JsonOption = typer.Option(False, "--json", help="Print one JSON summary object as the last line of stdout.")


@contextmanager
def database(settings: Settings | None = None, schema: bool = True) -> Iterator[tuple[Settings, Driver]]:
    """A verified driver; the schema is applied on first use in this process."""
    settings = settings or get_settings()
    dimensions = embedding_dimensions(settings.embedding_model) if schema else None
    with open_database(settings, dimensions) as driver:
        yield settings, driver
