"""`mind generate`: settings + options -> a backend -> the stages in order."""

from __future__ import annotations

from dataclasses import replace

from neo4j import Driver

from generation.backends import Backend, TransformersBackend
from generation.requests import GenerateRequest, make_backend, stage_options
from generation.stage import StageResult
from generation.stages import run_stage
from mindkb.settings import Settings


def run_generate(driver: Driver, settings: Settings, req: GenerateRequest,
                 backend: Backend | None = None) -> list[StageResult]:
    if req.engine == "ray":
        # Imported here: Ray takes 1-2 s to import and the in-process engine never needs it.
        from generation.ray_engine import run_generate_on_ray

        return run_generate_on_ray(driver, settings, req)
    own = backend is None
    backend = backend or make_backend(settings, req)
    if req.batch_size_auto and isinstance(backend, TransformersBackend) and backend.fast is not None:
        req = replace(req, batch_size=backend.batch_size)  # claims as large as a batch that fits
    options = stage_options(settings, req)
    try:
        results = []
        for name in req.stages:
            result = run_stage(driver, settings.neo4j_database, backend, options, name)
            if isinstance(backend, TransformersBackend):
                result.engine["generation"] = backend.take_stats()
            results.append(result)
        return results
    finally:
        if own:
            backend.close()
