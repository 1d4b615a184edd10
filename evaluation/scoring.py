"""Accuracy overall and per relation, with counts of unparsable answers and skipped questions."""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluation.questions import Question


@dataclass
class Tally:
    n: int = 0
    correct: int = 0

    def add(self, ok: bool) -> None:
        self.n += 1
        self.correct += int(ok)

    def as_dict(self) -> dict:
        return {"n": self.n, "correct": self.correct, "accuracy": round(self.correct / self.n, 4) if self.n else None}


@dataclass
class Score:
    """An unparsable answer (None) counts as wrong, as in the benchmark's scorer."""

    total: Tally = field(default_factory=Tally)
    relations: dict[str, Tally] = field(default_factory=dict)
    unparsable: int = 0

    def add(self, question: Question, answer: str | None) -> None:
        ok = answer == question.gold
        if answer is None:
            self.unparsable += 1
        self.total.add(ok)
        self.relations.setdefault(question.relation, Tally()).add(ok)

    def summary(self, task: int, mode: str, skipped: int) -> dict:
        return {
            "task": task, "mode": mode, "n": self.total.n,
            "accuracy": round(self.total.correct / self.total.n, 4) if self.total.n else None,
            "correct": self.total.correct, "skipped": skipped, "unparsable": self.unparsable,
            "relations": {name: t.as_dict() for name, t in sorted(self.relations.items())},
        }
