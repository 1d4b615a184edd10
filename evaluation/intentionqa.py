"""`mind eval intentionqa`: read the questions, answer them in one mode, score them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from evaluation.questions import Loaded, read_questions
from evaluation.scoring import Score
from ingest.quarantine import Quarantine
from mindkb.errors import BadInput
from mindkb.output import progress
from mindkb.settings import Settings

MODES = ("embedding", "kb", "llm")


@dataclass
class LlmOptions:
    model: str | None = None
    backend: str = "transformers"
    base_url: str | None = None
    api_key: str | None = None
    device: str = "auto"
    batch_size: int = 8


def evaluate(settings: Settings, task: int, data: Path, mode: str, quarantine: Quarantine,
             limit: int | None = None, exclude: bool = True, llm: LlmOptions | None = None) -> dict:
    if mode not in MODES:
        raise BadInput(f"unknown --mode {mode!r}; use one of {', '.join(MODES)}")
    if limit is not None and limit < 1:
        raise BadInput("--limit must be at least 1")
    started = time.perf_counter()
    loaded = read_questions(data, task, quarantine, limit)
    score = Score()
    extra: dict = {}
    if mode == "llm":
        _run_llm(loaded, score, llm or LlmOptions(), settings)
    else:
        from evaluation.embedding_mode import Encoder
        from mindkb.embedding import load_sentence_model

        encoder = Encoder(load_sentence_model(settings.embedding_model), settings.embed_batch_size)
        if mode == "embedding":
            _run_embedding(loaded, score, encoder)
            extra["embedding_model"] = settings.embedding_model
        else:
            extra = _run_kb(loaded, score, encoder, settings, exclude)
    summary = score.summary(task, mode, loaded.skipped)
    summary.update(extra)
    summary["quarantined"] = loaded.quarantined
    summary["quarantine_file"] = str(quarantine.path) if loaded.quarantined else None
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _run_embedding(loaded: Loaded, score: Score, encoder) -> None:
    from evaluation import embedding_mode

    embedding_mode.warm(encoder, loaded.questions)
    for q in loaded.questions:
        score.add(q, embedding_mode.answer(encoder, q))


def _run_kb(loaded: Loaded, score: Score, encoder, settings: Settings, exclude: bool) -> dict:
    from evaluation import embedding_mode, kb_mode
    from evaluation.exclusion import Exclusions, build_exclusions
    from evaluation.questions import strip_because
    from mindkb.cli.common import database

    config = kb_mode.KbConfig()
    stats = kb_mode.KbStats()
    embedding_mode.warm(encoder, loaded.questions)
    encoder.warm(strip_because(t) for q in loaded.questions if q.task == 1 for t in q.options.values())
    with database(settings) as (settings, driver):
        exclusions = build_exclusions(driver, settings.neo4j_database, loaded.questions) if exclude else Exclusions()
        task1 = bool(loaded.questions) and loaded.questions[0].task == 1
        recommender = kb_mode.Recommender(settings) if loaded.questions and not task1 else None
        pairs = kb_mode.PairIndex(driver, settings.neo4j_database, stats) if task1 else None
        try:
            with progress(total=len(loaded.questions), desc="eval kb", unit="q") as bar:
                for q in loaded.questions:
                    if q.task == 1:
                        answer = kb_mode.task1_answer(driver, settings.neo4j_database, encoder, pairs, q,
                                                      exclusions[q], config, stats)
                    else:
                        answer = recommender.answer(encoder, q, exclusions[q], stats)
                    score.add(q, answer)
                    bar.update(1)
        finally:
            if recommender:
                recommender.close()
    return {"exclude_eval_pairs": exclude, "excluded_facts": exclusions.facts, "excluded_pairs": exclusions.pairs,
            "missing_products": stats.missing_products, "no_knowledge": stats.no_knowledge,
            "kb": {**config.describe(), "kb_pairs": len(pairs.pairs), "exact_scans": stats.exact_scans} if task1 else
            {"weights": {"intention": settings.recommend_weight_intention,
                         "product": settings.recommend_weight_product,
                         "complement": settings.recommend_weight_complement}}}


def _run_llm(loaded: Loaded, score: Score, options: LlmOptions, settings: Settings) -> None:
    from evaluation import llm_mode

    if not options.model:
        raise BadInput("--mode llm needs --model (a local folder, or the served model's name with --backend openai)")
    if options.backend == "transformers":
        lm = llm_mode.CausalLM(options.model, options.device, options.batch_size, settings.eval_llm_max_new_tokens)
    elif options.backend == "openai":
        key = options.api_key or (settings.openai_api_key.get_secret_value() if settings.openai_api_key else None)
        lm = llm_mode.OpenAIChat(options.base_url or settings.openai_base_url, options.model, key,
                                 settings.eval_llm_max_new_tokens)
    else:
        raise BadInput("--backend must be transformers or openai")
    try:
        with progress(total=len(loaded.questions), desc="eval llm", unit="q") as bar:
            chunk = 64
            for start in range(0, len(loaded.questions), chunk):
                questions = loaded.questions[start:start + chunk]
                for q, text in zip(questions, lm.answer([llm_mode.prompt(q) for q in questions])):
                    score.add(q, llm_mode.parse_answer(text, list(q.options)))
                bar.update(len(questions))
    finally:
        lm.close()
