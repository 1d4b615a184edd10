"""Pieces every command shares: the --json option and a connected, schema-ready driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from neo4j import Driver

from mindkb.settings import Settings, get_settings

JsonOption = typer.Option(False, "--json", help="Print one JSON summary object as the last line of stdout.")

_schema_ready: set[str] = set()


@contextmanager
def database(settings: Settings | None = None, schema: bool = True) -> Iterator[tuple[Settings, Driver]]:
    """A verified driver; the schema is applied on first use in this process."""
    from graph.driver import connect
    from graph.schema import apply_schema
    from mindkb.embedding import embedding_dimensions

    settings = settings or get_settings()
    with connect(settings) as driver:
        key = f"{settings.neo4j_uri}/{settings.neo4j_database}"
        if schema and key not in _schema_ready:
            apply_schema(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model))
            _schema_ready.add(key)
        yield settings, driver
