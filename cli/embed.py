"""`mind embed`."""

from __future__ import annotations

import typer

from cli.common import JsonOption, database
from embedding.embed import embed_all
from embedding.encoder import TextEncoder
from mindkb.output import emit
from mindkb.settings import get_settings


def embed(
    batch_size: int = typer.Option(None, "--batch-size", min=1, max=8192,
                                   help="Texts per encode call and per write (default MIND_EMBED_BATCH_SIZE)."),
    model: str = typer.Option(None, "--model", help="sentence-transformers id or folder (default MIND_EMBEDDING_MODEL)."),
    as_json: bool = JsonOption,
) -> None:
    """Embed every Intention and Product that lacks an embedding for the model (incremental)."""
    settings = get_settings()
    if model:
        settings = settings.model_copy(update={"embedding_model": model})
    with database(settings) as (settings, driver):
        encoder = TextEncoder.load(settings.embedding_model, settings.device,
                                   batch_size or settings.embed_batch_size)
        summary = embed_all(driver, settings.neo4j_database, encoder)
    emit(summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
