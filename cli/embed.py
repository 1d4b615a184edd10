"""`mind embed`."""

from __future__ import annotations

import typer

from cli.common import (
    ActorsOption,
    EngineOption,
    GpusPerActorOption,
    JsonOption,
    RayAddressOption,
    database,
    engine_settings,
)
from embedding.embed import embed_all
from embedding.encoder import TextEncoder
from graph.population import chosen_buffer_mb
from mindkb.output import emit
from mindkb.settings import get_settings
from retrieval.calibrate import calibrate_if_due


def embed(
    batch_size: int = typer.Option(None, "--batch-size", min=1, max=8192,
                                   help="Texts per encode call and per write (default MIND_EMBED_BATCH_SIZE)."),
    model: str = typer.Option(None, "--model", help="sentence-transformers id or folder (default MIND_EMBEDDING_MODEL)."),
    engine: str | None = EngineOption,
    ray_address: str | None = RayAddressOption,
    actors: int | None = ActorsOption,
    gpus_per_actor: float | None = GpusPerActorOption,
    as_json: bool = JsonOption,
) -> None:
    """Embed every Intention and Product that lacks an embedding for the model (incremental)."""
    chosen_engine, settings = engine_settings(get_settings(), engine, ray_address, actors, gpus_per_actor)
    if model:
        settings = settings.model_copy(update={"embedding_model": model})
    with database(settings) as (settings, driver):
        if chosen_engine == "ray":
            # Imported here: Ray takes 1-2 s to import and the in-process engine never needs it.
            from embedding.ray_embed import embed_all_on_ray

            summary = embed_all_on_ray(driver, settings, batch_size or settings.embed_batch_size)
        else:
            encoder = TextEncoder.load(settings.embedding_model, settings.device,
                                       batch_size or settings.embed_batch_size,
                                       backend=settings.embedding_backend, cache_dir=settings.cache_dir)
            summary = embed_all(driver, settings.neo4j_database, encoder)
        # The search's candidate count, measured again when the index is new or changed size a lot.
        summary["calibration"] = calibrate_if_due(driver, settings.neo4j_database,
                                                  lambda n, d: chosen_buffer_mb(settings, n, d))
    emit(summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
