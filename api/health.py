"""GET /healthz: whether the database answers, checked at most once per `ttl` seconds.

Load balancers and orchestrators poll health often; each poll sharing one recent ping keeps them
from costing a database round trip each (and from queueing behind slow queries). Concurrent polls
wait on the same ping.
"""

from __future__ import annotations

import asyncio
import time

from graph.aio import AsyncGraph

# Within a second a poll has its answer, 503 when the ping did not come back: an orchestrator
# learns of an outage at once, and a poll never queues behind the driver's retries.
TIMEOUT_S = 0.9


class HealthCheck:
    def __init__(self, ttl: float):
        self.ttl = ttl
        self._checked_at = float("-inf")
        self._healthy = False
        self._lock = asyncio.Lock()
        self.pings = 0

    async def healthy(self, graph: AsyncGraph) -> bool:
        if time.monotonic() - self._checked_at < self.ttl:
            return self._healthy
        async with self._lock:
            if time.monotonic() - self._checked_at < self.ttl:  # another poll just checked
                return self._healthy
            self.pings += 1
            try:
                await graph.ping()
                self._healthy = True
            except Exception:  # any failure means "not healthy"; the reason stays in the server
                self._healthy = False
            self._checked_at = time.monotonic()
            return self._healthy
