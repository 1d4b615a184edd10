"""Per-request context: the graph (with its round-trip counter), loaders, the embedder, settings."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.fastapi import BaseContext

from api.loaders import Loaders
from api.service import Embedder
from graph.aio import AsyncGraph
from mindkb.settings import Settings


@dataclass
class Context(BaseContext):
    graph: AsyncGraph
    loaders: Loaders
    embedder: Embedder
    settings: Settings

    def __post_init__(self) -> None:
        super().__init__()
