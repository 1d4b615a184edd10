"""`mind ingest catalog|pairs`, `mind import intentions` and `mind import release`."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import JsonOption, choice, database
from embedding.models import embedding_dimensions
from ingest.batches import check_quarantine_share
from ingest.catalog import CatalogOptions, check_options, ingest_catalog
from ingest.intentions import FORMATS, ImportOptions, import_intentions, open_intentions
from ingest.pairs import ingest_pairs, open_pair_tables
from ingest.release import RELEASES, fetch_release, fetch_summary, get_release, import_release
from mindkb.errors import BadInput
from mindkb.output import emit, note
from mindkb.quarantine import Quarantine, default_path
from mindkb.settings import Settings, get_settings

ingest_app = typer.Typer(help="Load product catalogues and co-buy pairs into the graph (--bulk fills an "
                                "empty local database with neo4j-admin's offline importer).", no_args_is_help=True)
import_app = typer.Typer(
    help="Import existing intention knowledge bases. With --bulk, an empty local database is filled by "
         "neo4j-admin's offline importer from the same parsed records, then indexed once (much faster for "
         "large files).", no_args_is_help=True)

BulkOption = typer.Option(
    False, "--bulk", help="Fill an empty local database with neo4j-admin's offline importer (stops and restarts "
                          "the `mind db start` server); refused for a non-empty or remote database.")
QuarantineOption = typer.Option(
    None, "--quarantine", help="Quarantine JSON-lines file (default: data_dir/quarantine/<command>-<time>.jsonl)."
)


def _quarantine(path: Path | None, command: str) -> Quarantine:
    return Quarantine(path or default_path(get_settings(), command))


def _dimensions(settings: Settings) -> int:
    """The embedding model's vector size, which a bulk import builds its vector indexes for."""
    return embedding_dimensions(settings.embedding_model, settings.cache_dir)


@ingest_app.command("catalog")
def catalog(
    paths: list[Path] = typer.Argument(..., help="Amazon Review Data 2018 metadata: JSON lines, plain or .gz."),
    images_dir: Path | None = typer.Option(None, "--images-dir", help="Folder of ASIN.jpg|.png|.webp or ASIN/ folders."),
    download_images: bool = typer.Option(False, "--download-images", help="Fetch imageURLHighRes, then imageURL, into the cache."),
    domain: str | None = typer.Option(None, "--domain", help="Keep only records whose main_cat or category matches."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Stop after N valid records."),
    require_image: bool = typer.Option(False, "--require-image", help="Quarantine products without a usable image."),
    bulk: bool = BulkOption,
    quarantine: Path | None = QuarantineOption,
    as_json: bool = JsonOption,
) -> None:
    """Products (merged by asin) and CO_BUY edges from their also_buy links."""
    options = CatalogOptions(images_dir, download_images, domain, limit, require_image)
    check_options(paths, options)  # bad files fail before connecting
    settings = get_settings()
    if bulk:
        with _quarantine(quarantine, "catalog") as q:
            from ingest.bulkload import bulk_ingest_catalog  # numpy and pyarrow: the full install only

            summary = bulk_ingest_catalog(settings, paths, options, q,
                                          _dimensions(settings))
    else:
        with database() as (settings, driver), _quarantine(quarantine, "catalog") as q:
            summary = ingest_catalog(driver, settings, paths, options, q)
    emit(summary, as_json)
    check_quarantine_share(summary["read"], q, settings.ingest_max_quarantine_share)


@ingest_app.command("pairs")
def pairs(
    paths: list[Path] = typer.Argument(..., help="CSV or JSON lines with item_a_id, item_b_id[, item_a_name, item_b_name]."),
    bulk: bool = BulkOption,
    quarantine: Path | None = QuarantineOption,
    as_json: bool = JsonOption,
) -> None:
    """Co-buy pairs (FolkScope / IntentionQA format); unknown products get minimal nodes."""
    settings = get_settings()
    open_pair_tables(paths, settings)  # bad files fail before connecting
    if bulk:
        with _quarantine(quarantine, "pairs") as q:
            from ingest.bulkload import bulk_ingest_pairs  # numpy and pyarrow: the full install only

            summary = bulk_ingest_pairs(settings, paths, q, _dimensions(settings))
    else:
        with database() as (settings, driver), _quarantine(quarantine, "pairs") as q:
            summary = ingest_pairs(driver, settings, paths, q)
    emit(summary, as_json)
    check_quarantine_share(summary["read"], q, settings.ingest_max_quarantine_share)


@import_app.command("intentions")
def intentions(
    path: Path = typer.Argument(..., help="The file to import."),
    fmt: str = typer.Option(..., "--format", click_type=choice(*FORMATS), help="The file's layout."),
    with_assertions: bool = typer.Option(
        False, "--with-assertions",
        help="mind-csv: also import each row's `tail` (FolkScope's assertion, not model output) as source "
             "folkscope. Off by default: IntentionQA's answers come from it."),
    bulk: bool = BulkOption,
    quarantine: Path | None = QuarantineOption,
    as_json: bool = JsonOption,
) -> None:
    """Existing intentions as Intention nodes (deterministic ids: a re-import changes nothing)."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if with_assertions and fmt != "mind-csv":
        raise BadInput("--with-assertions applies to --format mind-csv only")
    settings = get_settings()
    open_intentions(path, fmt, settings)  # a bad file fails before connecting
    if bulk:
        with _quarantine(quarantine, f"import-{fmt}") as q:
            from ingest.bulkload import bulk_import_intentions  # numpy and pyarrow: the full install only

            summary = bulk_import_intentions(settings, path, fmt, q, _dimensions(settings),
                                             options=ImportOptions(with_assertions))
    else:
        with database() as (settings, driver), _quarantine(quarantine, f"import-{fmt}") as q:
            summary = import_intentions(driver, settings, path, fmt, q, options=ImportOptions(with_assertions))
    emit(summary, as_json)
    check_quarantine_share(summary["read"], q, settings.ingest_max_quarantine_share)


@import_app.command("release")
def release(
    name: str = typer.Argument(..., click_type=choice(*RELEASES), help="The release (ingest/releases.json)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="A mirror holding the release's files under the same paths (https, http or "
                                 "file://; MIND_RELEASE_BASE_URL)."),
    download_only: bool = typer.Option(False, "--download-only", help="Fetch the files into the cache, import nothing."),
    with_assertions: bool = typer.Option(
        False, "--with-assertions", help="Also import each record's `tail` (FolkScope's assertion) as source folkscope."),
    bulk: bool = BulkOption,
    quarantine: Path | None = QuarantineOption,
    as_json: bool = JsonOption,
) -> None:
    """Download a public release of intention knowledge (checksums verified, kept in the cache), then import it."""
    settings = get_settings()
    chosen = get_release(name)
    note(f"{name}: {chosen.title} ({chosen.license}, {chosen.repository} at {chosen.commit[:12]}), "
         f"{len(chosen.files)} files, {chosen.size / 1e6:.1f} MB")
    fetched = fetch_release(chosen, settings, base_url)  # a failed download fails before connecting
    if download_only:
        emit(fetch_summary(chosen, fetched), as_json)
        return
    if bulk:
        with _quarantine(quarantine, f"import-{name}") as q:
            from ingest.bulkload import bulk_import_release  # numpy and pyarrow: the full install only

            summary = bulk_import_release(settings, chosen, fetched, q, _dimensions(settings),
                                          ImportOptions(with_assertions))
    else:
        with database() as (settings, driver), _quarantine(quarantine, f"import-{name}") as q:
            summary = import_release(driver, settings, chosen, fetched, q, ImportOptions(with_assertions))
    emit(summary, as_json)
    check_quarantine_share(summary["read"], q, settings.ingest_max_quarantine_share)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(import_app, name="import")
