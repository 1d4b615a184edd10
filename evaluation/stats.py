"""`mind stats`: the paper's Table 1 for this knowledge base, and its Figure 5 as a PNG.

Per relation: generated = every intention of the relation (whatever its status); accepted,
rejected, undecided = the filter's verdicts; pending = generated but not yet filtered (status
GENERATED). preserve rate = accepted / (accepted + rejected + undecided): the share of the
filtered intentions the filter kept (the paper's 46.7% overall); null when none was filtered.
"""

from __future__ import annotations

from pathlib import Path

from neo4j import Driver

from graph.driver import read
from graph.evaluation import kb_totals, relation_status_counts
from mindkb.relations import RELATION_NAMES

COLUMNS = ("generated", "accepted", "rejected", "undecided", "pending")


def preserve_rate(row: dict) -> float | None:
    filtered = row["accepted"] + row["rejected"] + row["undecided"]
    return round(row["accepted"] / filtered, 4) if filtered else None


def collect(driver: Driver, database: str) -> dict:
    rows = {name: dict.fromkeys(COLUMNS, 0) for name in RELATION_NAMES}
    for r in read(driver, database, relation_status_counts):
        row = rows.setdefault(r["relation"] or "(none)", dict.fromkeys(COLUMNS, 0))
        row["generated"] += r["n"]
        key = {"ACCEPTED": "accepted", "REJECTED": "rejected", "UNDECIDED": "undecided"}.get(r["status"], "pending")
        row[key] += r["n"]
    total = {c: sum(row[c] for row in rows.values()) for c in COLUMNS}
    for row in (*rows.values(), total):
        row["preserve_rate"] = preserve_rate(row)
    totals = read(driver, database, kb_totals)
    return {"relations": rows, "total": total, "products": totals["products"], "co_buy": totals["coBuy"],
            "intentions": totals["intentions"]}


def table(stats: dict) -> str:
    header = f"{'relation':<14}" + "".join(f"{c:>11}" for c in COLUMNS) + f"{'preserve':>10}"
    lines = [header, "-" * len(header)]
    for name, row in [*stats["relations"].items(), ("TOTAL", stats["total"])]:
        rate = "-" if row["preserve_rate"] is None else f"{100 * row['preserve_rate']:.1f}%"
        lines.append(f"{name:<14}" + "".join(f"{row[c]:>11,}" for c in COLUMNS) + f"{rate:>10}")
    lines.append(f"products: {stats['products']:,}   co-buy records: {stats['co_buy']:,}")
    return "\n".join(lines)


def plot(stats: dict, path: Path) -> None:
    """Preserve rate per relation as horizontal bars (relations never filtered are left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(((n, r["preserve_rate"]) for n, r in stats["relations"].items() if r["preserve_rate"] is not None),
                   key=lambda t: t[1])
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.32 * len(items) + 1)))
    ax.barh([n for n, _ in items], [100 * v for _, v in items], color="#4C72B0")
    overall = stats["total"]["preserve_rate"]
    if overall is not None:
        ax.axvline(100 * overall, color="#C44E52", linestyle="--", label=f"all relations {100 * overall:.1f}%")
        ax.legend(loc="lower right")
    ax.set_xlim(0, 100)
    ax.set_xlabel("preserve rate (%) = accepted / filtered")
    ax.set_title("Filter preserve rate per relation")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
