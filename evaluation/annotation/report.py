"""`mind annotate report`: the paper's Table 1 (human evaluation) for this knowledge base.

Per intention and question the annotators' majority decides (yes > no; a tie decides nothing and
is counted under `ties`). Rates, per relation and in total:
- plausible, typical, human_centric: share of ACCEPTED intentions (the knowledge base, what the
  paper's Table 1 reports) whose majority said yes;
- filter_correct, rationale_correct: share of all sampled intentions, accepted and rejected
  (`by_status` in the total splits every rate by the verdict the annotators were shown).
Agreement, over the units (intention, question) of the four required questions answered by at
least two annotators:
- pairwise agreement: per unit the share of annotator pairs that gave the same answer, averaged
  over units (Fleiss' P-bar; the paper's 73.1%);
- Fleiss' kappa: statsmodels' `fleiss_kappa` on the `aggregate_raters` table. Kappa needs the same
  number of raters per unit, so it uses the units with the most common count (`raters`; the
  others are counted in `excluded_units`); it is null when only one answer was ever given
  (chance agreement is then 1 and kappa undefined).
Every figure comes with the counts behind it. `paper` holds the paper's values beside them.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from neo4j import Driver

from graph.annotations import annotation_votes
from graph.driver import read
from mindkb.annotation import PROPERTY, QUESTIONS, REQUIRED, majority
from mindkb.relations import RELATION_NAMES

# The paper's Table 1: share of accepted intentions annotators judged plausible / typical.
PAPER_TABLE1 = {
    "Effect": (0.90, 0.83), "MannerOf": (0.93, 0.89), "IsA": (0.94, 0.88), "Other": (0.94, 0.90),
    "MadeOf": (0.95, 0.92), "SimilarTo": (0.94, 0.87), "UsedFor": (0.94, 0.88), "Can": (0.95, 0.91),
    "CauseDesire": (0.94, 0.90), "RelatedTo": (0.93, 0.89), "PartOf": (0.92, 0.87), "Open": (0.93, 0.89),
    "CreatedBy": (0.94, 0.88), "DeriveFrom": (0.95, 0.89), "DefinedAs": (0.96, 0.92),
    "PropertyOf": (0.97, 0.90), "CapableOf": (0.95, 0.90), "Cause": (0.95, 0.92), "SymbolOf": (0.95, 0.92),
    "DistinctFrom": (0.94, 0.89),
}
PAPER_TOTAL = {"plausible": 0.94, "typical": 0.90, "agreement": 0.731, "kappa": 0.56}
KB_QUESTIONS = ("plausible", "typical", "human_centric")  # rated on ACCEPTED intentions only
DIGITS = 4


@dataclass
class Item:
    intention_id: str
    relation: str
    status: str
    votes: dict[str, list[bool]] = field(default_factory=lambda: {q: [] for q in QUESTIONS})
    annotators: int = 0


def items_from_votes(rows: list[dict]) -> list[Item]:
    items: dict[str, Item] = {}
    for r in rows:
        item = items.get(r["intentionId"])
        if item is None:
            item = items[r["intentionId"]] = Item(r["intentionId"], r["relation"] or "(none)", r["status"] or "")
        item.annotators += 1
        for q in QUESTIONS:
            value = r.get(PROPERTY[q])
            if value is not None:
                item.votes[q].append(bool(value))
    return list(items.values())


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, DIGITS)


def rate(items: list[Item], question: str) -> dict:
    """Majority-vote yes rate of `question` over `items` (those with at least one answer)."""
    answered = [i for i in items if i.votes[question]]
    verdicts = [majority(i.votes[question]) for i in answered]
    decided = [v for v in verdicts if v is not None]
    yes = sum(decided)
    return {"rate": _round(yes / len(decided)) if decided else None, "yes": yes, "items": len(decided),
            "ties": len(verdicts) - len(decided), "votes": sum(len(i.votes[question]) for i in answered)}


def units(items: list[Item], questions: tuple[str, ...]) -> list[tuple[int, int]]:
    """(yes, no) per (item, question) answered by at least two annotators."""
    out = []
    for i in items:
        for q in questions:
            votes = i.votes[q]
            if len(votes) >= 2:
                yes = sum(votes)
                out.append((yes, len(votes) - yes))
    return out


def pairwise_agreement(counts: list[tuple[int, int]]) -> dict:
    """Mean over units of the share of annotator pairs that agree."""
    if not counts:
        return {"value": None, "units": 0, "pairs": 0}
    shares, pairs = [], 0
    for yes, no in counts:
        n = yes + no
        total = n * (n - 1) / 2
        shares.append((yes * (yes - 1) / 2 + no * (no - 1) / 2) / total)
        pairs += int(total)
    return {"value": _round(sum(shares) / len(shares)), "units": len(counts), "pairs": pairs}


def fleiss(counts: list[tuple[int, int]]) -> dict:
    """Fleiss' kappa (statsmodels) over the units with the most common number of raters."""
    import numpy as np  # lazy, with statsmodels: it loads pandas and scipy (about 1 s) for this one figure
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    if not counts:
        return {"value": None, "units": 0, "raters": None, "excluded_units": 0}
    by_n = Counter(yes + no for yes, no in counts)
    raters = max(by_n, key=lambda n: (by_n[n], n))
    kept = [(yes, no) for yes, no in counts if yes + no == raters]
    # One row per unit, one column per rater (1 = yes, 0 = no); aggregate_raters makes the
    # units x categories count table fleiss_kappa takes.
    ratings = np.array([[1] * yes + [0] * no for yes, no in kept], dtype=int)
    table, _ = aggregate_raters(ratings, n_cat=2)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(fleiss_kappa(table, method="fleiss"))
    return {"value": None if not np.isfinite(value) else _round(value), "units": len(kept), "raters": raters,
            "excluded_units": len(counts) - len(kept)}


def figures(items: list[Item]) -> dict:
    accepted = [i for i in items if i.status == "ACCEPTED"]
    out: dict[str, object] = {"items": len(items), "accepted_items": len(accepted),
           "rejected_items": sum(1 for i in items if i.status == "REJECTED"),
           "votes": sum(i.annotators for i in items)}
    for q in QUESTIONS:
        out[q] = rate(accepted if q in KB_QUESTIONS else items, q)
    required = units(items, REQUIRED)
    out["agreement"] = pairwise_agreement(required)
    out["kappa"] = fleiss(required)
    return out


def summarise(rows: list[dict]) -> dict:
    items = items_from_votes(rows)
    by_relation: dict[str, list[Item]] = {}
    for i in items:
        by_relation.setdefault(i.relation, []).append(i)
    relations = {}
    for name in [*RELATION_NAMES, *sorted(set(by_relation) - set(RELATION_NAMES))]:
        row = figures(by_relation.get(name, []))
        plausible, typical = PAPER_TABLE1.get(name, (None, None))
        row["paper"] = {"plausible": plausible, "typical": typical}
        relations[name] = row
    total = figures(items)
    total["paper"] = dict(PAPER_TOTAL)
    total["questions"] = {q: {"agreement": pairwise_agreement(units(items, (q,))),
                              "kappa": fleiss(units(items, (q,)))} for q in QUESTIONS}
    total["by_status"] = {
        status: {q: rate([i for i in items if i.status == status], q) for q in QUESTIONS}
        for status in sorted({i.status for i in items})}
    return {"relations": relations, "total": total, "annotations": len(rows),
            "annotators": len({r["annotator"] for r in rows}), "paper": dict(PAPER_TOTAL)}


def collect(driver: Driver, database: str) -> dict:
    return summarise(read(driver, database, annotation_votes))


# --- text and plot ---------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def table(report: dict) -> str:
    header = (f"{'relation':<14}{'items':>6}{'votes':>6}{'plaus':>7}{'paper':>6}{'typic':>7}{'paper':>6}"
              f"{'human':>7}{'filter':>7}{'ration':>7}{'agree':>7}{'kappa':>7}")
    lines = ["Human evaluation (majority of annotators, %; plausible/typical/human over accepted intentions)",
             header, "-" * len(header)]
    rows = [(n, r) for n, r in report["relations"].items() if r["items"]] + [("TOTAL", report["total"])]
    for name, r in rows:
        kappa = r["kappa"]["value"]
        lines.append(
            f"{name:<14}{r['items']:>6}{r['votes']:>6}"
            f"{_pct(r['plausible']['rate']):>7}{_pct(r['paper']['plausible']):>6}"
            f"{_pct(r['typical']['rate']):>7}{_pct(r['paper']['typical']):>6}"
            f"{_pct(r['human_centric']['rate']):>7}{_pct(r['filter_correct']['rate']):>7}"
            f"{_pct(r['rationale_correct']['rate']):>7}{_pct(r['agreement']['value']):>7}"
            f"{'-' if kappa is None else f'{kappa:.3f}':>7}")
    t = report["total"]
    lines.append(f"annotations: {report['annotations']:,}   annotators: {report['annotators']:,}   "
                 f"paper: agreement {100 * PAPER_TOTAL['agreement']:.1f}%, kappa {PAPER_TOTAL['kappa']:.2f}   "
                 f"kappa over {t['kappa']['units']} units x {t['kappa']['raters'] or '-'} raters")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    """Grouped bars per annotated relation (and all): plausible and typical, this KB vs the paper."""
    import matplotlib  # lazy: only `--plot` needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = [(n, r) for n, r in report["relations"].items() if r["items"]] + [("all", report["total"])]
    series = [("plausible", "kb", "plausible (this KB)", "#4C72B0"),
              ("plausible", "paper", "plausible (paper)", "#A6BDDB"),
              ("typical", "kb", "typical (this KB)", "#DD8452"),
              ("typical", "paper", "typical (paper)", "#F5C9A6")]
    x = np.arange(len(groups))
    width = 0.2
    fig, ax = plt.subplots(figsize=(max(6.5, 0.9 * len(groups) + 2), 4.8))
    for k, (question, who, label, color) in enumerate(series):
        values = [(r[question]["rate"] if who == "kb" else r["paper"][question]) for _, r in groups]
        ax.bar(x + (k - 1.5) * width, [100 * v if v is not None else 0 for v in values], width,
               label=label, color=color)
    ax.set_xticks(x, [n for n, _ in groups], rotation=30, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of accepted intentions (majority vote)")
    t = report["total"]
    kappa = t["kappa"]["value"]
    ax.set_title(f"Human evaluation: agreement {_pct(t['agreement']['value'])}% (paper 73.1), "
                 f"kappa {'-' if kappa is None else f'{kappa:.2f}'} (paper 0.56)", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
