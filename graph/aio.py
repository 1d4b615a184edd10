"""The async driver the API uses, with a round-trip counter (tests assert DataLoader batching)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction

from mindkb.settings import Settings

T = TypeVar("T")


def make_async_driver(settings: Settings) -> AsyncDriver:
    """Lazy: nothing connects until the first query, so the app starts even with the database down."""
    return AsyncGraphDatabase.driver(
        settings.neo4j_uri,
        auth=(settings.neo4j_user, settings.password()),
        connection_timeout=settings.neo4j_connect_timeout,
        max_transaction_retry_time=10.0,
        notifications_min_severity="OFF",
        user_agent="mind-kb-api",
    )


class AsyncGraph:
    """One managed transaction per call; `round_trips` counts them."""

    def __init__(self, driver: AsyncDriver, database: str):
        self.driver = driver
        self.database = database
        self.round_trips = 0

    async def read(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        self.round_trips += 1
        async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as s:
            return await s.execute_read(work, *args, **kwargs)

    async def write(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        self.round_trips += 1
        async with self.driver.session(database=self.database) as s:
            return await s.execute_write(work, *args, **kwargs)

    async def ping(self) -> None:
        await self.read(_ping)


async def _ping(tx: AsyncManagedTransaction) -> None:
    await (await tx.run("RETURN 1 AS ok")).consume()
