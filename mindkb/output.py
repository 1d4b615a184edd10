"""What commands print: progress on stderr, one JSON summary object as the last stdout line."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from tqdm import tqdm


def emit(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, default=str, ensure_ascii=False) + "\n")
    else:
        for key, value in summary.items():
            if isinstance(value, (dict, list)):
                value = json.dumps(value, default=str, ensure_ascii=False)
            sys.stdout.write(f"{key}: {value}\n")
    sys.stdout.flush()


def progress_wanted() -> bool:
    """Progress is shown when stderr is a terminal, or when MIND_PROGRESS=1."""
    return sys.stderr.isatty() or os.environ.get("MIND_PROGRESS") == "1"


def progress(total: int | None = None, desc: str = "", unit: str = "it", **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr; quiet when stderr is not a terminal unless MIND_PROGRESS=1."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not progress_wanted(),
                dynamic_ncols=True, **kwargs)


def note(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()
