"""The knowledge base's measures, defined once for `mind stats`, GraphQL and the reports."""

from __future__ import annotations

# The paper: the role-aware filter kept 46.7% of the generated intentions.
PAPER_PRESERVE_RATE = 0.467


def preserve_rate(accepted: int, rejected: int, undecided: int) -> float | None:
    """accepted / filtered, where filtered = accepted + rejected + undecided (every intention the
    filter answered, a verdict it could not parse included); None before anything was filtered.

    Not rounded: callers round once, where they show it.
    """
    filtered = accepted + rejected + undecided
    return accepted / filtered if filtered else None
