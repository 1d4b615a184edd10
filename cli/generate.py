"""`mind generate` and `mind model tiny`."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import (
    ActorsOption,
    EngineOption,
    GpusPerActorOption,
    JsonOption,
    RayAddressOption,
    choice,
    database,
    engine_settings,
)
from generation.backends import COMPILE_CHOICES
from generation.requests import GenerateRequest
from generation.runner import run_generate
from generation.stages import STAGES
from generation.tiny import write_tiny_model
from mindkb.errors import BadInput
from mindkb.output import emit, note
from mindkb.relations import parse_relations
from mindkb.settings import TokenBudget, check_option, get_settings

model_app = typer.Typer(help="Model utilities.", no_args_is_help=True)

STAGE_CHOICES = (*STAGES, "all")
STAGE_HELP = "Which stage to run (" + "; ".join(f"{name}: one unit per {stage.spec.unit}"
                                                 for name, stage in STAGES.items()) + "; all: each in turn)."
MAX_LIMIT = 100_000_000  # --limit has no setting: its bound lives here


@model_app.command("tiny")
def tiny(
    directory: Path = typer.Argument(..., help="Folder to write the checkpoint to."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights."),
    as_json: bool = JsonOption,
) -> None:
    """Write a tiny randomly initialised LLaVA checkpoint (its output is NOISE; for tests and smoke runs)."""
    note("writing a tiny RANDOM LLaVA: its output is noise, for smoke runs and tests only")
    emit(write_tiny_model(directory, seed=seed), as_json)


def generate(
    stage: str = typer.Option("all", "--stage", click_type=choice(*STAGE_CHOICES), help=STAGE_HELP),
    relations: str | None = typer.Option(None, "--relations", help="Comma-separated relation names (default: all 20)."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many work units per stage."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Requests per model call / claim "
                                             "(unset, on CUDA with the fast path: the largest that fits the memory)."),
    model: str | None = typer.Option(None, "--model", help="Hugging Face id or local folder (MIND_MODEL)."),
    backend: str | None = typer.Option(None, "--backend", click_type=choice("transformers", "openai", "vllm"),
                                           help="Where the model runs (vllm: with --engine ray; default MIND_BACKEND)."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1"),
    api_key: str | None = typer.Option(None, "--api-key", help="Bearer key for --base-url (MIND_OPENAI_API_KEY)."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Requests in flight (openai backend)."),
    device: str | None = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N | mps"),
    dtype: str | None = typer.Option(None, "--dtype", click_type=choice("auto", "bf16", "fp16", "fp32"),
                                         help="Weights' precision (default MIND_DTYPE)."),
    quantize: str | None = typer.Option(None, "--quantize", click_type=choice("4bit", "8bit"),
                                            help="Load the weights quantised (needs bitsandbytes)."),
    compile_mode: str | None = typer.Option(
        None, "--compile", click_type=choice(*COMPILE_CHOICES),
        help="The fast path (static KV cache, shared prefixes, compiled decode on CUDA); auto: on for CUDA "
             "with batches >= 8 (MIND_GENERATION_COMPILE)."),
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", help="Override every stage's default."),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed, stored with each result."),
    temperature: float | None = typer.Option(None, "--temperature", help="Default 0.2, as the paper."),
    allow_text_only: bool = typer.Option(False, "--allow-text-only", help="Use products without a usable image too."),
    overwrite_features: bool = typer.Option(False, "--overwrite-features",
                                            help="Regenerate features that were imported (kept by default)."),
    lease_seconds: float | None = typer.Option(None, "--lease-seconds", help="How long a claimed unit stays reserved."),
    engine: str | None = EngineOption,
    ray_address: str | None = RayAddressOption,
    actors: int | None = ActorsOption,
    gpus_per_actor: float | None = GpusPerActorOption,
    as_json: bool = JsonOption,
) -> None:
    """Run the LLaVA stages in order (features, intentions, filter); only missing work is done."""
    if stage not in STAGE_CHOICES:
        raise BadInput(f"--stage must be one of {', '.join(STAGE_CHOICES)}")
    if limit is not None and not 0 <= limit <= MAX_LIMIT:
        raise BadInput(f"--limit must be between 0 and {MAX_LIMIT}")
    if max_new_tokens is not None:
        check_option("--max-new-tokens", max_new_tokens, TokenBudget)
    if quantize not in (None, "4bit", "8bit"):
        raise BadInput("--quantize must be 4bit or 8bit")
    chosen_engine, settings = engine_settings(get_settings(), engine, ray_address, actors, gpus_per_actor)
    # Each value is checked against its setting's bounds (mindkb/settings.py), named by its option.
    settings = settings.with_options({
        "generation_batch_size": ("--batch-size", batch_size), "generation_concurrency": ("--concurrency", concurrency),
        "generation_temperature": ("--temperature", temperature), "generation_seed": ("--seed", seed),
        "generation_lease_seconds": ("--lease-seconds", lease_seconds),
    })
    chosen_backend = backend or settings.generation_backend
    if chosen_backend not in ("transformers", "openai", "vllm"):
        raise BadInput("--backend must be transformers, openai or vllm")
    if chosen_backend == "vllm" and chosen_engine != "ray":
        raise BadInput("--backend vllm runs in Ray actors: add --engine ray")
    request = GenerateRequest(
        stages=list(STAGES) if stage == "all" else [stage],
        relations=parse_relations(relations),
        limit=limit,
        batch_size=settings.generation_batch_size,
        batch_size_auto="generation_batch_size" not in settings.model_fields_set,
        compile=compile_mode or settings.generation_compile,
        model=model or settings.model,
        backend=chosen_backend,
        base_url=base_url or settings.openai_base_url,
        api_key=api_key or (settings.openai_api_key.get_secret_value() if settings.openai_api_key else None),
        concurrency=settings.generation_concurrency,
        device=device or settings.device,
        dtype=dtype or settings.dtype,
        quantize=quantize,
        max_new_tokens=max_new_tokens,
        seed=settings.generation_seed,
        temperature=settings.generation_temperature,
        text_only=allow_text_only,
        lease_seconds=settings.generation_lease_seconds,
        overwrite_features=overwrite_features,
        engine=chosen_engine,
    )
    with database(settings) as (settings, driver):
        results = run_generate(driver, settings, request)
    if stage == "all":
        emit({"stages": [r.summary() for r in results]}, as_json)
    else:
        emit(results[0].summary(), as_json)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.add_typer(model_app, name="model")
