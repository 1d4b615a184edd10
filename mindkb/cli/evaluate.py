"""`mind stats`, `mind eval intentionqa` and `mind export sft`."""

from __future__ import annotations

import typer

from mindkb.cli.stub import stub

eval_app = typer.Typer(help="Evaluate on benchmarks.", no_args_is_help=True)
export_app = typer.Typer(help="Export the knowledge base.", no_args_is_help=True)
stub(eval_app, "intentionqa", "eval intentionqa", "Score IntentionQA task 1 or 2")
stub(export_app, "sft", "export sft", "Accepted intentions as instruction-tuning records")


def register(app: typer.Typer) -> None:
    stub(app, "stats", "stats", "Counts per relation and status, preserve rates")
    app.add_typer(eval_app, name="eval")
    app.add_typer(export_app, name="export")
