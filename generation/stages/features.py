"""features: one unit per product; its image and title (and the seller's description) become a
description of the product and what it is for."""

from __future__ import annotations

from generation.prompts import features_prompt
from generation.stage import Job, Stage, StageResult, StageSpec
from graph import generation as q
from mindkb.normalize import normalize_features


class FeatureStage(Stage):
    spec = StageSpec(
        name="features", unit="product", after=None, max_new_tokens=384, lease=q.FEATURES_LEASE,
        prompt=features_prompt, parse=normalize_features,
        count=q.count_feature_work, not_ready=q.features_not_ready, claim=q.claim_feature_batch,
        spans=q.feature_work_spans, commit=q.commit_features,
    )

    def jobs(self, units: list[dict]) -> list[Job]:
        return [Job(u, u["asin"], [self.spec.prompt(u["title"] or u["asin"], u.get("description"))],
                    (u["imagePath"],) if u["imagePath"] else ()) for u in units]

    def rows(self, job: Job, answers: list[str | None], result: StageResult, exclude: list) -> list[dict]:
        out = []
        for raw in answers:
            if raw is None:
                continue
            text = self.spec.parse(raw)
            if text:
                out.append({"asin": job.unit["asin"], "features": text, "raw": raw})
            else:
                result.fail("empty output")
                exclude.append(job.key)
        return out


STAGE = FeatureStage
