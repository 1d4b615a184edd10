"""The write key: who may write, how often a client may guess, and an audit line per write.

- The key is compared in constant time; a missing or wrong key costs the client one token of a
  per-address bucket (`MIND_API_KEY_FAILURES_PER_MINUTE` at once, refilled over a minute). With
  the bucket empty its writes are refused before the key is even compared, so guessing runs at
  that rate at most.
- Failures are logged once per burst (a burst starts with a failure while the client's bucket is
  full, so it lasts until the bucket has refilled), one line without a traceback, never per attempt
  and never with the key.
- A key is known in logs and in `curatedBy` by its id: a short, slow hash of it (PBKDF2), which
  tells keys apart without giving a guesser a fast way to test candidates.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from api.errors import KeyRefused, one_line

log = logging.getLogger("api.keys")
audit_log = logging.getLogger("api.audit")

WINDOW_S = 60.0
MAX_CLIENTS = 10_000  # addresses tracked at once; the least recently failing are forgotten first
CURATOR = re.compile(r"^[A-Za-z0-9 ._@-]{1,64}$")


def key_id(key: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), b"mind-kb api key id", 100_000)
    return "k-" + digest.hex()[:8]


def given_key(headers: Mapping[str, str]) -> str:
    """The key a request carries: `X-API-Key`, else `Authorization: Bearer`; '' when none."""
    given = headers.get("x-api-key") or ""
    auth = headers.get("authorization") or ""
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return given


def curator(headers: Mapping[str, str], kid: str) -> str:
    """`curatedBy`: the `X-Curator` name the client claims, bounded to plain characters, with the id
    of the key that proved the write (the name alone is only a claim); the key id alone without one."""
    name = (headers.get("x-curator") or "").strip()
    return f"{name} (key {kid})" if CURATOR.match(name) else f"key {kid}"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class KeyCheck:
    """The configured key and the per-client failure buckets of one API process."""

    def __init__(self, key: SecretStr | None, failures_per_minute: int,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS):
        self._key = key.get_secret_value().encode() if key is not None else None
        self.key_id = key_id(key.get_secret_value()) if key is not None else None
        self.capacity = float(failures_per_minute)
        self.rate = self.capacity / WINDOW_S  # tokens back per second
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, client: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(client)
        if bucket is not None:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def authorise(self, headers: Mapping[str, str], client: str) -> str:
        """The key id when the request carries the key; KeyRefused (a clear one-line reason) otherwise."""
        if self._key is None:
            raise KeyRefused("writes are disabled: no API key is configured on the server (MIND_API_KEY)")
        now = self.clock()
        bucket = self._bucket(client, now)
        if bucket is not None and bucket.tokens < 1:
            wait = math.ceil((1 - bucket.tokens) / self.rate)
            raise KeyRefused(f"too many failed API key attempts from this address; try again in {wait} s")
        if hmac.compare_digest(given_key(headers).encode(), self._key):
            return self.key_id or ""
        if bucket is None or bucket.tokens >= self.capacity:  # a new burst: the one line it gets
            log.warning("API key refused for client %s (missing or wrong key); further failures in this burst "
                        "are not logged, and past %d a minute its writes are refused unchecked",
                        one_line(client), self.capacity)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(self.capacity, now)
        bucket.tokens -= 1
        self._buckets.move_to_end(client)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        raise KeyRefused("missing or wrong API key (send it as X-API-Key or Authorization: Bearer)")


def audit(kid: str, client: str, curated_by: str, mutation: str, **targets: object) -> None:
    """One line per successful write: which key, from where, as whom, what, on which ids."""
    fields = " ".join(f"{name}={one_line(str(value))}" for name, value in targets.items())
    audit_log.info("audit: key=%s client=%s curatedBy=%r mutation=%s %s", kid, one_line(client), curated_by,
                   mutation, fields)
