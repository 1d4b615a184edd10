"""What the `kb` mode may not use for a question: its own co-buy pair, and any fact whose text is
one of its options (the benchmark draws task-1 distractors from other pairs' intentions, so
recognising an option as another pair's known fact would score the benchmark's construction).
Stricter than that: a pair holding such a fact is withheld whole (all its facts, its co-buy
record), so not even a distractor's sibling facts or its pair's products can give it away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neo4j import Driver

from evaluation.questions import Question, strip_because
from graph.driver import read
from graph.evaluation import intention_ids_for_pairs, intention_ids_for_texts
from mindkb.ids import pair_key


@dataclass(frozen=True)
class Exclusion:
    intention_ids: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()  # canonical (pair_key) order


@dataclass
class Exclusions:
    by_question: dict[str, Exclusion] = field(default_factory=dict)

    def __getitem__(self, q: Question) -> Exclusion:
        return self.by_question.get(_key(q), Exclusion())

    @property
    def facts(self) -> int:
        """Distinct KB facts withheld from at least one question."""
        return len(set().union(*(e.intention_ids for e in self.by_question.values())))

    @property
    def pairs(self) -> int:
        return len(set().union(*(e.pairs for e in self.by_question.values())))


def _key(q: Question) -> str:
    return f"{q.task}\x1f{q.id}\x1f{q.asin_a}\x1f{q.asin_b}\x1f{q.intention}"


def option_fact_text(text: str) -> str:
    return strip_because(text).lower().strip()


def build_exclusions(driver: Driver, database: str, questions: list[Question], batch: int = 500) -> Exclusions:
    """Look up, in a few batched reads, the facts and pairs each question must not see."""
    texts = sorted({option_fact_text(t) for q in questions for t in q.options.values()})
    by_text: dict[str, tuple[set[str], set[tuple[str, str]]]] = {}
    for i in range(0, len(texts), batch):
        for row in read(driver, database, intention_ids_for_texts, texts[i:i + batch]):
            ids, pairs = by_text.setdefault(row["text"], (set(), set()))
            ids.update(row["ids"])
            pairs.update(pair_key(a, b) for a, b in row["pairs"])
    # Per question: the pairs it must not see, and the ids of facts that are its options' texts.
    withheld: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for q in questions:
        hits = [by_text[t] for t in {option_fact_text(o) for o in q.options.values()} if t in by_text]
        withheld[_key(q)] = ({pair_key(q.asin_a, q.asin_b)}.union(*(p for _, p in hits)),
                             set().union(*(ids for ids, _ in hits)))
    every_pair = sorted(set().union(*(pairs for pairs, _ in withheld.values())))
    by_pair: dict[tuple[str, str], set[str]] = {}
    for i in range(0, len(every_pair), batch):
        for row in read(driver, database, intention_ids_for_pairs, [list(p) for p in every_pair[i:i + batch]]):
            by_pair[pair_key(row["a"], row["b"])] = set(row["ids"])
    out = Exclusions()
    for key, (pairs, text_ids) in withheld.items():
        ids = text_ids.union(*(by_pair.get(p, set()) for p in pairs))
        out.by_question[key] = Exclusion(frozenset(ids), frozenset(pairs))
    return out
