"""`mind serve`."""

from __future__ import annotations

import typer
import uvicorn

from api.app import create_app
from api.keys import key_id
from cli.common import JsonOption, database
from mindkb.output import emit, note
from mindkb.settings import get_settings


def serve(
    host: str = typer.Option(None, "--host", help="Bind address (default MIND_API_HOST)."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port (default MIND_API_PORT)."),
    workers: int = typer.Option(None, "--workers", min=1, max=64,
                                help="Server processes, each with its own model and driver; about one per core "
                                     "under concurrent load (default MIND_API_WORKERS)."),
    as_json: bool = JsonOption,
) -> None:
    """Serve GraphQL at /graphql (GraphiQL in a browser) and GET /healthz until interrupted."""
    settings = get_settings()
    host, port = host or settings.api_host, port or settings.api_port
    workers = workers or settings.api_workers
    with database(settings):  # fail fast, with one line, when Neo4j is down; applies the schema
        pass
    note(f"GraphQL at http://{host}:{port}/graphql (GraphiQL in a browser), health at /healthz")
    note(f"writes: enabled with key id {key_id(settings.api_key.get_secret_value())}" if settings.api_key
         else "writes: disabled (read-only; set MIND_API_KEY to enable them)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    else:  # each worker process builds its app from the same settings (environment and .env)
        uvicorn.run("api.app:create_app", factory=True, workers=workers, host=host, port=port, log_level="warning")
    emit({"served": f"http://{host}:{port}/graphql", "workers": workers, "status": "stopped"}, as_json)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
