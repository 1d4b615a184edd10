"""The human evaluation's vocabulary: the questions annotators answer, their graph properties and
the majority rule, shared by the report (evaluation/) and the GraphQL fields (api/)."""

from __future__ import annotations

from collections.abc import Iterable

# The four questions every annotator answers (yes/no), then the optional fifth.
REQUIRED = ("plausible", "typical", "human_centric", "filter_correct")
OPTIONAL = ("rationale_correct",)
QUESTIONS = REQUIRED + OPTIONAL
# Graph property per question.
PROPERTY = {"plausible": "plausible", "typical": "typical", "human_centric": "humanCentric",
            "filter_correct": "filterCorrect", "rationale_correct": "rationaleCorrect"}


def majority(values: Iterable[bool | None]) -> bool | None:
    """Yes when more annotators said yes than no, no when fewer; None on a tie or no answer."""
    given = [v for v in values if v is not None]
    yes = sum(given)
    no = len(given) - yes
    return True if yes > no else False if no > yes else None
