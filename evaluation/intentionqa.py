"""`mind eval intentionqa`: read the questions, answer them in one mode, score them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from embedding.encoder import TextEncoder
from embedding.models import embedding_dimensions
from evaluation import embedding_mode, kb_mode, llm_mode
from evaluation.exclusion import build_exclusions
from evaluation.questions import Loaded, read_questions, strip_because
from evaluation.scoring import Score, Tally
from graph.database import open_database
from mindkb.errors import BadOption
from mindkb.output import progress
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings

MODES = ("embedding", "kb", "llm")
# Every question and option text of a run is encoded once: the dev files hold ~15k distinct texts.
EVAL_ENCODER_CACHE = 1_000_000


@dataclass
class LlmOptions:
    model: str | None = None
    backend: str = "transformers"
    base_url: str | None = None
    api_key: str | None = None
    device: str = "auto"
    batch_size: int = 8


def evaluate(settings: Settings, task: int, data: Path, mode: str, quarantine: Quarantine,
             limit: int | None = None, exclude: bool = True, llm: LlmOptions | None = None,
             sources: list[str] | None = None) -> dict:
    if mode not in MODES:
        raise BadOption(f"unknown {{mode}} {mode!r}; use one of {', '.join(MODES)}")
    if limit is not None and limit < 1:
        raise BadOption("{limit} must be at least 1")
    if sources is not None and mode != "kb":
        raise BadOption("{sources} applies to {mode} kb only")
    started = time.perf_counter()
    loaded = read_questions(data, task, quarantine, limit)
    score = Score()
    extra: dict = {}
    if mode == "llm":
        _run_llm(loaded, score, llm or LlmOptions(), settings)
    else:
        encoder = TextEncoder.load(settings.embedding_model, batch_size=settings.embed_batch_size,
                                   cache=EVAL_ENCODER_CACHE, backend=settings.embedding_backend,
                                   cache_dir=settings.cache_dir)
        if mode == "embedding":
            _run_embedding(loaded, score, encoder)
            extra["embedding_model"] = settings.embedding_model
        else:
            extra = _run_kb(loaded, score, encoder, settings, exclude, sources)
    summary = score.summary(task, mode, loaded.skipped)
    summary.update(extra)
    summary["quarantined"] = loaded.quarantined
    summary["quarantine_file"] = str(quarantine.path) if loaded.quarantined else None
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _run_embedding(loaded: Loaded, score: Score, encoder: TextEncoder) -> None:
    embedding_mode.warm(encoder, loaded.questions)
    for q in loaded.questions:
        score.add(q, embedding_mode.answer(encoder, q))


def _accuracy(tally: Tally) -> float | None:
    return round(tally.correct / tally.n, 4) if tally.n else None


def _run_kb(loaded: Loaded, score: Score, encoder: TextEncoder, settings: Settings, exclude: bool,
            sources: list[str] | None) -> dict:
    """kb answers, and in the same run the embedding mode's answers to the same questions (all, and
    those whose own pair has usable facts: `covered`)."""
    config = kb_mode.KbConfig()
    stats = kb_mode.KbStats()
    embedding_mode.warm(encoder, loaded.questions)
    encoder.encode(strip_because(t) for q in loaded.questions if q.task == 1 for t in q.options.values())
    baseline, covered, covered_baseline = Tally(), Tally(), Tally()
    with open_database(settings, embedding_dimensions(settings.embedding_model, settings.cache_dir)) as driver:
        exclusions = build_exclusions(driver, settings.neo4j_database, loaded.questions, exclude, sources)
        task1 = bool(loaded.questions) and loaded.questions[0].task == 1
        recommender = kb_mode.Recommender(settings, sources) if loaded.questions and not task1 else None
        pairs = kb_mode.PairIndex(driver, settings.neo4j_database, stats, sources) if task1 else None
        try:
            with progress(total=len(loaded.questions), desc="eval kb", unit="q") as bar:
                for q in loaded.questions:
                    ex = exclusions[q]
                    if q.task == 1:
                        assert pairs is not None  # task1: the questions share the first one's task
                        answer = kb_mode.task1_answer(driver, settings.neo4j_database, encoder, pairs, q, ex,
                                                      config, stats, sources)
                    else:
                        assert recommender is not None  # made whenever the questions are task 2
                        answer = recommender.answer(encoder, q, ex, stats)
                    score.add(q, answer)
                    plain = embedding_mode.answer(encoder, q) == q.gold
                    baseline.add(plain)
                    if ex.covered:
                        covered.add(answer == q.gold)
                        covered_baseline.add(plain)
                    bar.update(1)
        finally:
            if recommender:
                recommender.close()
    return {"exclude_eval_pairs": exclude, "sources": sources,
            "excluded_facts": exclusions.facts, "excluded_pairs": exclusions.pairs,
            "missing_products": stats.missing_products, "no_knowledge": stats.no_knowledge,
            "embedding_accuracy": _accuracy(baseline),
            "covered": covered.n, "accuracy_covered": _accuracy(covered),
            "embedding_accuracy_covered": _accuracy(covered_baseline),
            "kb": {**config.describe(), "kb_pairs": len(pairs.pairs), "exact_scans": stats.exact_scans} if pairs is not None else
            {"weights": {"intention": settings.recommend_weight_intention,
                         "product": settings.recommend_weight_product,
                         "complement": settings.recommend_weight_complement}}}


def _run_llm(loaded: Loaded, score: Score, options: LlmOptions, settings: Settings) -> None:
    if not options.model:
        raise BadOption("{mode} llm needs {model} (a local folder, or the served model's name with {backend} openai)")
    lm: llm_mode.CausalLM | llm_mode.OpenAIChat
    if options.backend == "transformers":
        lm = llm_mode.CausalLM(options.model, options.device, options.batch_size, settings.eval_llm_max_new_tokens)
    elif options.backend == "openai":
        key = options.api_key or (settings.openai_api_key.get_secret_value() if settings.openai_api_key else None)
        lm = llm_mode.OpenAIChat(options.base_url or settings.openai_base_url, options.model, key,
                                 settings.eval_llm_max_new_tokens)
    else:
        raise BadOption("{backend} must be transformers or openai")
    try:
        with progress(total=len(loaded.questions), desc="eval llm", unit="q") as bar:
            chunk = 64
            for start in range(0, len(loaded.questions), chunk):
                questions = loaded.questions[start:start + chunk]
                for q, text in zip(questions, lm.answer([llm_mode.prompt(q) for q in questions]), strict=True):
                    score.add(q, llm_mode.parse_answer(text, list(q.options)))
                bar.update(len(questions))
    finally:
        lm.close()
