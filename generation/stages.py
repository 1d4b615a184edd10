"""The three stages of the MIND pipeline, each a `Stage` over its own kind of work unit.

- features: one unit per product (image + title -> a description);
- intentions: one unit per (co-buy pair, relation), claimed a whole pair at a time so the pair's
  stacked image is made once for all its missing relations;
- filter: one unit per GENERATED intention (the role-aware yes/no with a reason).
"""

from __future__ import annotations

from dataclasses import replace

from generation.prompts import features_prompt, filter_prompt, intention_prompt
from generation.stage import Job, Span, Stage, StageResult
from graph import generation as q
from mindkb.ids import intention_id
from mindkb.normalize import normalize_features, normalize_intention, parse_verdict
from mindkb.relations import BY_NAME

STAGES = ("features", "intentions", "filter")


def _pair_key(unit: dict) -> str:
    return f"{unit['asinA']}|{unit['asinB']}"


def _spans(rows: list[dict]) -> list[Span]:
    return [Span(r["after"], r["upto"], r["budget"]) for r in rows]


class FeatureStage(Stage):
    name = "features"

    def count(self, result: StageResult) -> int:
        pv, overwrite = self.opt.prompt_version, self.opt.overwrite_features
        if not self.opt.text_only:
            for reason, n in self.db.read(q.count_products_without_image, self.model, pv, overwrite).items():
                result.skip(reason, n)
        return self.db.read(q.count_feature_work, self.model, pv, self.opt.text_only, overwrite)

    def claim(self, exclude: list, want: int, span: Span) -> tuple[int, list[dict]]:
        return self.db.write(q.claim_feature_batch, self.opt.owner, self.model, self.opt.prompt_version,
                             self.opt.text_only, exclude, want, self.opt.lease_ms, self.opt.overwrite_features,
                             span.after, span.upto)

    def spans(self, size: int, limit: int | None) -> list[Span]:
        return _spans(self.db.read(q.feature_work_spans, self.model, self.opt.prompt_version, self.opt.text_only,
                                   size, limit, self.opt.overwrite_features))

    def jobs(self, units: list[dict]) -> list[Job]:
        return [Job(u, u["asin"], [features_prompt(u["title"] or u["asin"], u.get("description"))],
                    (u["imagePath"],) if u["imagePath"] else ()) for u in units]

    def rows(self, job: Job, answers: list[str | None], result: StageResult, exclude: list) -> list[dict]:
        out = []
        for raw in answers:
            if raw is None:
                continue
            text = normalize_features(raw)
            if text:
                out.append({"asin": job.unit["asin"], "features": text, "raw": raw})
            else:
                result.fail("empty output")
                exclude.append(job.key)
        return out

    def store(self, units: list[dict], rows: list[dict], result: StageResult) -> None:
        self.commit(result, q.write_features, q.release_features, "asin", units, rows)


class IntentionStage(Stage):
    name = "intentions"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A claim takes whole pairs (every missing relation of a pair shares its stacked image):
        # ask for about batch_size / relations pairs per batch.
        self.pairs_per_batch = max(1, self.opt.batch_size // max(1, len(self.opt.relations)))

    def count(self, result: StageResult) -> int:
        rels = self.opt.relations
        for reason, n in self.db.read(q.count_pairs_not_ready, self.opt.text_only).items():
            result.skip(reason, n * len(rels))
        return self.db.read(q.count_intention_work, self.model, self.opt.prompt_version, rels, self.opt.text_only)

    def claim(self, exclude: list, want: int, span: Span) -> tuple[int, list[dict]]:
        return self.db.write(q.claim_pair_batch, self.opt.owner, self.model, self.opt.prompt_version,
                             self.opt.relations, self.opt.text_only, exclude,
                             max(1, min(self.pairs_per_batch, want)), self.opt.lease_ms, span.after, span.upto)

    def spans(self, size: int, limit: int | None) -> list[Span]:
        return _spans(self.db.read(q.pair_work_spans, self.model, self.opt.prompt_version, self.opt.relations,
                                   self.opt.text_only, size, limit))

    def jobs(self, units: list[dict]) -> list[Job]:
        out = []
        for u in units:
            templates = [BY_NAME[rel].template for rel in u["missing"]]
            prompts = [intention_prompt(u["titleA"] or u["asinA"], u["featuresA"], u["titleB"] or u["asinB"],
                                        u["featuresB"], template) for template in templates]
            out.append(Job(u, _pair_key(u), prompts, (u["imageA"], u["imageB"]), list(zip(u["missing"], templates))))
        return out

    def take(self, job: Job) -> Job:
        """A pair may hold more missing relations than the budget left: ask only for the first ones."""
        if self.budget is None:
            return job
        n = min(len(job.prompts), max(0, self.budget))
        self.budget -= n
        return replace(job, prompts=job.prompts[:n], meta=job.meta[:n])

    def used(self, units: list[dict], jobs: list[Job]) -> int:
        return sum(len(job.prompts) for job in jobs)

    def unreadable(self, job: Job, result: StageResult, exclude: list) -> None:
        result.skip("image unreadable", len(job.unit["missing"]))
        exclude.append(job.key)

    def rows(self, job: Job, answers: list[str | None], result: StageResult, exclude: list) -> list[dict]:
        u, prov, out = job.unit, self.provenance(), []
        for (rel, template), raw in zip(job.meta, answers):
            if raw is None:
                continue
            answer = normalize_intention(raw, template)
            if not answer.text.strip() or answer.text.strip() == template:
                result.fail("empty output")
                exclude.append(job.key)
                continue
            out.append({
                "id": intention_id(u["asinA"], u["asinB"], rel, self.model, prov["promptVersion"]),
                "asinA": u["asinA"], "asinB": u["asinB"], "relation": rel,
                "props": {"text": answer.text, "rawText": raw, "status": "GENERATED", "source": "mind",
                          "model": self.model, "promptVersion": prov["promptVersion"],
                          "seed": prov["seed"], "decoding": prov["decoding"], "pairImages": prov["pairImages"]},
            })
            if self.noise:
                out[-1]["props"]["noise"] = True
        return out

    def store(self, units: list[dict], rows: list[dict], result: StageResult) -> None:
        pairs = [{"a": u["asinA"], "b": u["asinB"]} for u in units]
        written = self.db.write(q.write_intention_batch, rows, pairs, self.opt.owner)
        result.done += written
        if written < len(rows):
            result.skip("lease lost to another worker", len(rows) - written)


class FilterStage(Stage):
    name = "filter"

    def count(self, result: StageResult) -> int:
        return self.db.read(q.count_filter_work, self.opt.relations)

    def claim(self, exclude: list, want: int, span: Span) -> tuple[int, list[dict]]:
        return self.db.write(q.claim_filter_batch, self.opt.owner, self.opt.relations, exclude, want,
                             self.opt.lease_ms, span.after, span.upto)

    def spans(self, size: int, limit: int | None) -> list[Span]:
        return _spans(self.db.read(q.filter_work_spans, self.opt.relations, size, limit))

    def jobs(self, units: list[dict]) -> list[Job]:
        out = []
        for u in units:
            template = BY_NAME[u["relation"]].template if u["relation"] in BY_NAME else ""
            prompt = filter_prompt(u["titleA"] or u["asinA"], u["featuresA"] or "", u["titleB"] or u["asinB"],
                                   u["featuresB"] or "", template, u["text"] or "")
            out.append(Job(u, u["id"], [prompt], (u["imageA"], u["imageB"])))
        return out

    def rows(self, job: Job, answers: list[str | None], result: StageResult, exclude: list) -> list[dict]:
        out = []
        for raw in answers:
            if raw is not None:
                verdict = parse_verdict(raw)
                out.append({"id": job.unit["id"], "status": verdict.status, "rationale": verdict.rationale,
                            "raw": raw})
        return out

    def store(self, units: list[dict], rows: list[dict], result: StageResult) -> None:
        self.commit(result, q.write_verdicts, q.release_filter, "id", units, rows)


STAGE_CLASSES: dict[str, type[Stage]] = {"features": FeatureStage, "intentions": IntentionStage,
                                         "filter": FilterStage}


def run_stage(driver, database: str, backend, options, name: str) -> StageResult:
    """Run one stage by name (features | intentions | filter)."""
    return STAGE_CLASSES[name](driver, database, backend, options).run()
