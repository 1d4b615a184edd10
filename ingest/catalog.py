"""`mind ingest catalog`: stream Amazon 2018 metadata into Product nodes and CO_BUY edges.

A reader thread parses lines into batches of settings.write_batch_size while the main thread
writes the previous batch in one transaction (products, their also_buy links, and the pending
links that wait for them), so a killed run keeps every committed batch and a re-run only repeats
idempotent MERGEs.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
from neo4j import Driver, ManagedTransaction

from graph.driver import read
from graph.ingest import count_pending_links, ensure_ingest_schema, write_catalog_batch
from ingest.batches import LineCounter, RecordError, write_batches
from ingest.images import ImageCache, ImageResolver, ImageResult
from ingest.reader import Limits, sniff_json_lines
from ingest.records import CatalogRecord, parse_catalog
from ingest.table import JsonLines
from mindkb.errors import BadInput, BadOption
from mindkb.ids import pair_key
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings

LINK_SOURCE = "also_buy"
NO_IMAGE_SOURCE = ImageResult("missing", None, "no image source given (--images-dir or --download-images)")


@dataclass
class CatalogOptions:
    images_dir: Path | None = None
    download_images: bool = False
    domain: str | None = None
    limit: int | None = None
    require_image: bool = False


@dataclass
class _Item:
    record: CatalogRecord
    source: Path
    line: int
    raw: str


@dataclass
class CatalogStats(LineCounter):
    skipped: int = 0
    images: Counter = field(default_factory=Counter)


def check_options(paths: list[Path], options: CatalogOptions) -> None:
    """Everything that makes the whole run impossible fails here, before any write."""
    if not paths:
        raise BadInput("no input file given")
    if options.images_dir is not None and not options.images_dir.is_dir():
        raise BadOption(f"{{images_dir}} {options.images_dir}: not a directory")
    if options.require_image and options.images_dir is None and not options.download_images:
        raise BadOption("{require_image} needs {images_dir} or {download_images}")
    if options.limit is not None and options.limit < 1:
        raise BadOption("{limit} must be at least 1")
    for path in paths:
        sniff_json_lines(path)


def read_batches(paths: list[Path], options: CatalogOptions, settings: Settings, quarantine: Quarantine,
                 stats: CatalogStats, batch_size: int) -> Iterator[list[_Item]]:
    """Valid records in batches; bad lines go to the quarantine. A duplicate asin within one batch
    keeps the later line."""
    accepted = 0
    batch: dict[str, _Item] = {}
    limits = Limits.of(settings)
    for path in paths:
        before = stats.lines
        lines = JsonLines(path, limits)
        for line in lines:
            stats.read += 1
            stats.lines = before + lines.lines
            if line.error or line.data is None:
                quarantine.add(path, line.line, line.error or "no record", line.raw)
                continue
            try:
                record = parse_catalog(line.data)
            except RecordError as exc:
                quarantine.add(path, line.line, str(exc), line.raw)
                continue
            if options.domain and not record.matches_domain(options.domain):
                stats.skipped += 1
                continue
            batch.pop(record.asin, None)
            batch[record.asin] = _Item(record, path, line.line, line.raw)
            accepted += 1
            if len(batch) >= batch_size:
                yield list(batch.values())
                batch.clear()
            if options.limit is not None and accepted >= options.limit:
                if batch:
                    yield list(batch.values())
                return
        stats.lines = before + lines.lines
    if batch:
        yield list(batch.values())


def _read_ahead(batches: Iterator[list[_Item]], depth: int = 2) -> Iterator[list[_Item]]:
    """Runs `batches` in a thread so parsing overlaps the database's work on the previous batch."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                box.put(batch)
            box.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(exc)

    thread = threading.Thread(target=produce, name="catalog-reader", daemon=True)
    thread.start()
    try:
        while (item := box.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with suppress(queue.Empty):
                box.get(timeout=0.1)


@contextmanager
def catalog_batches(settings: Settings, paths: list[Path], options: CatalogOptions, quarantine: Quarantine,
                    stats: CatalogStats, batch_size: int | None = None,
                    ) -> Iterator[Iterator[tuple[list[dict], list[dict]]]]:
    """(products, links) per batch, read ahead, images resolved (in parallel when downloading) and
    quarantined as both sinks need them: a transaction (`ingest_catalog`) or the bulk path's graph."""
    size = batch_size or settings.write_batch_size
    with ExitStack() as stack:
        resolver = _resolver(settings, options, stack)
        pool = (stack.enter_context(ThreadPoolExecutor(settings.image_download_workers))
                if resolver is not None else None)

        def prepared() -> Iterator[tuple[list[dict], list[dict]]]:
            for items in _read_ahead(read_batches(paths, options, settings, quarantine, stats, size)):
                if pool is not None and resolver is not None:
                    images: list[ImageResult | None] = list(
                        pool.map(lambda it: resolver.resolve(it.record.asin, it.record.image_urls), items))
                else:
                    images = [None] * len(items)
                yield _rows(items, images, options, quarantine, stats)

        yield prepared()


def write_counted(batch: tuple[list[dict], list[dict]],
                  write: Callable[[list[dict], list[dict], str], dict]) -> dict | None:
    """One batch through either sink's `write_catalog_batch` (a transaction's or the bulk graph's),
    with the products it loaded; None for a batch with no product (nothing to write)."""
    products, links = batch
    if not products:
        return None
    return {"loaded": len(products), **write(products, links, LINK_SOURCE)}


def catalog_summary(stats: CatalogStats, totals: Counter, quarantine: Quarantine, pending: int) -> dict:
    """The run's summary from the sink's totals ({loaded, created, co_buy}) and the pending links left."""
    return {
        "lines": stats.lines,
        "read": stats.read,
        "loaded": totals["loaded"],
        "quarantined": quarantine.count,
        "co_buy": totals["co_buy"],
        "quarantine_file": quarantine.file,
        "created": totals["created"],
        "skipped": stats.skipped,
        "pending_links": pending,
        "images": {state: stats.images.get(state, 0) for state in ("ok", "missing", "unreadable")},
    }


def ingest_catalog(
    driver: Driver,
    settings: Settings,
    paths: list[Path],
    options: CatalogOptions,
    quarantine: Quarantine,
    batch_size: int | None = None,
) -> dict:
    check_options(paths, options)
    ensure_ingest_schema(driver, settings.neo4j_database)
    stats = CatalogStats()

    def write(tx: ManagedTransaction, batch: tuple[list[dict], list[dict]]) -> dict | None:
        return write_counted(batch, partial(write_catalog_batch, tx))

    with catalog_batches(settings, paths, options, quarantine, stats, batch_size) as batches:
        totals = write_batches(driver, settings.neo4j_database, batches, write, quarantine, stats, "catalog")
    return catalog_summary(stats, totals, quarantine, read(driver, settings.neo4j_database, count_pending_links))


def _resolver(settings: Settings, options: CatalogOptions, stack: ExitStack) -> ImageResolver | None:
    if options.images_dir is None and not options.download_images:
        return None
    cache = None
    if options.download_images:
        workers = settings.image_download_workers
        client = stack.enter_context(httpx.Client(
            timeout=httpx.Timeout(settings.image_download_timeout),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
            headers={"User-Agent": "mind-kb image fetcher"},
        ))
        cache = ImageCache(settings.cache_dir / "images", client, settings.image_max_bytes,
                           settings.image_download_retries)
    return ImageResolver(settings.image_max_pixels, options.images_dir, cache)


def _rows(items: list[_Item], images: list[ImageResult | None], options: CatalogOptions,
          quarantine: Quarantine, stats: CatalogStats) -> tuple[list[dict], list[dict]]:
    products: list[dict] = []
    links: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for item, image in zip(items, images, strict=True):
        image = image or NO_IMAGE_SOURCE
        stats.images[image.state] += 1
        if options.require_image and image.state != "ok":
            quarantine.add(item.source, item.line, f"no usable image (--require-image): {image.reason}", item.raw)
            continue
        if image.state == "unreadable":  # loaded, but the bad image is recorded too
            quarantine.add(item.source, item.line, f"unreadable image: {image.reason}", item.raw, loaded=True)
        asin = item.record.asin
        products.append({"asin": asin, "props": item.record.props, "image": image.props()})
        for other in item.record.also_buy:
            pair = pair_key(asin, other)
            if pair in seen:  # both list each other within this batch: both are loaded, one edge
                continue
            seen.add(pair)
            links.append({"from": asin, "to": other})
    return products, links
