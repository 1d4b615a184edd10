"""`mind embed` and `mind serve`."""

from __future__ import annotations

import typer

from mindkb.cli.common import JsonOption, database
from mindkb.output import emit, note


def embed(
    batch_size: int = typer.Option(None, "--batch-size", min=1, max=8192,
                                   help="Texts per encode call and per write (default MIND_EMBED_BATCH_SIZE)."),
    model: str = typer.Option(None, "--model", help="sentence-transformers id or folder (default MIND_EMBEDDING_MODEL)."),
    as_json: bool = JsonOption,
) -> None:
    """Embed every Intention and Product that lacks an embedding for the model (incremental)."""
    from generation.embed import embed_all
    from mindkb.embedding import load_sentence_model
    from mindkb.settings import get_settings

    settings = get_settings()
    if model:
        settings = settings.model_copy(update={"embedding_model": model})
    with database(settings) as (settings, driver):
        sentence_model = load_sentence_model(settings.embedding_model, settings.device)
        summary = embed_all(driver, settings.neo4j_database, sentence_model, settings.embedding_model,
                            batch_size or settings.embed_batch_size)
    emit(summary, as_json)


def serve(
    host: str = typer.Option(None, "--host", help="Bind address (default MIND_API_HOST)."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port (default MIND_API_PORT)."),
    as_json: bool = JsonOption,
) -> None:
    """Serve GraphQL at /graphql (GraphiQL in a browser) and GET /healthz until interrupted."""
    import uvicorn

    from api.app import create_app
    from mindkb.settings import get_settings

    settings = get_settings()
    host, port = host or settings.api_host, port or settings.api_port
    with database(settings):  # fail fast, with one line, when Neo4j is down; applies the schema
        pass
    note(f"GraphQL at http://{host}:{port}/graphql (GraphiQL in a browser), health at /healthz")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    emit({"served": f"http://{host}:{port}/graphql", "status": "stopped"}, as_json)


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
    app.command("serve")(serve)
