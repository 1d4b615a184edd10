"""`mind generate` and `mind model tiny`."""

from __future__ import annotations

import typer

from mindkb.cli.stub import stub

model_app = typer.Typer(help="Model utilities.", no_args_is_help=True)
stub(model_app, "tiny", "model tiny", "Write a tiny randomly initialised LLaVA checkpoint")


def register(app: typer.Typer) -> None:
    stub(app, "generate", "generate", "Run the three LLaVA stages: features, intentions, filter")
    app.add_typer(model_app, name="model")
