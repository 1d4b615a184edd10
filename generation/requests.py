"""What `mind generate` asks for, and what both engines derive from it: decodings, the backend, stage options.

The in-process runner and the Ray engine both build on these, so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from generation.backends import Backend, Decoding, OpenAIBackend, TransformersBackend
from generation.fastpath import FastOptions
from generation.stage import StageOptions
from generation.stages import STAGES
from mindkb.errors import BadInput, BadOption
from mindkb.settings import Settings


@dataclass
class GenerateRequest:
    stages: list[str]
    relations: list[str]
    model: str
    backend: str = "transformers"
    limit: int | None = None
    batch_size: int = 8
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int = 16
    device: str = "auto"
    dtype: str = "auto"
    quantize: str | None = None
    max_new_tokens: int | None = None
    seed: int = 0
    temperature: float = 0.2
    text_only: bool = False
    lease_seconds: float = 900.0
    overwrite_features: bool = False
    engine: str = "in-process"  # or "ray": the stages as Ray Data pipelines (generation/ray_engine.py)
    compile: str = "auto"  # the fast path: auto | on | off (generation/fastpath.py)
    batch_size_auto: bool = False  # no batch size was given: in-process on CUDA, size it to the memory


def token_budgets(settings: Settings) -> dict[str, int]:
    """Each stage's output budget: its spec's, or its MIND_MAX_NEW_TOKENS_<NAME> setting."""
    unknown = sorted(set(settings.max_new_tokens) - set(STAGES))
    if unknown:
        raise BadInput(f"invalid setting MIND_MAX_NEW_TOKENS_{unknown[0].upper()}: no such stage "
                       f"(stages: {', '.join(STAGES)})")
    return {name: settings.max_new_tokens.get(name, stage.spec.max_new_tokens) for name, stage in STAGES.items()}


def decodings(settings: Settings, req: GenerateRequest) -> dict[str, Decoding]:
    """Per-stage decodings: the stage's budget (or --max-new-tokens for all), the run's temperature and seed."""
    return {stage: Decoding(max_new_tokens=req.max_new_tokens or n, temperature=req.temperature, seed=req.seed)
            for stage, n in token_budgets(settings).items()}


def make_backend(settings: Settings, req: GenerateRequest) -> Backend:
    if req.backend == "vllm":
        raise BadOption("{backend} vllm runs only in Ray actors: add {engine} ray")
    if req.backend == "openai":
        return OpenAIBackend(req.base_url or "", req.model, api_key=req.api_key, concurrency=req.concurrency,
                             timeout=settings.generation_timeout)
    return TransformersBackend.load(req.model, device=req.device, dtype=req.dtype, quantize=req.quantize,
                                    batch_size=req.batch_size, compile=req.compile,
                                    fast_options=fast_options(settings, req))


def fast_options(settings: Settings, req: GenerateRequest) -> FastOptions:
    return FastOptions(length_bucket=settings.generation_length_bucket,
                       context_tokens=settings.generation_context_tokens,
                       prefill_chunk_tokens=settings.generation_prefill_chunk_tokens,
                       memory_margin_gib=settings.generation_memory_margin_gib,
                       # under Ray the driver sizes the claims before any actor sees a GPU
                       auto_batch=req.batch_size_auto and req.engine != "ray")


def stage_options(settings: Settings, req: GenerateRequest) -> StageOptions:
    return StageOptions(relations=req.relations, limit=req.limit, batch_size=req.batch_size,
                        text_only=req.text_only, lease_seconds=req.lease_seconds,
                        decoding=decodings(settings, req), db_wait_seconds=settings.db_wait_seconds,
                        db_uri=settings.neo4j_uri or "", overwrite_features=req.overwrite_features)
