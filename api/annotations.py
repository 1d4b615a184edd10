"""GraphQL: an intention's human evaluation votes (`annotations`) and their `majority` verdict.

Both fields read through one per-request DataLoader, so the annotations of every intention on a
page cost one database round trip. The majority is the same as `mind annotate report`'s: yes
when more annotators said yes than no, null on a tie or without answers.
"""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from graph.annotations import annotations_for_intentions
from mindkb.annotation import PROPERTY, QUESTIONS
from mindkb.annotation import majority as majority_of

MAX_PER_INTENTION = 100
_LOADER = "_annotation_loader"


@strawberry.type(description="One annotator's answers on one intention (mind annotate import).")
class Annotation:
    id: strawberry.ID
    annotator: str
    plausible: Optional[bool]
    typical: Optional[bool]
    human_centric: Optional[bool]
    filter_correct: Optional[bool] = strawberry.field(description="Was the filter's verdict right?")
    rationale_correct: Optional[bool] = strawberry.field(description="Was the filter's rationale right? (optional)")
    status_shown: Optional[str] = strawberry.field(description="The filter verdict the annotator was shown.")
    source: Optional[str]
    created_at: Optional[str] = strawberry.field(description="When the annotator answered (ISO 8601).")

    @classmethod
    def of(cls, row: dict) -> "Annotation":
        return cls(
            id=row["id"], annotator=row.get("annotator") or "", plausible=row.get("plausible"),
            typical=row.get("typical"), human_centric=row.get("humanCentric"),
            filter_correct=row.get("filterCorrect"), rationale_correct=row.get("rationaleCorrect"),
            status_shown=row.get("statusShown"), source=row.get("source"), created_at=row.get("createdAt"),
        )


@strawberry.type(description="The annotators' majority per question; null on a tie or without answers.")
class MajorityVerdict:
    plausible: Optional[bool]
    typical: Optional[bool]
    human_centric: Optional[bool]
    filter_correct: Optional[bool]
    rationale_correct: Optional[bool]
    votes: int = strawberry.field(description="How many annotators answered.")


def _loader(info: Info) -> DataLoader:
    context = info.context
    loader = getattr(context, _LOADER, None)
    if loader is None:
        graph = context.graph

        async def load(ids: list[str]) -> list[list[dict]]:
            rows = await graph.read(annotations_for_intentions, list(ids), MAX_PER_INTENTION)
            found = {r["id"]: r["annotations"] for r in rows}
            return [found.get(i, []) for i in ids]

        loader = DataLoader(load)
        setattr(context, _LOADER, loader)
    return loader


async def annotations(root, info: Info) -> list[Annotation]:
    """Resolver of Intention.annotations (by annotator)."""
    return [Annotation.of(r) for r in await _loader(info).load(str(root.id))]


async def majority(root, info: Info) -> Optional[MajorityVerdict]:
    """Resolver of Intention.majority; null when nobody annotated the intention."""
    rows = await _loader(info).load(str(root.id))
    if not rows:
        return None
    verdict = {q: majority_of(r.get(PROPERTY[q]) for r in rows) for q in QUESTIONS}
    return MajorityVerdict(votes=len(rows), **verdict)


def annotations_field():
    """Intention.annotations (attached in api/schema.py)."""
    return strawberry.field(resolver=annotations, description="Human evaluation votes on this intention "
                            "(mind annotate import), by annotator.")


def majority_field():
    """Intention.majority (attached in api/schema.py)."""
    return strawberry.field(resolver=majority, description="The annotators' majority verdict per question; "
                            "null when nobody annotated this intention.")
