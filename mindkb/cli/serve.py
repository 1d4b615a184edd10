"""`mind embed` and `mind serve`."""

from __future__ import annotations

import typer

from mindkb.cli.stub import stub


def register(app: typer.Typer) -> None:
    stub(app, "embed", "embed", "Embed every Intention and Product that lacks an embedding")
    stub(app, "serve", "serve", "Serve the GraphQL API")
