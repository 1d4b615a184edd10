"""Placeholders for contract commands whose implementation has not landed yet (exit 2)."""

from __future__ import annotations

import typer

from mindkb.errors import NotYetAvailable

STUB_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def stub(target: typer.Typer, name: str, full_name: str, help_text: str) -> None:
    def _command(ctx: typer.Context) -> None:
        raise NotYetAvailable(full_name)

    _command.__doc__ = f"{help_text} (not yet available)"
    target.command(name, context_settings=STUB_SETTINGS)(_command)
