"""Where the checkout and the shared real data are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (as in CI); MIND_SHARED_DIR overrides it for other layouts.
SHARED = Path(os.environ.get("MIND_SHARED_DIR") or REPO.parent / "shared")


def shared_file(relative: str) -> Path:
    """A file of the shared real data: its tests skip on a clone without it, and fail under CI."""
    path = SHARED / relative
    if not path.is_file():
        message = f"shared data {path} not found (set MIND_SHARED_DIR to the folder holding {relative})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    return path
