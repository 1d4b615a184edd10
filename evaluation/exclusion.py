"""What the `kb` mode may not use for a question.

- Facts whose source is the benchmark itself (`intentionqa`, and FolkScope's assertions that
  IntentionQA was built from) on the question's own co-buy pair: they are the answer.
- Any fact whose text is one of the question's options (the benchmark draws task-1 distractors
  from other pairs' intentions, so recognising an option as another pair's known fact would score
  the benchmark's construction); stricter, another pair holding such a fact is withheld whole (all
  its facts, its co-buy record).
- The question's own co-buy record (task 2's complement term would otherwise name the answer).

Facts a model generated for the pair (`mind`, `mind-csv`) stay usable: a knowledge base built by
generation legitimately covers the pairs users ask about. `covered` says whether the own pair has
usable facts (accepted, of the chosen sources, not withheld).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neo4j import Driver

from evaluation.questions import Question, strip_because
from graph.driver import read
from graph.evaluation import intention_ids_for_pairs, intention_ids_for_texts
from mindkb.ids import pair_key

# Sources whose facts are the benchmark's own answers: withheld on a question's own pair.
BENCHMARK_SOURCES = frozenset({"intentionqa", "folkscope"})


@dataclass(frozen=True)
class Exclusion:
    intention_ids: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()  # canonical (pair_key) order; no co-buy, no hubness
    covered: bool = False  # the question's own pair has usable facts


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


def _usable(fact: dict, sources: list[str] | None) -> bool:
    return fact["status"] == "ACCEPTED" and (sources is None or fact["source"] in sources)


def build_exclusions(driver: Driver, database: str, questions: list[Question], exclude: bool = True,
                     sources: list[str] | None = None, batch: int = 500) -> Exclusions:
    """Look up, in a few batched reads, the facts and pairs each question must not see.

    With `exclude` off nothing is withheld; `covered` is computed either way.
    """
    by_text: dict[str, tuple[set[str], set[tuple[str, str]]]] = {}
    if exclude:
        texts = sorted({option_fact_text(t) for q in questions for t in q.options.values()})
        for i in range(0, len(texts), batch):
            for row in read(driver, database, intention_ids_for_texts, texts[i:i + batch]):
                ids, pairs = by_text.setdefault(row["text"], (set(), set()))
                ids.update(row["ids"])
                pairs.update(pair_key(a, b) for a, b in row["pairs"])
    # Per question: the other pairs it must not see (they hold an option's text) and those facts.
    withheld: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for q in questions:
        hits = [by_text[t] for t in {option_fact_text(o) for o in q.options.values()} if t in by_text]
        withheld[_key(q)] = (set().union(*(p for _, p in hits)), set().union(*(ids for ids, _ in hits)))
    own = {pair_key(q.asin_a, q.asin_b) for q in questions}
    every_pair = sorted(own.union(*(pairs for pairs, _ in withheld.values())))
    facts_of: dict[tuple[str, str], list[dict]] = {}
    for i in range(0, len(every_pair), batch):
        for row in read(driver, database, intention_ids_for_pairs, [list(p) for p in every_pair[i:i + batch]]):
            facts_of[pair_key(row["a"], row["b"])] = row["facts"]
    out = Exclusions()
    for q in questions:
        key, mine = _key(q), pair_key(q.asin_a, q.asin_b)
        pairs, ids = withheld[key]
        pairs = pairs - {mine}  # the own pair loses its benchmark facts and option texts, not its generated ones
        ids = ids.union(*({f["id"] for f in facts_of.get(p, [])} for p in pairs))
        if exclude:
            ids |= {f["id"] for f in facts_of.get(mine, []) if f["source"] in BENCHMARK_SOURCES}
            pairs = pairs | {mine}
        covered = any(_usable(f, sources) and f["id"] not in ids for f in facts_of.get(mine, []))
        out.by_question[key] = Exclusion(frozenset(ids), frozenset(pairs), covered)
    return out
