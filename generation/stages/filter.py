"""filter: one unit per GENERATED intention; the role-aware yes/no with a reason becomes its status
(ACCEPTED, REJECTED or UNDECIDED) and rationale."""

from __future__ import annotations

from generation.prompts import filter_prompt
from generation.stage import Job, Stage, StageResult, StageSpec
from graph import generation as q
from mindkb.normalize import parse_verdict
from mindkb.relations import BY_NAME


class FilterStage(Stage):
    spec = StageSpec(
        name="filter", unit="generated intention", after="intentions", max_new_tokens=96,
        lease=q.FILTER_LEASE, prompt=filter_prompt, parse=parse_verdict,
        count=q.count_filter_work, claim=q.claim_filter_batch, spans=q.filter_work_spans,
        commit=q.commit_verdicts,
    )

    def jobs(self, units: list[dict]) -> list[Job]:
        out = []
        for u in units:
            template = BY_NAME[u["relation"]].template if u["relation"] in BY_NAME else ""
            prompt = self.spec.prompt(u["titleA"] or u["asinA"], u["featuresA"] or "", u["titleB"] or u["asinB"],
                                      u["featuresB"] or "", template, u["text"] or "")
            out.append(Job(u, u["id"], [prompt], (u["imageA"], u["imageB"])))
        return out

    def rows(self, job: Job, answers: list[str | None], result: StageResult, exclude: list) -> list[dict]:
        out = []
        for raw in answers:
            if raw is not None:
                verdict = self.spec.parse(raw)
                out.append({"id": job.unit["id"], "status": verdict.status, "rationale": verdict.rationale,
                            "raw": raw})
        return out


STAGE = FilterStage
