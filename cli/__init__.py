"""The `mind` command. Each sub-module registers its own commands."""

from __future__ import annotations

import sys
from importlib.metadata import version as package_version

import click
import typer
import typer.core
from neo4j import exceptions as neo4j_errors

from cli import annotate, db, embed, evaluate, generate, ingest, serve
from mindkb.errors import BadOption, MindError
from mindkb.logs import setup_logging
from mindkb.output import configure_progress
from mindkb.settings import get_settings

# typer escapes "[required]" / "[default: ...]" for rich's HTML export whenever rich is installed, even
# with rich_markup_mode=None, so plain help showed a backslash before each bracket; plain help needs none.
typer.core.HAS_RICH = False

app = typer.Typer(
    name="mind",
    help="MIND-KB: distil why people buy products together into a Neo4j knowledge base, "
    "and serve it over GraphQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)




def _version(value: bool) -> None:
    if value:
        print(f"mind {package_version('mind-kb')}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """MIND-KB: distil why people buy products together into a Neo4j knowledge base, and serve it over GraphQL."""


for module in (db, ingest, generate, embed, serve, evaluate, annotate):
    module.register(app)


def first_sentence(text: str) -> str:
    """A command's one-line summary for group listings: its first sentence, never cut mid-way."""
    line = " ".join(text.split()).split(". ", 1)[0]
    for end in ("; ", ": "):
        head = line.split(end, 1)[0]
        if head.count("(") == head.count(")"):  # never cut inside a parenthesis
            line = head
    return line.rstrip(".")


def build_command() -> click.Command:
    """The click command tree, each command's listing summary set to its first sentence."""
    root = typer.main.get_command(app)

    def walk(command: click.Command) -> None:
        for sub in getattr(command, "commands", {}).values():
            if sub.help and not sub.short_help:
                sub.short_help = first_sentence(sub.help)
            walk(sub)

    walk(root)
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures become one stderr line and exit 1 or 2, never a traceback."""
    try:
        settings = get_settings()
    except MindError:
        level = "WARNING"  # a bad setting is reported by the command that reads it
    else:
        level = settings.log_level
        configure_progress(settings)
    setup_logging(level)
    try:
        rc = build_command().main(args=argv, prog_name="mind", standalone_mode=False)
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
