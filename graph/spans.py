"""Work partitions: consecutive key ranges of about `size` units, cut from keys read in order.

A partition is the keys k with `after` < k <= `upto` (`upto` None: no upper end, so keys that
appear while the work runs are still found). With a limit, partitions end at the limit and carry
a `budget`: how many units of their keys the run may do.
"""

from __future__ import annotations

from collections.abc import Iterable


def cut(keyed_units: Iterable[tuple[str, int]], size: int, limit: int | None = None) -> list[dict]:
    """`keyed_units`: (key, units of work under that key), by ascending key."""
    spans: list[dict] = []
    after, units, taken, last = "", 0, 0, None
    for key, n in keyed_units:
        if limit is not None:
            if taken >= limit:
                break
            n = min(n, limit - taken)
        units, taken, last = units + n, taken + n, key
        if units >= size:
            spans.append({"after": after, "upto": key, "units": units})
            after, units = key, 0
    if units:
        spans.append({"after": after, "upto": last, "units": units})
    if spans and limit is None:
        spans[-1]["upto"] = None
    for span in spans:
        span["budget"] = span["units"] if limit is not None else None
    return spans
