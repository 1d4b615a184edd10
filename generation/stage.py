"""What a stage is, and the claim -> generate -> commit loop every stage runs over work units in the graph.

A stage is declared once, as a `Stage` subclass whose `spec` (a `StageSpec`) names its statements in
`graph/generation.py`, its prompt builder, its answer's parser, its token budget, where its leases
live and what one unit of work is; the subclass adds only `jobs` (the prompts of claimed units) and
`rows` (what an answer becomes). `generation/stages/` holds one module per stage and the registry.

Each loop claims a batch under a lease, runs the backend once for the whole batch and writes the
batch's results in one transaction that also releases the leases. A run therefore does exactly
the missing work, several runs can share a database, and a killed run loses only its current
batch (its leases expire and another run takes the units). Both engines run the loop below: `run`
over all the work in this process, and `generation.ray_engine`, whose actors each run `loop` over
one partition of the keys (`spans`) with the same claims, leases and commits.

One batch, in order: `loop` -> `claim` (spec.claim) -> `work`: `jobs` -> `take` -> `generate`
(the backend) -> `finish`: `rows` (spec.parse) -> `store` (spec.commit).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from neo4j import Driver, ManagedTransaction
from PIL import Image

from generation.backends import Backend, Decoding, Request
from generation.families import STACKED, family_for
from generation.images import ImageError, load_image, stack_vertical
from generation.prompts import PROMPT_VERSION
from generation.tiny import random_weights
from graph.driver import Patient
from graph.generation import Lease, Scope
from mindkb.output import progress
from mindkb.processes import alive

log = logging.getLogger(__name__)


@dataclass
class StageOptions:
    relations: list[str]
    limit: int | None = None
    batch_size: int = 8
    text_only: bool = False
    lease_seconds: float = 900.0
    prompt_version: str = PROMPT_VERSION
    decoding: dict[str, Decoding] = field(default_factory=dict)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    db_wait_seconds: float = 300.0  # how long to wait for an unreachable Neo4j before giving up
    db_uri: str = "the database"  # named in the waiting message
    overwrite_features: bool = False  # replace features this stage did not make (imported ones)

    @property
    def lease_ms(self) -> int:
        return max(1, int(self.lease_seconds * 1000))


@dataclass
class StageResult:
    stage: str
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    skipped_reasons: Counter = field(default_factory=Counter)
    failed_reasons: Counter = field(default_factory=Counter)
    engine: dict = field(default_factory=dict)  # with --engine ray: the actor pool it ran on

    def summary(self) -> dict:
        return {
            "stage": self.stage, "done": self.done, "skipped": self.skipped, "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "skipped_reasons": dict(self.skipped_reasons), "failed_reasons": dict(self.failed_reasons),
            **self.engine,
        }

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped += n
        self.skipped_reasons[reason] += n

    def fail(self, reason: str, n: int = 1) -> None:
        self.failed += n
        self.failed_reasons[reason] += n

    def add(self, part: dict) -> None:
        """Add the counts of another result's summary (a partition done elsewhere)."""
        self.done += part["done"]
        for reason, n in part["skipped_reasons"].items():
            self.skip(reason, n)
        for reason, n in part["failed_reasons"].items():
            self.fail(reason, n)


@dataclass(frozen=True)
class Span:
    """A partition of a stage's keys: after < key <= upto (None: no end); `budget`: units allowed."""

    after: str = ""
    upto: str | None = None
    budget: int | None = None


@dataclass
class Job:
    """What one claimed unit asks the model: prompts that share the unit's images.

    `images` are paths: none (text only), one image, or a pair's two (stacked A above B, or two
    images, as the model's family takes them).
    `meta` holds, per prompt, what its result row needs besides the unit (the relation).
    """

    unit: dict
    key: str  # the unit's key in a run's exclusions (asin, "A|B", intention id)
    prompts: list[str]
    images: tuple[str | None, ...] = ()
    meta: list = field(default_factory=list)


def job_images(paths: Sequence[str | None], load: Callable[[str | None], Image.Image],
               pair: str = STACKED) -> list[Image.Image]:
    """The images the model sees for a job; `load` raises ImageError for a missing or bad file."""
    if not paths:
        return []
    if len(paths) == 1:
        return [load(paths[0])]
    if pair != STACKED:
        return [load(paths[0]), load(paths[1])]
    return [stack_vertical(load(paths[0]), load(paths[1]))]


Statement = Callable[..., Any]  # a transaction function of graph/generation.py


@dataclass(frozen=True)
class StageSpec:
    """One stage, declared once: the registry, the CLI, the budgets and the lease scans read it here.

    The statements take the run's `Scope` (see graph/generation.py): `count(tx, scope)`,
    `claim(tx, scope, owner, exclude, limit, lease_ms, after, upto)`, `spans(tx, scope, size, limit)`,
    `commit(tx, units, rows, owner, provenance)`, and `not_ready(tx, scope)` where some units cannot
    be done yet (counted as skipped, by reason).
    """

    name: str
    unit: str  # what one unit of work is (for --help and the docs)
    after: str | None  # the stage whose results this one reads; None: the first
    max_new_tokens: int  # the output budget; MIND_MAX_NEW_TOKENS_<NAME> or --max-new-tokens override it
    lease: Lease  # where its leases live (a lease scan frees those of dead workers)
    prompt: Callable[..., str]  # the prompt builder (generation/prompts.py)
    parse: Callable[..., Any]  # what an answer becomes (mindkb/normalize.py)
    count: Callable[[ManagedTransaction, Scope], int]
    claim: Statement
    spans: Statement
    commit: Statement
    not_ready: Callable[[ManagedTransaction, Scope], dict[str, int]] | None = None


class Stage(ABC):
    """One stage bound to a database, a backend and options: the loop, run through `spec`'s statements;
    subclasses say what a claimed unit asks the model (`jobs`) and what an answer becomes (`rows`)."""

    spec: ClassVar[StageSpec]

    def __init__(self, driver: Driver, database: str, backend: Backend, options: StageOptions) -> None:
        self.driver, self.database, self.backend, self.opt = driver, database, backend, options
        self.model = backend.model_id
        self.family = getattr(backend, "family", None) or family_for(self.model)  # how a pair's images go
        self.noise = random_weights(self.model)  # a random model's text and verdicts are marked as noise
        self.db = Patient(driver, database, options.db_uri, options.db_wait_seconds)
        self.decoding = options.decoding[self.name]
        self.scope = Scope(self.model, options.prompt_version, tuple(options.relations), options.text_only,
                           options.overwrite_features)
        self.budget = options.limit  # units the current loop may still start (intentions trim a pair to it)
        self._images: dict[str, Image.Image] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    # what each stage defines ------------------------------------------------------------------
    @abstractmethod
    def jobs(self, units: list[dict]) -> list[Job]:
        """The model requests of leased units: prompts (`spec.prompt`) and the paths of their images."""

    @abstractmethod
    def rows(self, job: Job, answers: list[str | None], result: StageResult, exclude: list) -> list[dict]:
        """Result rows from a job's answers (`spec.parse`; None: that request failed and is already counted)."""

    def claim_size(self, want: int) -> int:
        """How many claim units to ask for when `want` units of work are wanted."""
        return want

    def take(self, job: Job) -> Job:
        """The part of a job that the run's --limit still allows (all of it, but for intentions)."""
        return job

    def used(self, units: list[dict], jobs: list[Job]) -> int:
        """How many units of the limit a batch used."""
        return len(units)

    def unreadable(self, job: Job, result: StageResult, exclude: list) -> None:
        """A job whose image cannot be read (and text-only was not asked for) is skipped."""
        result.skip("image unreadable")
        exclude.append(job.key)

    # the statements, run alike for every stage -----------------------------------------------
    def count(self, result: StageResult) -> int:
        """Units to do (for the progress bar); units that cannot be done are counted as skipped."""
        if self.spec.not_ready is not None:
            for reason, n in self.db.read(self.spec.not_ready, self.scope).items():
                result.skip(reason, n)
        return self.db.read(self.spec.count, self.scope)

    def claim(self, exclude: list, want: int, span: Span) -> tuple[int, list[dict]]:
        """(candidates seen, units leased) among the span's keys: nothing seen means it is done."""
        return self.db.write(self.spec.claim, self.scope, self.opt.owner, exclude, self.claim_size(want),
                             self.opt.lease_ms, span.after, span.upto)

    def spans(self, size: int, limit: int | None) -> list[Span]:
        """The work as partitions of about `size` units (all of it, or the first `limit` units)."""
        return [Span(r["after"], r["upto"], r["budget"])
                for r in self.db.read(self.spec.spans, self.scope, size, limit)]

    def store(self, units: list[dict], rows: list[dict], result: StageResult) -> None:
        """Write the rows under this run's leases and release every lease of `units`: one commit."""
        written = self.db.write(self.spec.commit, units, rows, self.opt.owner, self.provenance())
        result.done += written
        if written < len(rows):
            result.skip("lease lost to another worker", len(rows) - written)

    # shared helpers ---------------------------------------------------------------------------
    def provenance(self) -> dict:
        return {"model": self.model, "promptVersion": self.opt.prompt_version, "seed": self.decoding.seed,
                "decoding": self.decoding.as_json(), "noise": self.noise, "pairImages": self.family.pair_images}

    def image(self, path: str | None) -> Image.Image:
        """One decoded image per path per batch: a pair's stack is made once for all relations."""
        if not path:
            raise ImageError("no image path")
        if path not in self._images:
            self._images[path] = load_image(path)
        return self._images[path]

    def generate(self, requests: list[Request], keys: list, result: StageResult,
                 exclude: list) -> list[str | None]:
        """The model's answers; all None when the batch failed: then its units are counted as failed
        and kept out of this run (their leases are released by the commit)."""
        if not requests:
            return []
        try:
            answers: list[str | None] = list(self.backend.generate(requests, self.decoding))
            return answers
        except Exception as exc:  # the batch fails; its units go back to the pool
            log.warning("%s: a batch of %d failed: %s: %s", self.name, len(requests), type(exc).__name__, exc)
            result.fail(f"generation: {type(exc).__name__}", len(requests))
            exclude.extend(dict.fromkeys(keys))
            return [None] * len(requests)

    def work(self, units: list[dict], result: StageResult, exclude: list) -> int:
        """Generate the leased units here and commit them; returns how many units of the limit they used."""
        requests, ready = [], []
        for job in self.jobs(units):
            try:
                images = job_images(job.images, self.image, self.family.pair_images)
            except ImageError:
                if not self.opt.text_only:
                    self.unreadable(job, result, exclude)
                    continue
                images = []
            job = self.take(job)
            ready.append(job)
            prompts = [self.family.pair_prompt(p) for p in job.prompts] if len(job.images) == 2 else job.prompts
            requests += [Request(prompt, images) for prompt in prompts]
        answers = self.generate(requests, [job.key for job in ready], result, exclude)
        self.finish(units, ready, answers, result, exclude)
        return self.used(units, ready)

    def finish(self, units: list[dict], jobs: list[Job], answers: Sequence[str | None], result: StageResult,
               exclude: list) -> None:
        """Rows from the answers (flat, in the jobs' order) and the commit that releases `units`."""
        rows, at = [], 0
        for job in jobs:
            rows += self.rows(job, list(answers[at:at + len(job.prompts)]), result, exclude)
            at += len(job.prompts)
        self.store(units, rows, result)

    def owner_gone(self) -> bool:
        """Whether the process our leases name has ended on this host: Ray actors claim under their
        driver's owner, and once a killed driver's next run has freed its leases, an actor that
        claimed on under that owner (Ray ends the job a while later) would leave leases nobody frees."""
        if dead_local_owner(self.opt.owner, socket.gethostname()):
            log.warning("%s: lease owner %s has ended: no more claims", self.name, self.opt.owner)
            return True
        return False

    # the loop ---------------------------------------------------------------------------------
    def run(self) -> StageResult:
        """All of the stage's missing work (up to --limit units), here (dead workers' leases freed first:
        `generation.stages.run_stage`)."""
        result = StageResult(self.name)
        started = time.perf_counter()
        total = self.count(result)
        limit = self.opt.limit
        bar = progress(total=min(total, limit) if limit is not None else total, desc=self.name, unit="unit")
        try:
            self.loop(result, Span(budget=limit), bar.update)
        finally:
            bar.close()
        result.seconds = time.perf_counter() - started
        return result

    def loop(self, result: StageResult, span: Span, done: Callable[[int], object] = lambda n: None) -> None:
        """Claim, generate and commit batch after batch until the span has no claimable work left
        or its budget is used; `done(n)` hears of every n results committed."""
        exclude: list = []
        self.budget = remaining = span.budget
        idle = 0
        while (remaining is None or remaining > 0) and not self.owner_gone():
            want = self.opt.batch_size if remaining is None else min(self.opt.batch_size, remaining)
            seen, units = self.claim(exclude, want, span)
            if not seen:
                break
            if not units:  # another worker took them between our read and our lock
                idle += 1
                time.sleep(min(0.05 * idle, 1.0))
                continue
            idle = 0
            self._images.clear()
            before = result.done
            used = self.work(units, result, exclude)
            done(result.done - before)
            if remaining is not None:
                remaining -= max(used, 1)


def dead_local_owner(owner: str, host: str) -> bool:
    """Owner ids are host:pid:nonce; only a process on this host can be checked."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    return pid != os.getpid() and not alive(pid)
