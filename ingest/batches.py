"""The loop every loader shares: read -> quarantine -> batch -> write -> progress.

Each batch is written in one managed transaction, so a killed run keeps every committed batch
and a re-run only repeats idempotent MERGEs; the quarantine file is flushed after each batch, so
what was set aside is on disk whenever what was loaded is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from neo4j import Driver, ManagedTransaction

from ingest.table import Table
from mindkb.errors import MindError
from mindkb.output import progress
from mindkb.quarantine import Quarantine

T = TypeVar("T")
B = TypeVar("B")


class RecordError(ValueError):
    """A record that cannot be loaded; the message is the quarantine reason."""


@dataclass
class LineCounter:
    """Records read so far (valid or not: the summaries' `read`) and the physical lines they took
    (`lines`: blank lines, headers and the lines of multi-line records included; the progress bar)."""

    read: int = 0
    lines: int = 0


@dataclass(frozen=True)
class Parsed(Generic[T]):
    item: T
    source: Path
    line: int
    raw: str


def parse_records(tables: Iterable[tuple[Path, Table]], parse: Callable[[dict], T],
                  quarantine: Quarantine, lines: LineCounter) -> Iterator[Parsed[T]]:
    """Valid records as parsed items; unreadable or invalid ones go to the quarantine."""
    for path, records in tables:
        before = lines.lines
        for record in records:
            lines.read += 1
            lines.lines = before + records.lines
            if record.error or record.data is None:
                quarantine.add(path, record.line, record.error or "no record", record.raw)
                continue
            try:
                item = parse(record.data)
            except RecordError as exc:
                reason = f"{record.part}: {exc}" if record.part else str(exc)
                quarantine.add(path, record.line, reason, record.raw)
                continue
            yield Parsed(item, path, record.line, record.raw)
        lines.lines = before + records.lines


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_batches(driver: Driver, database: str, batches: Iterable[B],
                  write: Callable[[ManagedTransaction, B], dict[str, int] | None],
                  quarantine: Quarantine, lines: LineCounter, desc: str) -> Counter:
    """Write each batch in its own transaction; returns the sum of what `write` counted.

    `write` returning None means there was nothing to write (no transaction is opened).
    """
    with driver.session(database=database) as session:
        return drain(batches, lambda batch: session.execute_write(write, batch), quarantine, lines, desc)


def drain(batches: Iterable[B], sink: Callable[[B], dict[str, int] | None], quarantine: Quarantine,
          lines: LineCounter, desc: str) -> Counter:
    """Hand each non-empty batch to `sink` (a transaction, or the bulk path's graph in memory), flushing
    the quarantine and advancing the progress bar after each; returns the sum of what `sink` counted."""
    totals: Counter = Counter()
    with progress(desc=desc, unit="lines") as bar:
        for batch in batches:
            if batch:
                totals.update(sink(batch) or {})
            quarantine.flush()
            bar.update(lines.lines - bar.n)
            counts = {k: v for k, v in totals.items() if isinstance(v, int)}
            bar.set_postfix(dict(sorted({**counts, "quarantined": quarantine.count}.items())), refresh=False)
        quarantine.flush()
        bar.update(lines.lines - bar.n)
    return totals


def check_quarantine_share(read: int, quarantine: Quarantine, max_share: float) -> None:
    """MindError (exit 1) when more than `max_share` of the records read were set aside.

    Called after the summary is printed: what was valid is loaded either way; the exit status tells
    a script that the input was mostly unreadable (a wrong format, encoding or delimiter, a damaged
    file) instead of leaving it to read the quarantine count.
    """
    if read and quarantine.rejected / read > max_share:
        raise MindError(f"{quarantine.rejected} of {read} records ({quarantine.rejected / read:.1%}) went to the "
                        f"quarantine, more than MIND_INGEST_MAX_QUARANTINE_SHARE={max_share:g} allows; the valid "
                        f"records are loaded, the rest are in {quarantine.path}")
