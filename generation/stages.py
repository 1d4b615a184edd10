"""The three stages of the MIND pipeline, each a `Stage` over its own kind of work unit.

- features: one unit per product (image + title -> a description);
- intentions: one unit per (co-buy pair, relation), claimed a whole pair at a time so the pair's
  stacked image is made once for all its missing relations;
- filter: one unit per GENERATED intention (the role-aware yes/no with a reason).
"""

from __future__ import annotations

from generation.backends import Request
from generation.images import ImageError, stack_vertical
from generation.prompts import features_prompt, filter_prompt, intention_prompt
from generation.stage import Stage, StageResult
from graph import generation as q
from mindkb.ids import intention_id
from mindkb.normalize import normalize_features, normalize_intention, parse_verdict
from mindkb.relations import BY_NAME

STAGES = ("features", "intentions", "filter")


def _pair_key(unit: dict) -> str:
    return f"{unit['asinA']}|{unit['asinB']}"


class FeatureStage(Stage):
    name = "features"

    def count(self, result: StageResult) -> int:
        pv, overwrite = self.opt.prompt_version, self.opt.overwrite_features
        if not self.opt.text_only:
            for reason, n in self.db.read(q.count_products_without_image, self.model, pv, overwrite).items():
                result.skip(reason, n)
        return self.db.read(q.count_feature_work, self.model, pv, self.opt.text_only, overwrite)

    def claim(self, exclude: list, want: int) -> tuple[int, list[dict]]:
        return self.db.write(q.claim_feature_batch, self.opt.owner, self.model, self.opt.prompt_version,
                             self.opt.text_only, exclude, want, self.opt.lease_ms, self.opt.overwrite_features)

    def work(self, units: list[dict], result: StageResult, exclude: list) -> int:
        requests, ready = [], []
        for u in units:
            images = []
            if u["imagePath"]:
                try:
                    images = [self.image(u["imagePath"])]
                except ImageError:
                    if not self.opt.text_only:
                        result.skip("image unreadable")
                        exclude.append(u["asin"])
                        continue
            requests.append(Request(features_prompt(u["title"] or u["asin"], u.get("description")), images))
            ready.append(u)
        rows = []
        answers = self.generate(requests, [u["asin"] for u in ready], result, exclude)
        for u, raw in zip(ready, answers):
            text = normalize_features(raw)
            if text:
                rows.append({"asin": u["asin"], "features": text, "raw": raw})
            else:
                result.fail("empty output")
                exclude.append(u["asin"])
        self.commit(result, q.write_features, q.release_features, "asin", units, rows)
        return len(units)


class IntentionStage(Stage):
    name = "intentions"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.budget = self.opt.limit  # units still allowed; a pair may hold more than one batch needs
        # A claim takes whole pairs (every missing relation of a pair shares its stacked image):
        # ask for about batch_size / relations pairs per batch.
        self.pairs_per_batch = max(1, self.opt.batch_size // max(1, len(self.opt.relations)))

    def count(self, result: StageResult) -> int:
        rels = self.opt.relations
        for reason, n in self.db.read(q.count_pairs_not_ready, self.opt.text_only).items():
            result.skip(reason, n * len(rels))
        return self.db.read(q.count_intention_work, self.model, self.opt.prompt_version, rels, self.opt.text_only)

    def claim(self, exclude: list, want: int) -> tuple[int, list[dict]]:
        return self.db.write(q.claim_pair_batch, self.opt.owner, self.model, self.opt.prompt_version,
                             self.opt.relations, self.opt.text_only, exclude,
                             max(1, min(self.pairs_per_batch, want)), self.opt.lease_ms)

    def work(self, units: list[dict], result: StageResult, exclude: list) -> int:
        requests, meta = [], []
        for u in units:
            try:
                images = [stack_vertical(self.image(u["imageA"]), self.image(u["imageB"]))]
            except ImageError:
                if not self.opt.text_only:
                    result.skip("image unreadable", len(u["missing"]))
                    exclude.append(_pair_key(u))
                    continue
                images = []
            missing = u["missing"]
            if self.budget is not None:
                missing = missing[: max(0, self.budget)]
                self.budget -= len(missing)
            for rel in missing:
                template = BY_NAME[rel].template
                requests.append(Request(intention_prompt(u["titleA"] or u["asinA"], u["featuresA"],
                                                         u["titleB"] or u["asinB"], u["featuresB"], template),
                                        images))
                meta.append((u, rel, template))
        answers = self.generate(requests, [_pair_key(u) for u, _, _ in meta], result, exclude)
        prov = self.provenance()
        rows = []
        for (u, rel, template), raw in zip(meta, answers):
            answer = normalize_intention(raw, template)
            if not answer.text.strip() or answer.text.strip() == template:
                result.fail("empty output")
                exclude.append(_pair_key(u))
                continue
            rows.append({
                "id": intention_id(u["asinA"], u["asinB"], rel, self.model, prov["promptVersion"]),
                "asinA": u["asinA"], "asinB": u["asinB"], "relation": rel,
                "props": {"text": answer.text, "rawText": raw, "status": "GENERATED", "source": "mind",
                          "model": self.model, "promptVersion": prov["promptVersion"],
                          "seed": prov["seed"], "decoding": prov["decoding"]},
            })
        pairs = [{"a": u["asinA"], "b": u["asinB"]} for u in units]
        written = self.db.write(q.write_intention_batch, rows, pairs, self.opt.owner)
        result.done += written
        if written < len(rows):
            result.skip("lease lost to another worker", len(rows) - written)
        return len(requests)


class FilterStage(Stage):
    name = "filter"

    def count(self, result: StageResult) -> int:
        return self.db.read(q.count_filter_work, self.opt.relations)

    def claim(self, exclude: list, want: int) -> tuple[int, list[dict]]:
        return self.db.write(q.claim_filter_batch, self.opt.owner, self.opt.relations, exclude, want,
                             self.opt.lease_ms)

    def work(self, units: list[dict], result: StageResult, exclude: list) -> int:
        requests, ready = [], []
        for u in units:
            try:
                images = [stack_vertical(self.image(u["imageA"]), self.image(u["imageB"]))]
            except ImageError:
                if not self.opt.text_only:
                    result.skip("image unreadable")
                    exclude.append(u["id"])
                    continue
                images = []
            template = BY_NAME[u["relation"]].template if u["relation"] in BY_NAME else ""
            requests.append(Request(filter_prompt(u["titleA"] or u["asinA"], u["featuresA"] or "",
                                                  u["titleB"] or u["asinB"], u["featuresB"] or "",
                                                  template, u["text"] or ""), images))
            ready.append(u)
        answers = self.generate(requests, [u["id"] for u in ready], result, exclude)
        rows = []
        for u, raw in zip(ready, answers):
            verdict = parse_verdict(raw)
            rows.append({"id": u["id"], "status": verdict.status, "rationale": verdict.rationale, "raw": raw})
        self.commit(result, q.write_verdicts, q.release_filter, "id", units, rows)
        return len(units)


STAGE_CLASSES: dict[str, type[Stage]] = {"features": FeatureStage, "intentions": IntentionStage,
                                         "filter": FilterStage}


def run_stage(driver, database: str, backend, options, name: str) -> StageResult:
    """Run one stage by name (features | intentions | filter)."""
    return STAGE_CLASSES[name](driver, database, backend, options).run()
