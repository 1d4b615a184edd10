"""`mind annotate export|import|report`: the human evaluation round trip (the paper's Table 1)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cli.common import JsonOption, check_plot, choice, database, emit_report
from evaluation.annotation import MAX_SAMPLE
from evaluation.annotation import report as table1
from evaluation.annotation.export import check_out
from evaluation.annotation.export import export as run_export
from evaluation.annotation.votes import import_votes, parse_file
from mindkb.output import emit
from mindkb.quarantine import Quarantine, default_path
from mindkb.relations import parse_relations

annotate_app = typer.Typer(
    help="Human evaluation: export a sample for annotators, import their votes, report Table 1.",
    no_args_is_help=True,
)


@annotate_app.command("export")
def export(
    sample: int = typer.Option(..., "--sample", min=1, max=MAX_SAMPLE,
                               help="Intentions per relation (--per-relation) or in total."),
    per_relation: bool = typer.Option(False, "--per-relation", help="N per relation instead of N in total."),
    seed: int = typer.Option(0, "--seed", help="The same seed and graph give the same sample."),
    out: Path = typer.Option(..., "--out", help="Folder for tasks.json, label_config.xml and tasks.csv."),
    relations: str | None = typer.Option(None, "--relations", help="Comma-separated relations (default: all 20)."),
    allocation: str = typer.Option("balanced", "--allocation", click_type=choice("balanced", "proportional"),
                                   help="Within a relation: balanced (half accepted, half rejected) or "
                                        "proportional."),
    document_root: Path | None = typer.Option(
        None, "--document-root",
        help="Label Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT: local images become "
             "/data/local-files/?d=<path below it> (default: that variable, else /)."),
    as_json: bool = JsonOption,
) -> None:
    """A stratified, seeded sample of filtered intentions (accepted and rejected) to annotate."""
    chosen = parse_relations(relations)
    check_out(out)
    root = document_root or Path(os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT") or "/")
    with database() as (settings, driver):
        summary = run_export(driver, settings.neo4j_database, out, sample, per_relation, seed, chosen,
                             allocation, root)
    emit(summary, as_json)


@annotate_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="Label Studio JSON export (.json) or the filled-in CSV (.csv)."),
    fmt: str = typer.Option("auto", "--format", click_type=choice("auto", "labelstudio", "csv"),
                             help="The file's layout (auto: by extension)."),
    quarantine: Path | None = typer.Option(
        None, "--quarantine", help="Quarantine JSON-lines file (default: data_dir/quarantine/annotate-<time>.jsonl)."),
    as_json: bool = JsonOption,
) -> None:
    """Store each annotator's votes as (:Annotation)-[:ANNOTATES]->(:Intention); re-imports create nothing."""
    parsed = parse_file(file, fmt)  # a missing, oversized or broken file fails before connecting
    with database() as (settings, driver), Quarantine(quarantine or default_path(settings, "annotate")) as q:
        summary = import_votes(driver, settings.neo4j_database, file, parsed, q)
    emit(summary, as_json)


@annotate_app.command("report")
def report(
    plot: Path | None = typer.Option(
        None, "--plot", help="Also draw plausible/typical per relation, this KB vs the paper, to this PNG."),
    as_json: bool = JsonOption,
) -> None:
    """Majority-vote rates, pairwise agreement and Fleiss' kappa per relation, beside the paper's."""
    check_plot(plot)
    with database() as (settings, driver):
        result = table1.collect(driver, settings.neo4j_database)
    emit_report(result, table1.table, table1.plot, plot, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(annotate_app, name="annotate")
