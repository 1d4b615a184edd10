"""`mind generate --engine ray`: each stage as a Ray Data pipeline over partitions of its work.

    driver: Stage.count, then Stage.spans: the missing work as key ranges of about
            MIND_RAY_PARTITION_SIZE units, read from Neo4j in key order
      -> ray.data.from_items: one row per partition
      -> map_batches(StageActor): a fixed pool of actors, each holding the backend (loaded once,
         `num_gpus` per actor) and a Neo4j driver, runs Stage.loop over one partition at a time:
         claim a batch under a lease, generate, commit through graph/generation.py's writers
      -> the driver adds up the actors' counts (progress bar, the --json summary).

The actors run the in-process engine's own loop, statements and leases, so its guarantees hold:
- ids are deterministic and a unit gets one result: a write happens only under its lease, in the
  transaction that releases it;
- the actors claim with the driver's lease owner (host:pid:nonce). Partitions do not overlap, so two
  actors never hold one unit, and a partition retried after a lost actor takes back its own leases;
- a killed driver takes its job's actors with it (Ray ends a job whose driver is gone, a few seconds
  later; meanwhile the actors on the driver's host claim nothing more once its process is gone, and
  commit only the batch in hand); the next run on its host frees its leases at once, as for a
  killed in-process worker (elsewhere they expire);
- plain `mind generate` workers have owners of their own, so they and a Ray job share a database as
  two workers do;
- a lease is taken just before its batch is generated, so it does not age while work queues up.

`--backend vllm` runs vLLM's engine through ray.data.llm instead: partitions -> ClaimRows (claims
and prompts) -> the vLLM processor -> the driver commits each claimed batch once all its answers
are in. Its leases are taken when a partition is read, before generation (see docs/scale-out.md).
A pair's images reach vLLM as the model's family takes them (generation/families.py): stacked into
one image, or as two images with the prompt naming the first and the second, as in process.

Images travel as paths: the actors read and stack them, so on several nodes the image folder must
be at the same path on every node, and NEO4J_URI must reach the database from every node.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
from neo4j import Driver
from PIL import Image
from ray.data import ActorPoolStrategy, Dataset

from engine import raycluster
from generation.backends import Backend, Decoding, Request, image_data_url
from generation.families import SEPARATE, STACKED
from generation.images import ImageError, load_image
from generation.requests import GenerateRequest, decodings, make_backend, stage_options
from generation.stage import Job, Span, Stage, StageOptions, StageResult, job_images
from generation.stages import make_stage, release_dead_leases
from graph.driver import make_driver
from mindkb.errors import BadOption
from mindkb.output import progress
from mindkb.settings import Settings

log = logging.getLogger(__name__)

UNREADABLE = "image unreadable"


class RemoteModel:
    """A stage's backend where the model is elsewhere: its name, for claims and provenance."""

    def __init__(self, model_id: str):
        self.model_id = model_id

    def generate(self, requests: Sequence[Request], decoding: Decoding) -> list[str]:
        raise RuntimeError("this stage's model runs in Ray actors")

    def close(self) -> None:
        pass


def _span_rows(spans: list[Span]) -> list[dict]:
    # Plain columns for Arrow: "" is no upper end (asins and ids are never empty), -1 no budget.
    return [{"after": s.after, "upto": s.upto or "", "budget": -1 if s.budget is None else s.budget}
            for s in spans]


def _span(after: str, upto: str, budget: int) -> Span:
    return Span(str(after), str(upto) or None, None if int(budget) < 0 else int(budget))


def _load(path: str | None) -> Image.Image:
    if not path:
        raise ImageError("no image path")
    return load_image(path)


class _Worker:
    """What every actor holds: its own Neo4j driver and one stage bound to it."""

    def __init__(self, name: str, settings: Settings, options: StageOptions, backend: Backend):
        self.driver = make_driver(settings)
        self.stage = make_stage(name, self.driver, settings.neo4j_database, backend, options)

    def __del__(self) -> None:
        self.driver.close()


class StageActor(_Worker):
    """Holds the model (transformers on a GPU or the CPU, or an OpenAI-compatible client) and runs the
    stage's claim -> generate -> commit loop over each partition it is given."""

    def __init__(self, name: str, settings: Settings, options: StageOptions, load: Callable[[], Backend]):
        super().__init__(name, settings, options, load())

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for after, upto, budget in zip(batch["after"], batch["upto"], batch["budget"], strict=True):
            result = StageResult(self.stage.name)
            self.stage.loop(result, _span(after, upto, budget))
            out.append(json.dumps(result.summary()))
        return {"result": np.array(out, dtype=object)}


def run_stage_on_ray(stage: Stage, pool: raycluster.Pool, actors: Callable[[Dataset, int], Dataset],
                     commit: Callable[[StageResult, Dataset, Callable[[int], object]], None] | None = None
                     ) -> StageResult:
    """One stage: partitions from the driver, `actors` over them; their counts added up here (or,
    for pipelines that answer prompts rather than partitions, `commit` writes the answers)."""
    release_dead_leases(stage.db)
    result = StageResult(stage.name)
    started = time.perf_counter()
    total = stage.count(result)
    limit = stage.opt.limit
    spans = stage.spans(pool.partition, limit)
    bar = progress(total=min(total, limit) if limit is not None else total, desc=stage.name, unit="unit")
    try:
        if spans:
            dataset = actors(raycluster.partitions(_span_rows(spans)), len(spans))
            if commit is not None:
                commit(result, dataset, bar.update)
            else:
                for batch in raycluster.results(dataset):
                    for part in map(json.loads, batch["result"]):
                        result.add(part)
                        bar.update(part["done"])
    finally:
        bar.close()
    result.seconds = time.perf_counter() - started
    result.engine = pool.summary()
    return result


# --- vLLM through ray.data.llm (GPU clusters; the processor itself is not run by the test suite) -----


class ClaimRows(_Worker):
    """Claims a partition's units under the lease and turns them into one row per prompt.

    A claimed batch's first row carries its units and how many prompts each unit asks (JSON), so
    the driver can build the result rows and commit the batch once all its answers are back."""

    def __init__(self, name: str, settings: Settings, options: StageOptions, model: str) -> None:
        super().__init__(name, settings, options, RemoteModel(model))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        cols: dict[str, list]
        stage, cols = self.stage, {k: [] for k in ("claim", "index", "count", "prompt", "images", "units", "sizes")}
        for after, upto, budget in zip(batch["after"], batch["upto"], batch["budget"], strict=True):
            span = _span(after, upto, budget)
            stage.budget = remaining = span.budget
            claimed: list = []
            while (remaining is None or remaining > 0) and not stage.owner_gone():
                want = stage.opt.batch_size if remaining is None else min(stage.opt.batch_size, remaining)
                seen, units = stage.claim(claimed, want, span)
                if not seen:
                    break
                if not units:
                    time.sleep(0.05)
                    continue
                jobs = [stage.take(job) for job in stage.jobs(units)]
                claimed += [job.key for job in jobs]
                if remaining is not None:
                    remaining -= max(stage.used(units, jobs), 1)
                # a pair's prompts name its images as the family lays them out (Stage.work does the same)
                prompts = [(job, stage.family.pair_prompt(p) if len(job.images) == 2 else p)
                           for job in jobs for p in job.prompts]
                if not prompts:
                    stage.store(units, [], StageResult(stage.name))  # nothing to ask: free the leases
                    continue
                claim = uuid.uuid4().hex
                for i, (job, prompt) in enumerate(prompts):
                    for k, v in (("claim", claim), ("index", i), ("count", len(prompts)), ("prompt", prompt),
                                 ("images", list(job.images)),
                                 ("units", json.dumps(units) if i == 0 else ""),
                                 ("sizes", json.dumps([len(j.prompts) for j in jobs]) if i == 0 else "")):
                        cols[k].append(v)
        return cols


def require_vllm() -> None:
    """vLLM and Ray's LLM extras are not among our pinned packages: they need CUDA machines."""
    try:
        import ray.data.llm  # noqa: F401
        import vllm  # noqa: F401  (the engine the processor starts on the GPU nodes)
    except ImportError:
        raise BadOption("{backend} vllm needs vLLM and Ray's LLM extras: "
                        "pip install vllm 'ray[data,llm]==2.60.0' (on GPU machines)") from None


def row_images(row: dict, pair: str, text_only: bool) -> tuple[list, str]:
    """A prompt row's images (a pair stacked into one, or as two, per `pair`) and its error: "" or,
    for an unreadable image when text-only was not asked for, UNREADABLE."""
    try:
        return job_images(list(row["images"]) if row["images"] is not None else [], _load, pair), ""
    except ImageError:
        return [], ("" if text_only else UNREADABLE)


def _vllm_request(row: dict, decoding: Decoding, text_only: bool, pair: str = STACKED) -> dict:
    """A prompt row -> OpenAI-style messages, each image the model sees as one data URL."""
    images, error = row_images(row, pair, text_only)
    content = [{"type": "image_url", "image_url": {"url": image_data_url(img)}} for img in images]
    content.append({"type": "text", "text": row["prompt"]})
    sampling = {"temperature": decoding.temperature, "top_p": decoding.top_p, "seed": decoding.seed,
                "max_tokens": 1 if error else decoding.max_new_tokens,
                "min_tokens": 0 if error else decoding.min_new_tokens}
    return {"messages": [{"role": "user", "content": content}], "sampling_params": sampling, "error": error}


def _vllm_answer(row: dict) -> dict:
    keep = ("claim", "index", "count", "units", "sizes")
    return {**{k: row[k] for k in keep}, "error": row["error"],
            "answer": "" if row["error"] else (row.get("generated_text") or "").strip()}


def vllm_processor(model: str, decoding: Decoding, pool: raycluster.Pool, batch_size: int,
                   text_only: bool, pair: str = STACKED, max_model_len: int = 4096) -> Callable[[Dataset], Dataset]:
    """vLLM's engine in `pool.actors` replicas of `pool.gpus` GPUs each (tensor parallel); `pair` is how a
    pair's two images go (the family's layout), and so how many images a prompt may carry."""
    require_vllm()
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    config = vLLMEngineProcessorConfig(
        model_source=model,
        batch_size=batch_size,
        concurrency=pool.actors,
        # Prefix caching: a pair's 20 intention prompts share the image and both feature texts.
        engine_kwargs={"max_model_len": max_model_len, "limit_mm_per_prompt": {"image": 2 if pair == SEPARATE else 1},
                       "tensor_parallel_size": max(1, int(pool.gpus)), "enable_prefix_caching": True},
        prepare_multimodal_stage={"enabled": True},
    )
    return build_processor(config, preprocess=partial(_vllm_request, decoding=decoding, text_only=text_only, pair=pair),
                           postprocess=_vllm_answer)


@dataclass
class _Claimed:
    units: list[dict]
    jobs: list[Job]
    answers: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (answer, error)


def commit_answers(stage: Stage, result: StageResult, answers: Dataset, done: Callable[[int], object]) -> None:
    """Join prompt answers {claim, index, count, units, sizes, answer, error} by claimed batch and
    commit each complete batch (Stage.finish); batches left incomplete have their leases freed."""
    waiting: dict[str, _Claimed] = {}
    counts: dict[str, int] = {}
    early: dict[str, dict[int, tuple[str, str]]] = {}
    try:
        for batch in raycluster.results(answers):
            for claim, index, count, units, sizes, answer, error in zip(
                    batch["claim"], batch["index"], batch["count"], batch["units"], batch["sizes"],
                    batch["answer"], batch["error"], strict=True):
                claim, index = str(claim), int(index)
                counts[claim] = int(count)
                if units:  # the batch's first row: its units and the prompts each one asks
                    jobs = stage.jobs(json.loads(units))
                    jobs = [replace(j, prompts=j.prompts[:n], meta=j.meta[:n])
                            for j, n in zip(jobs, json.loads(sizes), strict=True)]
                    waiting[claim] = _Claimed(json.loads(units), jobs, early.pop(claim, {}))
                slot = waiting[claim].answers if claim in waiting else early.setdefault(claim, {})
                slot.setdefault(index, (str(answer), str(error)))
                if claim in waiting and len(waiting[claim].answers) == counts[claim]:
                    before = result.done
                    _finish(stage, result, waiting.pop(claim))
                    done(result.done - before)
    finally:
        for held in waiting.values():  # answers that never came: free the leases now
            result.fail("lost in the Ray pipeline", sum(len(j.prompts) for j in held.jobs) - len(held.answers))
            stage.store(held.units, [], result)


def run_prompt_stage(stage: Stage, pool: raycluster.Pool, settings: Settings,
                     answer: Callable[[Dataset], Dataset]) -> StageResult:
    """A stage whose model answers prompt rows (a ray.data.llm processor): partitions -> ClaimRows ->
    `answer` -> commits in the driver. `answer` keeps the rows' columns and adds `answer`, `error`."""
    claims = partial(_claim_rows, name=stage.name, settings=settings, options=stage.opt, model=stage.model)
    return run_stage_on_ray(stage, pool, lambda ds, partitions: answer(claims(ds)), partial(commit_answers, stage))


def _finish(stage: Stage, result: StageResult, held: _Claimed) -> None:
    exclude: list = []
    ready, answers, at = [], [], 0
    for job in held.jobs:
        got = [held.answers[i] for i in range(at, at + len(job.prompts))]
        at += len(job.prompts)
        if any(error == UNREADABLE for _, error in got):
            stage.unreadable(job, result, exclude)
            continue
        for _, error in got:
            if error:
                result.fail(error)
        ready.append(job)
        answers += [None if error else answer for answer, error in got]
    stage.finish(held.units, ready, answers, result, exclude)


# --- the stages in order -------------------------------------------------------------------------


def run_generate_on_ray(driver: Driver, settings: Settings, req: GenerateRequest) -> list[StageResult]:
    """`run_generate` with each stage as a Ray Data pipeline."""
    if req.backend == "vllm":
        require_vllm()
    if req.backend == "openai":
        make_backend(settings, req).close()  # a missing --base-url is said here, not by every actor
    session = raycluster.join(settings.ray_address)
    try:
        pool = raycluster.pool(settings, req.batch_size, session)
        options = stage_options(settings, req)
        worker = raycluster.worker_settings(settings)
        per_stage = decodings(settings, req)
        results = []
        for name in req.stages:
            planner = make_stage(name, driver, settings.neo4j_database, RemoteModel(req.model), options)
            if req.backend == "vllm":
                answer = vllm_processor(req.model, per_stage[name], pool, req.batch_size, req.text_only,
                                        planner.family.pair_images)
                results.append(run_prompt_stage(planner, pool, worker, answer))
            else:
                load = partial(make_backend, settings, req)
                actors = partial(_stage_actors, name=name, settings=worker, options=options, load=load, pool=pool)
                results.append(run_stage_on_ray(planner, pool, actors))
        return results
    finally:
        raycluster.leave(session)


def _stage_actors(ds: Dataset, partitions: int, name: str, settings: Settings, options: StageOptions,
                  load: Callable[[], Backend], pool: raycluster.Pool) -> Dataset:
    return ds.map_batches(StageActor, fn_constructor_kwargs={"name": name, "settings": settings, "options": options,
                                                             "load": load},
                          batch_format="numpy", **pool.map_args(partitions))


def _claim_rows(ds: Dataset, name: str, settings: Settings, options: StageOptions, model: str) -> Dataset:
    # One claiming actor: claims take milliseconds, and fewer claims run ahead of the engine.
    return ds.map_batches(ClaimRows, fn_constructor_kwargs={"name": name, "settings": settings, "options": options,
                                                            "model": model},
                          compute=ActorPoolStrategy(size=1), num_cpus=1, batch_size=1, batch_format="numpy")
