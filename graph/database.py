"""Opening the configured database: a verified driver with the schema applied once per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j import Driver

from graph.driver import connect
from graph.schema import apply_schema
from mindkb.settings import Settings

_schema_ready: set[str] = set()


@contextmanager
def open_database(settings: Settings, dimensions: int | None = None) -> Iterator[Driver]:
    """A verified driver; with `dimensions` (the embedding model's), the schema is applied first.

    The schema is applied once per process and database, so commands that open the database
    several times pay for it once.
    """
    with connect(settings) as driver:
        key = f"{settings.neo4j_uri}/{settings.neo4j_database}"
        if dimensions is not None and key not in _schema_ready:
            apply_schema(driver, settings.neo4j_database, dimensions)
            _schema_ready.add(key)
        yield driver
