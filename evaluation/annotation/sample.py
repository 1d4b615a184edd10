"""A stratified, seeded sample of filtered intentions.

Strata are (relation, status) with status ACCEPTED or REJECTED. Quotas:
- `--per-relation`: N per relation; otherwise N in total, spread as evenly as possible over the
  relations that have filtered intentions (a relation with fewer than its share gives the rest to
  the others; the remainder goes to relations in a seeded order).
- within a relation, `balanced` (default) splits its quota evenly between ACCEPTED and REJECTED
  (the filter is judged on both verdicts, and the knowledge base's plausibility on enough accepted
  ones), again handing a short status's rest to the other; `proportional` follows the relation's
  own accepted/rejected counts (largest remainder).
Within a stratum the intentions with the smallest sha256(seed, id) are taken: the same graph and
seed give the same sample, and a larger quota for a stratum extends a smaller one. A stratum's ids stream from Neo4j
through a bounded heap, so memory follows N, not the size of the graph.
"""

from __future__ import annotations

import hashlib
from functools import partial

from neo4j import Driver

from evaluation.annotation import FILTERED, MAX_SAMPLE
from graph.annotations import filtered_counts, smallest_stratum_ids
from graph.driver import read
from mindkb.errors import BadOption, MindError

ALLOCATIONS = ("balanced", "proportional")


def sample_key(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{key}".encode()).hexdigest()


def spread(total: int, capacity: dict[str, int], order: list[str]) -> dict[str, int]:
    """Split `total` over the keys of `order` as evenly as possible, none above its capacity.

    A key that fills up passes the rest on to the others; the remainder of an uneven split goes
    to the keys in `order`."""
    alloc = dict.fromkeys(order, 0)
    remaining = min(total, sum(capacity.get(k, 0) for k in order))
    open_keys = [k for k in order if capacity.get(k, 0) > 0]
    while remaining > 0 and open_keys:
        share, extra = divmod(remaining, len(open_keys))
        for ix, k in enumerate(open_keys):
            give = min(share + (1 if ix < extra else 0), capacity[k] - alloc[k])
            alloc[k] += give
            remaining -= give
        open_keys = [k for k in open_keys if alloc[k] < capacity[k]]
    return alloc


def proportional(total: int, capacity: dict[str, int], order: list[str]) -> dict[str, int]:
    """Split `total` in proportion to the capacities (largest remainder, ties in `order`)."""
    available = sum(capacity.get(k, 0) for k in order)
    total = min(total, available)
    if not total:
        return dict.fromkeys(order, 0)
    exact = {k: total * capacity.get(k, 0) / available for k in order}
    alloc = {k: int(exact[k]) for k in order}
    rest = total - sum(alloc.values())
    for k in sorted(order, key=lambda k: (-(exact[k] - alloc[k]), order.index(k)))[:rest]:
        alloc[k] += 1
    return alloc


def quotas(counts: dict[tuple[str, str], int], n: int, per_relation: bool, allocation: str,
           seed: int, relations: list[str]) -> dict[tuple[str, str], int]:
    """How many to draw from each (relation, status) stratum."""
    per_rel_cap = {r: sum(counts.get((r, s), 0) for s in FILTERED) for r in relations}
    order = sorted(relations, key=lambda r: sample_key(seed, f"relation:{r}"))
    rel_quota = {r: min(n, per_rel_cap[r]) for r in relations} if per_relation else spread(n, per_rel_cap, order)
    split = spread if allocation == "balanced" else proportional
    out: dict[tuple[str, str], int] = {}
    for r in relations:
        caps = {s: counts.get((r, s), 0) for s in FILTERED}
        for s, q in split(rel_quota[r], caps, list(FILTERED)).items():
            if q:
                out[(r, s)] = q
    return out


def draw(driver: Driver, database: str, n: int, per_relation: bool, seed: int, relations: list[str],
         allocation: str = "balanced") -> dict:
    """{ids (in relation order, then key order), quotas {relation: {status: k}}, available {same}}."""
    if not 1 <= n <= MAX_SAMPLE:
        raise BadOption(f"{{sample}} must be between 1 and {MAX_SAMPLE:,}")
    if allocation not in ALLOCATIONS:
        raise BadOption("{allocation} must be one of " + ", ".join(ALLOCATIONS))
    counts = {(r["relation"], r["status"]): r["n"]
              for r in read(driver, database, filtered_counts, relations, list(FILTERED))}
    if not counts:
        raise MindError("no filtered intentions (ACCEPTED or REJECTED) to sample; run the filter first "
                        "(`mind generate --stage filter`)")
    plan = quotas(counts, n, per_relation, allocation, seed, relations)
    ids: list[str] = []
    for r in relations:
        for s in FILTERED:
            if plan.get((r, s)):
                ids.extend(read(driver, database, smallest_stratum_ids, r, s, plan[(r, s)],
                                partial(sample_key, seed)))
    nested = {}
    available = {}
    for r in relations:
        if any(counts.get((r, s)) for s in FILTERED):
            nested[r] = {s: plan.get((r, s), 0) for s in FILTERED}
            available[r] = {s: counts.get((r, s), 0) for s in FILTERED}
    return {"ids": ids, "quotas": nested, "available": available}
