"""intentions: one unit per (co-buy pair, relation). A claim takes whole pairs, so a pair's stacked
image is made once for all its missing relations; the answer, cleaned, becomes a GENERATED intention."""

from __future__ import annotations

from dataclasses import replace

from generation.prompts import intention_prompt
from generation.stage import Job, Stage, StageResult, StageSpec
from graph import generation as q
from mindkb.ids import intention_id
from mindkb.normalize import normalize_intention
from mindkb.relations import BY_NAME


class IntentionStage(Stage):
    spec = StageSpec(
        name="intentions", unit="co-buy pair and relation", after="features", max_new_tokens=200,
        lease=q.PAIR_LEASE, prompt=intention_prompt, parse=normalize_intention,
        count=q.count_intention_work, not_ready=q.pairs_not_ready, claim=q.claim_pair_batch,
        spans=q.pair_work_spans, commit=q.commit_intentions,
    )

    def claim_size(self, want: int) -> int:
        """Pairs to claim: about batch_size / relations pairs per batch, at most `want`."""
        per_batch = max(1, self.opt.batch_size // max(1, len(self.opt.relations)))
        return max(1, min(per_batch, want))

    def jobs(self, units: list[dict]) -> list[Job]:
        out = []
        for u in units:
            templates = [BY_NAME[rel].template for rel in u["missing"]]
            prompts = [self.spec.prompt(u["titleA"] or u["asinA"], u["featuresA"], u["titleB"] or u["asinB"],
                                        u["featuresB"], template) for template in templates]
            out.append(Job(u, f"{u['asinA']}|{u['asinB']}", prompts, (u["imageA"], u["imageB"]),
                           list(zip(u["missing"], templates, strict=True))))
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
        for (rel, template), raw in zip(job.meta, answers, strict=False):
            if raw is None:
                continue
            answer = self.spec.parse(raw, template)
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


STAGE = IntentionStage
