"""The `mind` command. Each sub-module registers its own commands."""

from __future__ import annotations

import sys

import click
import typer
from neo4j import exceptions as neo4j_errors

from cli import annotate, db, embed, evaluate, generate, ingest, serve
from mindkb.errors import BadOption, MindError
from mindkb.logs import setup_logging
from mindkb.settings import get_settings

app = typer.Typer(
    name="mind",
    help="MIND-KB: distil why people buy products together into a Neo4j knowledge base, "
    "and serve it over GraphQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


for module in (db, ingest, generate, embed, serve, evaluate, annotate):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures become one stderr line and exit 1 or 2, never a traceback."""
    try:
        level = get_settings().log_level
    except MindError:
        level = "WARNING"  # a bad setting is reported by the command that reads it
    setup_logging(level)
    try:
        rc = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        rc = exc.exit_code
    except click.exceptions.Abort:
        print("mind: aborted", file=sys.stderr)
        rc = 130
    except click.ClickException as exc:
        print(f"mind: {exc.format_message()} (see `mind --help`)", file=sys.stderr)
        rc = exc.exit_code
    except MindError as exc:
        print(f"mind: {exc.as_flags() if isinstance(exc, BadOption) else exc}", file=sys.stderr)
        rc = exc.exit_code
    except neo4j_errors.AuthError:
        print("mind: Neo4j rejected the credentials (check NEO4J_USER / NEO4J_PASSWORD)", file=sys.stderr)
        rc = 1
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
        print(f"mind: lost the connection to Neo4j: {str(exc).splitlines()[0] if str(exc) else exc!r}",
              file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        print("mind: interrupted; committed work is kept, re-run to continue", file=sys.stderr)
        rc = 130
    sys.exit(rc if isinstance(rc, int) else 0)
