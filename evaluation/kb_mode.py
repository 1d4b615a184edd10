"""`--mode kb`: answer with the project's knowledge base, each question's own facts withheld.

Task 2 goes through the API's recommendation logic (api.service.recommend) with contextAsin =
item A and candidates = the four options' asins, the query text being "<item A> because
<intention>"; the option whose product ranks first is the answer.

Task 1 ranks the options with the intentions of similar co-buy pairs: the products nearest to
items A and B (product vector index) lead to their accepted intentions; each such pair is weighted
by how alike it is to the question's pair (mean cosine of the two ends, best orientation), the
top `pairs` kept; an option scores the weighted cosine of its text to those intentions, added
with weight `kb_weight` to the zero-shot embedding score.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
from neo4j import Driver

from evaluation.embedding_mode import Encoder, option_scores
from evaluation.exclusion import Exclusion
from evaluation.questions import Question, strip_because
from graph.driver import read
from graph.evaluation import neighbour_pair_intentions, product_vectors


@dataclass(frozen=True)
class KbConfig:
    neighbours: int = 20  # products fetched per question product
    pairs: int = 10  # most similar KB pairs kept
    temperature: float = 0.05  # softmax temperature over pair similarity
    kb_weight: float = 1.0


@dataclass
class KbStats:
    missing_products: int = 0
    no_knowledge: int = 0  # questions for which the KB had no usable fact
    facts_used: int = 0
    vectors: dict = field(default_factory=dict)  # product vectors read so far, by asin


def _cached_vectors(driver: Driver, database: str, asins: list[str], stats: KbStats) -> bool:
    """Product vectors through a per-run cache (KB pairs recur across questions)."""
    missing = [a for a in asins if a not in stats.vectors]
    if missing:
        found = read(driver, database, product_vectors, missing)
        for asin in missing:
            stats.vectors[asin] = np.asarray(found[asin], dtype=np.float32) if asin in found else None
    return all(stats.vectors[a] is not None for a in asins)


def _vectors(driver: Driver, database: str, encoder: Encoder, q: Question, stats: KbStats) -> tuple:
    found = read(driver, database, product_vectors, [q.asin_a, q.asin_b])
    out = []
    for asin, name in ((q.asin_a, q.name_a), (q.asin_b, q.name_b)):
        if asin in found:
            out.append(np.asarray(found[asin], dtype=np.float32))
        else:
            stats.missing_products += 1
            out.append(encoder([name])[0])
    return tuple(out)


def task1_scores(driver: Driver, database: str, encoder: Encoder, q: Question, exclusion: Exclusion,
                 config: KbConfig, stats: KbStats) -> np.ndarray:
    base = option_scores(encoder, q)
    va, vb = _vectors(driver, database, encoder, q, stats)
    rows = [r for r in read(driver, database, neighbour_pair_intentions, [va.tolist(), vb.tolist()],
                            config.neighbours) if r["id"] not in exclusion.intention_ids]
    rows = [r for r in rows if _cached_vectors(driver, database, [r["asinA"], r["asinB"]], stats)]
    if not rows:
        stats.no_knowledge += 1
        return base
    ends_a = np.stack([stats.vectors[r["asinA"]] for r in rows])
    ends_b = np.stack([stats.vectors[r["asinB"]] for r in rows])
    sim = np.maximum((ends_a @ va + ends_b @ vb) / 2, (ends_a @ vb + ends_b @ va) / 2)
    top = np.argsort(-sim, kind="stable")[:config.pairs]
    weights = np.exp((sim[top] - sim[top].max()) / config.temperature)
    weights /= weights.sum()
    facts = np.asarray([rows[i]["embedding"] for i in top], dtype=np.float32)
    options = encoder([strip_because(t) for t in q.options.values()])
    stats.facts_used += len(top)
    return base + config.kb_weight * ((options @ facts.T) @ weights)


def task1_answer(driver: Driver, database: str, encoder: Encoder, q: Question, exclusion: Exclusion,
                 config: KbConfig, stats: KbStats) -> str:
    scores = task1_scores(driver, database, encoder, q, exclusion, config, stats)
    return list(q.options)[int(np.argmax(scores))]


def task2_text(q: Question) -> str:
    return f"{q.name_a} because {q.intention}"


class Recommender:
    """The API's recommend() on its async driver, called from this synchronous loop."""

    def __init__(self, settings):
        from graph.aio import AsyncGraph, make_async_driver

        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.driver = make_async_driver(settings)
        self.graph = AsyncGraph(self.driver, settings.neo4j_database)

    def answer(self, encoder: Encoder, q: Question, exclusion: Exclusion, stats: KbStats) -> str | None:
        from api.service import recommend

        by_asin = {asin: letter for letter, asin in q.option_asins.items() if asin}
        if len(by_asin) < len(q.options):
            stats.missing_products += len(q.options) - len(by_asin)
        embedding = encoder([task2_text(q)])[0].tolist()
        ranked = self.loop.run_until_complete(recommend(
            self.graph, self.settings, embedding, len(by_asin), q.asin_a, sorted(by_asin),
            exclude_intentions=exclusion.intention_ids, exclude_pairs=exclusion.pairs))
        if len(ranked) < len(by_asin):
            stats.missing_products += len(by_asin) - len(ranked)
        return by_asin[ranked[0].product["asin"]] if ranked else None

    def close(self) -> None:
        self.loop.run_until_complete(self.driver.close())
        self.loop.close()
