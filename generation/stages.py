"""The three stages as claim -> generate -> write loops over work units found in the graph.

Each loop claims a batch under a lease, runs the backend once for the whole batch and writes the
batch's results in one transaction that also releases the leases. A run therefore does exactly
the missing work, several runs can share a database, and a killed run loses only its current
batch (its leases expire and another run takes the units).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from neo4j import Driver

from generation.backends import Backend, Decoding, Request
from generation.images import ImageError, load_image, stack_vertical
from generation.prompts import PROMPT_VERSION, features_prompt, filter_prompt, intention_prompt
from generation.text import clean_intention, parse_verdict
from graph import generation as q
from graph.driver import Patient
from mindkb.ids import intention_id
from mindkb.output import progress
from mindkb.relations import BY_NAME

STAGES = ("features", "intentions", "filter")


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

    def summary(self) -> dict:
        return {
            "stage": self.stage, "done": self.done, "skipped": self.skipped, "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "skipped_reasons": dict(self.skipped_reasons), "failed_reasons": dict(self.failed_reasons),
        }

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped += n
        self.skipped_reasons[reason] += n

    def fail(self, reason: str, n: int = 1) -> None:
        self.failed += n
        self.failed_reasons[reason] += n


class Stage:
    """One stage bound to a database, a backend and options."""

    def __init__(self, driver: Driver, database: str, backend: Backend, options: StageOptions):
        self.driver, self.database, self.backend, self.opt = driver, database, backend, options
        self.model = backend.model_id
        self.db = Patient(driver, database, options.db_uri, options.db_wait_seconds)
        self._images: dict[str, object] = {}

    # helpers ----------------------------------------------------------------------------------
    def provenance(self, decoding: Decoding) -> dict:
        return {"model": self.model, "promptVersion": self.opt.prompt_version, "seed": decoding.seed,
                "decoding": decoding.as_json()}

    def image(self, path: str | None):
        """One decoded image per path per batch: a pair's stack is made once for all relations."""
        if not path:
            raise ImageError("no image path")
        if path not in self._images:
            self._images[path] = load_image(path)
        return self._images[path]

    def _loop(self, result: StageResult, claim: Callable[[list, int], tuple[int, list[dict]]],
              work: Callable[[list[dict], StageResult, list], int], total: int, unit_of: Callable[[dict], int]) -> None:
        exclude: list = []
        remaining = self.opt.limit
        bar = progress(total=min(total, remaining) if remaining is not None else total,
                       desc=result.stage, unit="unit")
        try:
            idle = 0
            while remaining is None or remaining > 0:
                want = self.opt.batch_size if remaining is None else min(self.opt.batch_size, remaining)
                seen, units = claim(exclude, want)
                if not seen:
                    break
                if not units:  # another worker took them between our read and our lock
                    idle += 1
                    time.sleep(min(0.05 * idle, 1.0))
                    continue
                idle = 0
                self._images.clear()
                before = result.done
                n_units = work(units, result, exclude)
                bar.update(result.done - before)
                if remaining is not None:
                    remaining -= max(n_units, 1)
        finally:
            bar.close()

    # features --------------------------------------------------------------------------------
    def run_features(self) -> StageResult:
        result = StageResult("features")
        started = time.perf_counter()
        pv, text_only = self.opt.prompt_version, self.opt.text_only
        if not text_only:
            for reason, n in self.db.read(q.count_products_without_image,
                                  self.model, pv).items():
                result.skip(reason, n)
        total = self.db.read(q.count_feature_work, self.model, pv, text_only)
        decoding = self.opt.decoding["features"]

        def claim(exclude, want):
            return self.db.write(q.claim_feature_batch, self.opt.owner, self.model, pv,
                         text_only, exclude, want, self.opt.lease_ms)

        def work(units, res, exclude):
            requests, ready = [], []
            for u in units:
                images = []
                if u["imagePath"]:
                    try:
                        images = [self.image(u["imagePath"])]
                    except ImageError:
                        if not text_only:
                            res.skip("image unreadable")
                            exclude.append(u["asin"])
                            continue
                requests.append(Request(features_prompt(u["title"] or u["asin"], u.get("description")), images))
                ready.append(u)
            rows = []
            if requests:
                try:
                    answers = self.backend.generate(requests, decoding)
                except Exception as exc:  # the batch fails; its units go back to the pool
                    res.fail(f"generation: {type(exc).__name__}", len(ready))
                    exclude.extend(u["asin"] for u in ready)
                    answers = None
                for u, raw in zip(ready, answers or []):
                    text = clean_features(raw)
                    if text:
                        rows.append({"asin": u["asin"], "features": text, "raw": raw})
                    else:
                        res.fail("empty output")
                        exclude.append(u["asin"])
            self._commit(res, q.write_features, q.release_features, "asin", units, rows, decoding)
            return len(units)

        self._loop(result, claim, work, total, lambda u: 1)
        result.seconds = time.perf_counter() - started
        return result

    # intentions ------------------------------------------------------------------------------
    def run_intentions(self) -> StageResult:
        result = StageResult("intentions")
        started = time.perf_counter()
        pv, rels, text_only = self.opt.prompt_version, self.opt.relations, self.opt.text_only
        for reason, n in self.db.read(q.count_pairs_not_ready, text_only).items():
            result.skip(reason, n * len(rels))
        total = self.db.read(q.count_intention_work, self.model, pv, rels, text_only)
        decoding = self.opt.decoding["intentions"]
        budget = {"units": self.opt.limit}
        # A claim takes whole pairs (every missing relation of a pair shares its stacked image):
        # ask for about batch_size / relations pairs per batch.
        pairs_per_batch = max(1, self.opt.batch_size // max(1, len(rels)))

        def claim(exclude, want):
            return self.db.write(q.claim_pair_batch, self.opt.owner, self.model, pv, rels,
                         text_only, exclude, max(1, min(pairs_per_batch, want)), self.opt.lease_ms)

        def work(units, res, exclude):
            requests, meta = [], []
            for u in units:
                key = f"{u['asinA']}|{u['asinB']}"
                try:
                    images = [stack_vertical(self.image(u["imageA"]), self.image(u["imageB"]))]
                except ImageError:
                    if not text_only:
                        res.skip("image unreadable", len(u["missing"]))
                        exclude.append(key)
                        continue
                    images = []
                missing = u["missing"]
                if budget["units"] is not None:
                    missing = missing[: max(0, budget["units"])]
                    budget["units"] -= len(missing)
                for rel in missing:
                    template = BY_NAME[rel].template
                    requests.append(Request(intention_prompt(u["titleA"] or u["asinA"], u["featuresA"],
                                                             u["titleB"] or u["asinB"], u["featuresB"], template),
                                            images))
                    meta.append((u, rel, template))
            rows = []
            if requests:
                try:
                    answers = self.backend.generate(requests, decoding)
                except Exception as exc:
                    res.fail(f"generation: {type(exc).__name__}", len(requests))
                    exclude.extend({f"{u['asinA']}|{u['asinB']}" for u, _, _ in meta})
                    answers = []
                prov = self.provenance(decoding)
                for (u, rel, template), raw in zip(meta, answers):
                    text = clean_intention(raw, template)
                    if not text.strip() or text.strip() == template:
                        res.fail("empty output")
                        exclude.append(f"{u['asinA']}|{u['asinB']}")
                        continue
                    rows.append({
                        "id": intention_id(u["asinA"], u["asinB"], rel, self.model, prov["promptVersion"]),
                        "asinA": u["asinA"], "asinB": u["asinB"], "relation": rel,
                        "props": {"text": text, "rawText": raw, "status": "GENERATED", "source": "mind",
                                  "model": self.model, "promptVersion": prov["promptVersion"],
                                  "seed": prov["seed"], "decoding": prov["decoding"]},
                    })
            pairs = [{"a": u["asinA"], "b": u["asinB"]} for u in units]
            held_before = len(rows)
            written = self.db.write(q.write_intention_batch, rows, pairs, self.opt.owner)
            res.done += written
            if written < held_before:
                res.skip("lease lost to another worker", held_before - written)
            return len(requests)

        self._loop(result, claim, work, total, lambda u: len(u["missing"]))
        result.seconds = time.perf_counter() - started
        return result

    # filter ----------------------------------------------------------------------------------
    def run_filter(self) -> StageResult:
        result = StageResult("filter")
        started = time.perf_counter()
        rels, text_only = self.opt.relations, self.opt.text_only
        total = self.db.read(q.count_filter_work, rels)
        decoding = self.opt.decoding["filter"]

        def claim(exclude, want):
            return self.db.write(q.claim_filter_batch, self.opt.owner, rels, exclude, want,
                         self.opt.lease_ms)

        def work(units, res, exclude):
            requests, ready = [], []
            for u in units:
                try:
                    images = [stack_vertical(self.image(u["imageA"]), self.image(u["imageB"]))]
                except ImageError:
                    if not text_only:
                        res.skip("image unreadable")
                        exclude.append(u["id"])
                        continue
                    images = []
                template = BY_NAME[u["relation"]].template if u["relation"] in BY_NAME else ""
                requests.append(Request(filter_prompt(u["titleA"] or u["asinA"], u["featuresA"] or "",
                                                      u["titleB"] or u["asinB"], u["featuresB"] or "",
                                                      template, u["text"] or ""), images))
                ready.append(u)
            rows = []
            if requests:
                try:
                    answers = self.backend.generate(requests, decoding)
                except Exception as exc:
                    res.fail(f"generation: {type(exc).__name__}", len(ready))
                    exclude.extend(u["id"] for u in ready)
                    answers = []
                for u, raw in zip(ready, answers):
                    verdict = parse_verdict(raw)
                    rows.append({"id": u["id"], "status": verdict.status, "rationale": verdict.rationale,
                                 "raw": raw})
            self._commit(res, q.write_verdicts, q.release_filter, "id", units, rows, decoding)
            return len(units)

        self._loop(result, claim, work, total, lambda u: 1)
        result.seconds = time.perf_counter() - started
        return result

    def _commit(self, res: StageResult, write_fn, release_fn, key: str, units: list[dict], rows: list[dict],
                decoding: Decoding) -> None:
        """Write a batch's results under our leases, count what another worker took, free the rest."""
        written = set(self.db.write(write_fn, rows, self.opt.owner, self.provenance(decoding)) if rows else ())
        res.done += len(written)
        if len(written) < len(rows):
            res.skip("lease lost to another worker", len(rows) - len(written))
        leftover = [u[key] for u in units if u[key] not in written]
        if leftover:
            self.db.write(release_fn, leftover, self.opt.owner)

    def release_dead_leases(self) -> int:
        """Free the leases of workers on this host whose process is gone (killed with -9, say).

        Without this a re-run right after a crash would find those units leased, skip them and
        finish with work missing until the leases expire.
        """
        host = socket.gethostname()
        dead = [o for o in self.db.read(q.live_lease_owners) if _dead_local_owner(o, host)]
        return self.db.write(q.drop_leases, dead) if dead else 0

    def run(self, stage: str) -> StageResult:
        self.release_dead_leases()
        return {"features": self.run_features, "intentions": self.run_intentions,
                "filter": self.run_filter}[stage]()


def _dead_local_owner(owner: str, host: str) -> bool:
    """Owner ids are host:pid:nonce; only a process on this host can be checked."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def clean_features(raw: str) -> str:
    from generation.text import _strip_artefacts

    return _strip_artefacts(raw)
