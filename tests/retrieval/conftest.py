"""retrieval/ over the API tests' embedded graph (real Neo4j, real MiniLM), plus two intentions of a
model with random weights (noise) that sit nearest to a camping query on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from neo4j import Driver

from embedding.embed import embed_all
from embedding.encoder import TextEncoder
from graph.aio import AsyncGraph, make_async_driver
from graph.driver import write
from graph.intentions import merge_intentions
from mindkb.ids import intention_id
from mindkb.settings import Settings
from tests.support.api_graph import build_graph

T = TypeVar("T")
NOISE = [
    ("B0KETTLE01", "B0MUG00001", "Open", "they are both used for camping outdoors overnight in the wild woods"),
    ("B0KETTLE01", "B0MUG00001", "Can", "camping outdoors overnight camping wilderness"),
]


@pytest.fixture(scope="module")
def encoder(settings: Settings) -> TextEncoder:
    return TextEncoder.load(settings.embedding_model, batch_size=64, backend=settings.embedding_backend,
                            cache_dir=settings.cache_dir)


@pytest.fixture(scope="module")
def kb(driver: Driver, settings: Settings, encoder: TextEncoder) -> dict[str, str]:
    """{text: intention id} of the embedded graph, noise included."""
    ids = build_graph(driver, settings.neo4j_database)
    rows = [{"id": intention_id(a, b, rel, "tiny", "v1", text), "asinA": a, "asinB": b, "relation": rel,
             "props": {"text": text, "status": "ACCEPTED", "model": "tiny", "promptVersion": "v1", "source": "mind",
                       "noise": True}} for a, b, rel, text in NOISE]
    write(driver, settings.neo4j_database, merge_intentions, rows)
    embed_all(driver, settings.neo4j_database, encoder)
    return {**ids, **{r["props"]["text"]: r["id"] for r in rows}}


@pytest.fixture(scope="module")
def run(kb: dict[str, str], settings: Settings) -> Iterator[Callable[[Callable[[AsyncGraph], Awaitable[T]]], T]]:
    """Runs `work(graph)` on one event loop and async driver for the module."""
    loop = asyncio.new_event_loop()
    driver = make_async_driver(settings)
    graph = AsyncGraph(driver, settings.neo4j_database)

    def call(work: Callable[[AsyncGraph], Awaitable[Any]]) -> Any:
        return loop.run_until_complete(work(graph))

    yield call
    loop.run_until_complete(driver.close())
    loop.close()
