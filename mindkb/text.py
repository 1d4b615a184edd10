"""Text fields as every loader stores them: entities unescaped, whitespace collapsed, bounded."""

from __future__ import annotations

import html

MAX_TEXT = 20_000  # characters kept per text field


def clean_text(value: object) -> str | None:
    """HTML entities unescaped, whitespace collapsed, Unicode kept; None when empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    text = " ".join(html.unescape(value).split())
    return text[:MAX_TEXT] or None
