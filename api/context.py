"""Per-request context: the graph (with its round-trip counter), loaders, the text encoder, settings, the key check."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from strawberry.fastapi import BaseContext

from api.fetch import SearchFetch
from api.keys import KeyCheck
from api.loaders import Loaders
from embedding.encoder import TextEncoder
from graph.aio import AsyncGraph
from mindkb.settings import Settings


@dataclass
class Context(BaseContext):
    graph: AsyncGraph
    loaders: Loaders
    encoder: TextEncoder
    settings: Settings
    keys: KeyCheck
    fetch: SearchFetch
    encode_seconds: float = field(default=0.0)  # the request's query encodes (Server-Timing)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def client(self) -> str:
        """The client's address (the key check's bucket and the audit line name it)."""
        client = self.request.client if self.request is not None else None
        return client.host if client is not None else "-"

    async def embed(self, text: str) -> list[float]:
        """The query's vector; encoding runs in a worker thread so the event loop stays free."""
        started = time.perf_counter()
        try:
            return await asyncio.to_thread(self.encoder.encode_one, text)
        finally:
            self.encode_seconds += time.perf_counter() - started
