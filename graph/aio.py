"""The async driver the API uses, with a round-trip counter (tests assert DataLoader batching) and the
time the round trips took (the API's Server-Timing header)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase

from graph.driver import database_unavailable, driver_options, server_uri
from mindkb.settings import Settings

T = TypeVar("T")


def make_async_driver(settings: Settings) -> AsyncDriver:
    """Lazy: nothing connects until the first query, so the app starts even with the database down.

    A request waits for an unreachable database about a second (one connect timeout, one retry),
    not the workers' patient retries: its client can try again, and a queue of waiting requests helps nobody.
    """
    return AsyncGraphDatabase.driver(server_uri(settings), **driver_options(
        settings,
        connection_timeout=settings.api_db_connect_timeout,
        max_transaction_retry_time=settings.api_db_retry_seconds,
        user_agent="mind-kb-api",
    ))


class GraphUnavailable(Exception):
    """The database is down or did not answer in time; safe to show to a client."""


class AsyncGraph:
    """One managed transaction per call, bounded by `timeout` seconds; `round_trips` counts them and
    `seconds` adds up their wall time (concurrent calls overlap, so it can exceed the request's)."""

    def __init__(self, driver: AsyncDriver, database: str, timeout: float | None = None):
        self.driver = driver
        self.database = database
        self.timeout = timeout
        self.round_trips = 0
        self.seconds = 0.0

    async def _bounded(self, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await asyncio.wait_for(call, self.timeout)
        except TimeoutError:
            raise GraphUnavailable("the database did not answer in time; try again shortly") from None
        except Exception as exc:
            if database_unavailable(exc):
                raise GraphUnavailable("the database is unavailable; try again shortly") from None
            raise
        finally:
            self.seconds += time.perf_counter() - started

    async def read(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        self.round_trips += 1
        return await self._bounded(self._read(work, *args, **kwargs))

    async def write(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        self.round_trips += 1
        return await self._bounded(self._write(work, *args, **kwargs))

    async def _read(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as s:
            return await s.execute_read(work, *args, **kwargs)

    async def _write(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async with self.driver.session(database=self.database) as s:
            return await s.execute_write(work, *args, **kwargs)

    async def ping(self) -> None:
        """One attempt, no retry: a health check wants to know whether the database answers now."""
        self.round_trips += 1
        await self._bounded(self._ping())

    async def _ping(self) -> None:
        async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as s:
            await (await s.run("RETURN 1 AS ok")).consume()
