"""Pieces every command shares: the --json option and a connected, schema-ready driver."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import typer
from neo4j import Driver

from embedding.models import embedding_dimensions
from graph.database import open_database
from mindkb.errors import BadInput
from mindkb.output import emit
from mindkb.settings import ENGINES, Settings, get_settings


def choice(*values: str) -> click.Choice:
    """A closed option: click checks the value and `--help` lists the choices."""
    return click.Choice(values)


JsonOption = typer.Option(False, "--json", help="Print one JSON summary object as the last line of stdout.")

# --engine ray: the work as a Ray Data pipeline over a pool of model actors (docs/scale-out.md).
EngineOption = typer.Option(None, "--engine", click_type=click.Choice(ENGINES),
                            help="in-process (default; MIND_ENGINE), or ray: a Ray Data pipeline.")
RayAddressOption = typer.Option(None, "--ray-address",
                                help="Ray to join, e.g. auto or ray://head:10001 (MIND_RAY_ADDRESS; default: "
                                     "RAY_ADDRESS, else a local Ray for this run).")
ActorsOption = typer.Option(None, "--actors", help="Model actors with --engine ray (MIND_RAY_ACTORS; default: "
                                                   "one per GPU, 1 without GPUs).")
GpusPerActorOption = typer.Option(None, "--gpus-per-actor",
                                  help="GPUs per actor with --engine ray (MIND_RAY_GPUS_PER_ACTOR; default: 1 when "
                                       "the cluster has GPUs, else 0).")


def engine_settings(settings: Settings, engine: str | None, ray_address: str | None, actors: int | None,
                    gpus_per_actor: float | None) -> tuple[str, Settings]:
    """The chosen engine, and the settings with the Ray flags applied."""
    chosen = engine or settings.engine
    if chosen not in ENGINES:
        raise BadInput(f"--engine must be {' or '.join(ENGINES)}")
    flags = {"ray_address": ("--ray-address", ray_address), "ray_actors": ("--actors", actors),
             "ray_gpus_per_actor": ("--gpus-per-actor", gpus_per_actor)}
    settings = settings.with_options(flags)  # bounds checked against the settings' fields
    given = [option for option, value in flags.values() if value is not None]
    if given and chosen != "ray":
        raise BadInput(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only with --engine ray")
    return chosen, settings


@contextmanager
def database(settings: Settings | None = None, schema: bool = True) -> Iterator[tuple[Settings, Driver]]:
    """A verified driver; the schema is applied on first use in this process."""
    settings = settings or get_settings()
    dimensions = embedding_dimensions(settings.embedding_model, settings.cache_dir) if schema else None
    with open_database(settings, dimensions) as driver:
        yield settings, driver


def check_plot(plot: Path | None) -> None:
    """Refuse a --plot that is not a PNG before any work is done."""
    if plot is not None and plot.suffix.lower() != ".png":
        raise BadInput("--plot must name a .png file")


def emit_report(result: dict, table: Callable[[dict], str], draw: Callable[[dict, Path], None],
                plot: Path | None, as_json: bool) -> None:
    """A report command's output: the plot if asked, then the text table or the JSON summary."""
    if plot is not None:
        try:
            draw(result, plot)
        except OSError as exc:
            raise BadInput(f"cannot write --plot {plot}: {exc.strerror or exc}") from None
        result["plot"] = str(plot)
    if as_json:
        emit(result, as_json)
        return
    sys.stdout.write(table(result) + "\n")
    if plot is not None:
        sys.stdout.write(f"plot: {plot}\n")
