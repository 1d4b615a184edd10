"""How many candidates `searchIntentions` asks the vector index for, at the least.

MIND_API_SEARCH_MIN_FETCH when it is set; else the index's own calibration (retrieval/calibrate.py:
the smallest count whose recall@10 reached the target on this index), re-read every REFRESH_S so a
new calibration reaches running servers; else the setting's default.
"""

from __future__ import annotations

import asyncio
import time

from graph.aio import AsyncGraph
from mindkb.settings import Settings
from retrieval.calibrate import read_calibrated_fetch

REFRESH_S = 60.0


class SearchFetch:
    """One per API process: the calibration is one small read a minute, not one per request."""

    def __init__(self, settings: Settings) -> None:
        self.default = settings.api_search_min_fetch
        self.explicit = "api_search_min_fetch" in settings.model_fields_set
        self.calibrated: int | None = None
        self._read_at = -REFRESH_S
        self._lock = asyncio.Lock()

    async def least(self, graph: AsyncGraph) -> int:
        if self.explicit:
            return self.default
        if time.monotonic() - self._read_at >= REFRESH_S:
            async with self._lock:
                if time.monotonic() - self._read_at >= REFRESH_S:
                    self.calibrated = await read_calibrated_fetch(graph)
                    self._read_at = time.monotonic()
        return self.calibrated or self.default
