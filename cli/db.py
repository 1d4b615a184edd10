"""`mind db start|stop|status|calibrate`, `mind init` and `mind cypher`."""

from __future__ import annotations

import json

import typer

from cli.common import JsonOption, database
from embedding.models import embedding_dimensions
from graph.cypher import run_user_statement
from graph.localdb import LocalNeo4j
from graph.population import chosen_buffer_mb
from graph.schema import apply_schema
from mindkb.errors import BadInput
from mindkb.output import emit, note
from mindkb.settings import get_settings
from retrieval import calibrate as calibration

db_app = typer.Typer(help="Run the local Neo4j server (fetched from Maven Central on first start).",
                     no_args_is_help=True)


@db_app.command("start")
def db_start(as_json: bool = JsonOption) -> None:
    """Start the local Neo4j (or reuse the running one) and wait until Bolt answers."""
    local = LocalNeo4j(get_settings())
    if not local.status().pid:
        note(f"starting Neo4j {local.settings.neo4j_version} in {local.home} ...")
    status = local.start()
    summary = status.as_dict()
    summary["status"] = "running"
    emit(summary, as_json)


@db_app.command("stop")
def db_stop(as_json: bool = JsonOption) -> None:
    """Stop the local Neo4j that `mind db start` started (and nothing else)."""
    status = LocalNeo4j(get_settings()).stop()
    summary = status.as_dict()
    summary["status"] = "stopped" if status.pid else "not running"
    emit(summary, as_json)


@db_app.command("status")
def db_status(as_json: bool = JsonOption) -> None:
    """Say whether the local Neo4j runs, where, and which version (never the password)."""
    status = LocalNeo4j(get_settings()).status()
    summary = status.as_dict()
    summary["status"] = "running" if status.running else "not running"
    emit(summary, as_json)


@db_app.command("calibrate")
def db_calibrate(
    sample: int = typer.Option(calibration.SAMPLE, "--sample", min=1, max=1000,
                               help="Stored intention vectors turned into queries."),
    seed: int = typer.Option(calibration.SEED, "--seed", help="Seed of the sample and of the queries' noise."),
    as_json: bool = JsonOption,
) -> None:
    """Measure the intention index's recall@10 per candidate count and record the count searches use."""
    with database() as (settings, driver):
        result = calibration.calibrate(driver, settings.neo4j_database, sample=sample, seed=seed,
                                       population=lambda n, d: chosen_buffer_mb(settings, n, d))
    emit(result, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.command("init")(init)
    app.command("cypher")(cypher)


def init(as_json: bool = JsonOption) -> None:
    """Apply constraints, indexes, vector indexes and the 20 Relation nodes (idempotent)."""
    with database(schema=False) as (settings, driver):
        summary = apply_schema(driver, settings.neo4j_database, embedding_dimensions(settings.embedding_model, settings.cache_dir))
    emit(summary, as_json)


def cypher(
    query: str = typer.Argument(..., help="One Cypher statement."),
    param: list[str] = typer.Option([], "--param", "-p", help="A parameter as NAME=JSON (repeatable)."),
    as_json: bool = JsonOption,
) -> None:
    """Run one Cypher statement and print its rows as JSON (one object per row, or all with --json)."""
    params = {}
    for item in param:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--param needs NAME=JSON, got {item!r}")
        try:
            params[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[name.strip()] = raw
    with database(schema=False) as (settings, driver):
        result = run_user_statement(driver, settings.neo4j_database, query, params)
    if as_json:
        emit(result, True)
    else:
        for row in result["rows"]:
            print(json.dumps(row, ensure_ascii=False))
