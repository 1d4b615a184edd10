"""The `$sources` filter every read of intentions shares (search, recommend, stats, the evaluation).

`$sources` null: every source, but not noise (text or verdicts of a model with random weights,
`noise: true`); a list: intentions whose `source` is in it, noise only when the list names
`mindkb.sources.NOISE`.
"""

from __future__ import annotations

from mindkb.sources import NOISE


def source_filter(var: str, sources: str = "$sources") -> str:
    """A Cypher predicate on the intention bound to `var`, reading the list `sources` names (the
    `$sources` parameter, or a per-key value such as `k.sources` in a batched read)."""
    return (f"(CASE WHEN coalesce({var}.noise, false) THEN coalesce('{NOISE}' IN {sources}, false) "
            f"ELSE {sources} IS NULL OR {var}.source IN {sources} END)")
