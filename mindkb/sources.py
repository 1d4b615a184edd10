"""Where an intention comes from, as the `sources` filters of search, recommend, stats and the
evaluation name it.

An intention's `source` is `mind` for generated text or the name of an imported dataset
(`mind-csv`, `intentionqa`, `jsonl`, ...). Text or verdicts made by a model with random weights
(`mind model tiny`, the demo's stand-in for LLaVA) are marked `noise: true` on the node, whatever
their source: every filter leaves them out unless its list names `noise`.
"""

from __future__ import annotations

NOISE = "noise"
MAX_SOURCES = 50
MAX_SOURCE_CHARS = 100


def parse_sources(names: list[str] | None) -> list[str] | None:
    """The names without blanks or repeats; ValueError (the caller's one-line message) when the list is
    empty or too long, or a name too long. None: every source but noise."""
    if names is None:
        return None
    kept = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not kept or len(kept) > MAX_SOURCES or any(len(n) > MAX_SOURCE_CHARS for n in kept):
        raise ValueError(f"sources needs 1 to {MAX_SOURCES} names of at most {MAX_SOURCE_CHARS} characters "
                         f"(e.g. mind-csv,intentionqa; {NOISE}: output of a model with random weights)")
    return kept
