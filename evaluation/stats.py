"""`mind stats`: the paper's Table 1 for this knowledge base, and its Figure 5 as a PNG.

Per relation: generated = every intention of the relation (whatever its status); accepted,
rejected, undecided = the filter's verdicts; pending = generated but not yet filtered (status
GENERATED). preserve rate: `mindkb.measures.preserve_rate` (accepted / filtered, the paper's
46.7% overall), the same definition as GraphQL's `relations.preserveRate`; null when none was
filtered. The JSON carries it to 4 places; the table and plot show it from the counts, rounded once.
`sources` keeps the intentions of those sources (graph/sources.py); by default every source but the
noise of a model with random weights, whose count is reported as `noise_left_out`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neo4j import Driver

from graph.driver import read
from graph.evaluation import kb_totals, relation_status_counts
from mindkb.measures import PAPER_PRESERVE_RATE, preserve_rate
from mindkb.relations import RELATION_NAMES
from mindkb.sources import NOISE

COLUMNS = ("generated", "accepted", "rejected", "undecided", "pending")


def _rate(row: dict) -> float | None:
    return preserve_rate(row["accepted"], row["rejected"], row["undecided"])


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def collect(driver: Driver, database: str, sources: list[str] | None = None) -> dict:
    # counts per column, then each row's preserve rate (a float, or None before any filtering)
    rows: dict[str, dict[str, Any]] = {name: dict.fromkeys(COLUMNS, 0) for name in RELATION_NAMES}
    for r in read(driver, database, relation_status_counts, sources):
        row = rows.setdefault(r["relation"] or "(none)", dict.fromkeys(COLUMNS, 0))
        row["generated"] += r["n"]
        key = {"ACCEPTED": "accepted", "REJECTED": "rejected", "UNDECIDED": "undecided"}.get(r["status"], "pending")
        row[key] += r["n"]
    total: dict[str, Any] = {c: sum(row[c] for row in rows.values()) for c in COLUMNS}
    for row in (*rows.values(), total):
        rate = _rate(row)
        row["preserve_rate"] = None if rate is None else round(rate, 4)
    totals = read(driver, database, kb_totals, sources)
    return {"relations": rows, "total": total, "products": totals["products"], "co_buy": totals["coBuy"],
            "intentions": totals["intentions"], "sources": sources, "noise_left_out": totals["noiseLeftOut"],
            "paper_preserve_rate": PAPER_PRESERVE_RATE}


def table(stats: dict) -> str:
    header = f"{'relation':<14}" + "".join(f"{c:>11}" for c in COLUMNS) + f"{'preserve':>10}"
    lines = [header, "-" * len(header)]
    for name, row in [*stats["relations"].items(), ("TOTAL", stats["total"])]:
        lines.append(f"{name:<14}" + "".join(f"{row[c]:>11,}" for c in COLUMNS) + f"{_percent(_rate(row)):>10}")
    lines.append(f"the paper's filter kept {_percent(PAPER_PRESERVE_RATE)} over all relations (it gives no "
                 "per-relation rates)")
    lines.append(f"products: {stats['products']:,}   co-buy records: {stats['co_buy']:,}")
    if stats.get("sources"):
        lines.append(f"intentions of the sources {', '.join(stats['sources'])} only")
    if stats.get("noise_left_out"):
        lines.append(f"left out: {stats['noise_left_out']:,} intentions of a model with random weights (noise; "
                     f"--sources {NOISE} counts them)")
    return "\n".join(lines)


def plot(stats: dict, path: Path) -> None:
    """Preserve rate per relation as horizontal bars (relations never filtered are left out)."""
    import matplotlib  # imported here: only --plot needs it, and it costs a second to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = ((n, _rate(r)) for n, r in stats["relations"].items())
    items = sorted(((n, v) for n, v in rates if v is not None), key=lambda t: t[1])
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.32 * len(items) + 1)))
    ax.barh([n for n, _ in items], [100 * v for _, v in items], color="#4C72B0")
    overall = _rate(stats["total"])
    if overall is not None:
        ax.axvline(100 * overall, color="#C44E52", linestyle="--", label=f"this KB, all relations {_percent(overall)}")
    ax.axvline(100 * PAPER_PRESERVE_RATE, color="#55A868", linestyle=":",
               label=f"paper, all relations {_percent(PAPER_PRESERVE_RATE)}")
    ax.legend(loc="lower right")
    ax.set_xlim(0, 100)
    ax.set_xlabel("preserve rate (%) = accepted / filtered")
    ax.set_title("Filter preserve rate per relation")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
