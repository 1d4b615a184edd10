"""`mind stats`, `mind eval intentionqa` and `mind export sft`."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import JsonOption, check_plot, choice, database, emit_report
from evaluation import stats as kb_stats
from evaluation.intentionqa import LlmOptions, evaluate
from evaluation.sft import export
from mindkb.errors import BadInput
from mindkb.output import emit
from mindkb.quarantine import Quarantine, default_path
from mindkb.relations import parse_relations
from mindkb.settings import get_settings
from mindkb.sources import NOISE, parse_sources

eval_app = typer.Typer(help="Evaluate on benchmarks.", no_args_is_help=True)
export_app = typer.Typer(help="Export the knowledge base.", no_args_is_help=True)


@eval_app.command("intentionqa")
def intentionqa(
    task: int = typer.Option(..., "--task", min=1, max=2, help="1 (intention understanding) or 2 (intention utilisation)."),
    data: Path = typer.Option(..., "--data", help="The benchmark's JSON lines (e.g. ../shared/intentionqa/task1.dev.jsonl)."),
    mode: str = typer.Option(..., "--mode", click_type=choice("embedding", "kb", "llm"),
                             help="Answer by embeddings, by the knowledge base, or by a model."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N complete questions."),
    exclude_eval_pairs: bool = typer.Option(
        True, "--exclude-eval-pairs/--no-exclude-eval-pairs",
        help="kb mode: withhold the benchmark's own facts on each question's pair (sources intentionqa, "
             "folkscope), the pair's co-buy record, and any fact whose text is an option."),
    sources: str | None = typer.Option(
        None, "--sources", help="kb mode: use only facts of these sources, comma-separated (e.g. mind-csv)."),
    model: str | None = typer.Option(None, "--model", help="llm mode: a local model folder (or the served model's name)."),
    backend: str = typer.Option("transformers", "--backend", click_type=choice("transformers", "openai"),
                                help="llm mode: where the model runs."),
    base_url: str | None = typer.Option(None, "--base-url", help="llm mode, openai backend: e.g. http://localhost:8000/v1"),
    api_key: str | None = typer.Option(None, "--api-key", help="Bearer key for --base-url (MIND_OPENAI_API_KEY)."),
    device: str = typer.Option("auto", "--device", help="llm mode, transformers: auto | cpu | cuda[:N]"),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=512, help="llm mode, transformers: prompts per batch."),
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Where malformed question lines go."),
    as_json: bool = JsonOption,
) -> None:
    """Score IntentionQA task 1 or 2: accuracy overall and per relation (questions with < 4 options skipped)."""
    if task not in (1, 2):
        raise BadInput("--task must be 1 or 2")
    settings = get_settings()
    q = Quarantine(quarantine or default_path(settings, f"eval-task{task}"))
    try:
        summary = evaluate(settings, task, data, mode, q, limit, exclude_eval_pairs,
                           LlmOptions(model, backend, base_url, api_key, device, batch_size),
                           _sources(sources))
    finally:
        q.close()
    emit(summary, as_json)


def _sources(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        return parse_sources(text.split(","))
    except ValueError as exc:
        raise BadInput(f"--{exc}") from None


SourcesOption = typer.Option(
    None, "--sources", help=f"Only intentions of these sources, comma-separated (e.g. mind-csv); by default every "
                            f"source but {NOISE} (the output of a model with random weights).")


def stats(
    plot: Path | None = typer.Option(None, "--plot", help="Also draw preserve rate per relation to this PNG."),
    sources: str | None = SourcesOption,
    as_json: bool = JsonOption,
) -> None:
    """Counts per relation and status, filter preserve rates (the paper's Table 1 and Figure 5)."""
    check_plot(plot)
    chosen = _sources(sources)
    with database() as (settings, driver):
        result = kb_stats.collect(driver, settings.neo4j_database, chosen)
    emit_report(result, kb_stats.table, kb_stats.plot, plot, as_json)


@export_app.command("sft")
def sft(
    out: Path = typer.Option(..., "--out", help="The train JSON-lines file (the holdout goes beside it)."),
    relations: str | None = typer.Option(None, "--relations", help="Comma-separated relations (default: all 20)."),
    max_per_pair: int | None = typer.Option(None, "--max-per-pair", min=1, help="At most N intentions per co-buy pair."),
    holdout_fraction: float = typer.Option(0.0, "--holdout-fraction", min=0.0, max=0.99,
                                           help="Share of co-buy pairs written to FILE.holdout.jsonl instead."),
    seed: int = typer.Option(0, "--seed", help="Changes which pairs are held out."),
    as_json: bool = JsonOption,
) -> None:
    """Accepted intentions as instruction-tuning records, deterministic, split by co-buy pair."""
    chosen = parse_relations(relations)
    with database() as (settings, driver):
        summary = export(driver, settings.neo4j_database, out, chosen, max_per_pair, holdout_fraction, seed,
                         settings.export_max_records)
    emit(summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
    app.add_typer(eval_app, name="eval")
    app.add_typer(export_app, name="export")
