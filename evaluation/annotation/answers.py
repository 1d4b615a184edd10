"""One annotator's answers on one intention (`Vote`), a row that does not load (`Reject`), and the
parsing of yes/no answers and times both file formats share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})


@dataclass(frozen=True)
class Vote:
    intention_id: str
    annotator: str
    answers: dict[str, bool | None]
    created_at: datetime | None
    status_shown: str | None
    source: str          # labelstudio | csv
    source_file: str
    ref: str             # where in the file: "task 12, annotation 1001" / "row 5"
    line: int
    raw: str = field(repr=False)


@dataclass(frozen=True)
class Reject:
    """A row that does not load: kind `bad` (quarantined) or a skip: `cancelled`, `unannotated`, `blank`."""

    line: int
    reason: str
    raw: str | None = field(default=None, repr=False)
    kind: str = "bad"


def parse_answer(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in YES:
            return True
        if key in NO:
            return False
    shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:37] + "...")
    raise ValueError(f"expected yes or no, got {shown}")


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (Label Studio writes `2021-03-09T22:16:08.728353Z`); naive means UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(f"expected an ISO 8601 time, got {str(value)[:40]!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"expected an ISO 8601 time, got {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def annotation_id(intention_id: str, annotator: str) -> str:
    return "ann_" + hashlib.sha256(f"{intention_id}\x1f{annotator}".encode()).hexdigest()[:32]
