"""`mind ingest catalog`: stream Amazon 2018 metadata into Product nodes and CO_BUY edges.

Records are parsed one line at a time and written in batches of settings.write_batch_size, one
transaction each (products, their also_buy links, and the pending links that wait for them), so a
killed run keeps every committed batch and a re-run only repeats idempotent MERGEs.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from neo4j import Driver

from graph.ingest import count_pending_links, ensure_ingest_schema, write_catalog_batch
from ingest.images import ImageCache, ImageResolver, ImageResult
from ingest.quarantine import Quarantine
from ingest.reader import iter_lines, sniff_json_lines
from ingest.records import CatalogRecord, RecordError, parse_catalog_line
from mindkb.errors import BadInput
from mindkb.ids import pair_key
from mindkb.output import progress
from mindkb.settings import Settings

LINK_SOURCE = "also_buy"


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
class CatalogStats:
    read: int = 0
    loaded: int = 0
    created: int = 0
    skipped: int = 0
    co_buy: int = 0
    images: Counter = field(default_factory=Counter)


def check_options(paths: list[Path], options: CatalogOptions) -> None:
    """Everything that makes the whole run impossible fails here, before any write."""
    if not paths:
        raise BadInput("no input file given")
    if options.images_dir is not None and not options.images_dir.is_dir():
        raise BadInput(f"--images-dir {options.images_dir}: not a directory")
    if options.require_image and options.images_dir is None and not options.download_images:
        raise BadInput("--require-image needs --images-dir or --download-images")
    if options.limit is not None and options.limit < 1:
        raise BadInput("--limit must be at least 1")
    for path in paths:
        sniff_json_lines(path)


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
    batch_size = batch_size or settings.write_batch_size
    stats = CatalogStats()
    accepted = 0

    with ExitStack() as stack:
        resolver = _resolver(settings, options, stack)
        pool = (stack.enter_context(ThreadPoolExecutor(settings.image_download_workers))
                if resolver is not None else None)
        session = stack.enter_context(driver.session(database=settings.neo4j_database))
        bar = stack.enter_context(progress(desc="catalog", unit="lines"))
        batch: dict[str, _Item] = {}

        def flush() -> None:
            if not batch:
                return
            items = list(batch.values())
            batch.clear()
            if pool is not None and resolver is not None:
                images = list(pool.map(lambda it: resolver.resolve(it.record.asin, it.record.image_urls), items))
            else:
                images = [None] * len(items)
            products, links = _rows(items, images, options, quarantine, stats)
            if products:
                result = session.execute_write(write_catalog_batch, products, links)
                stats.loaded += len(products)
                stats.created += result["created"]
                stats.co_buy += result["co_buy"]
            quarantine.flush()
            bar.update(stats.read - bar.n)
            bar.set_postfix(loaded=stats.loaded, quarantined=quarantine.count, refresh=False)

        for path in paths:
            if options.limit is not None and accepted >= options.limit:
                break
            for line in iter_lines(path, settings.ingest_max_line_bytes):
                stats.read += 1
                if line.error:
                    quarantine.add(path, line.number, line.error, line.text)
                    continue
                try:
                    record = parse_catalog_line(line.text)
                except RecordError as exc:
                    quarantine.add(path, line.number, str(exc), line.text)
                    continue
                if options.domain and not record.matches_domain(options.domain):
                    stats.skipped += 1
                    continue
                if record.asin in batch:  # a duplicate asin within one batch: the later line wins
                    batch.pop(record.asin)
                batch[record.asin] = _Item(record, path, line.number, line.text)
                accepted += 1
                if len(batch) >= batch_size:
                    flush()
                if options.limit is not None and accepted >= options.limit:
                    break
        flush()
        pending = session.execute_read(count_pending_links)

    return {
        "read": stats.read,
        "loaded": stats.loaded,
        "quarantined": quarantine.count,
        "co_buy": stats.co_buy,
        "quarantine_file": quarantine.file,
        "created": stats.created,
        "skipped": stats.skipped,
        "pending_links": pending,
        "images": {state: stats.images.get(state, 0) for state in ("ok", "missing", "unreadable")},
    }


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


NO_IMAGE_SOURCE = ImageResult("missing", None, "no image source given (--images-dir or --download-images)")


def _rows(items: list[_Item], images: list[ImageResult | None], options: CatalogOptions,
          quarantine: Quarantine, stats: CatalogStats) -> tuple[list[dict], list[dict]]:
    products: list[dict] = []
    links: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for item, image in zip(items, images):
        image = image or NO_IMAGE_SOURCE
        stats.images[image.state] += 1
        if options.require_image and image.state != "ok":
            quarantine.add(item.source, item.line, f"no usable image (--require-image): {image.reason}", item.raw)
            continue
        if image.state == "unreadable":  # loaded, but the bad image is recorded too
            quarantine.add(item.source, item.line, f"unreadable image: {image.reason}", item.raw)
        asin = item.record.asin
        products.append({"asin": asin, "props": item.record.props, "image": image.props()})
        for other in item.record.also_buy:
            pair = pair_key(asin, other)
            if pair in seen:  # both list each other within this batch: both are loaded, one edge
                continue
            seen.add(pair)
            links.append({"from": asin, "to": other, "key": f"{asin}>{other}", "source": LINK_SOURCE})
    return products, links
