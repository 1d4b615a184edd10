"""Driver construction and the two ways the project talks to Neo4j.

Writes go through `write_batches`: one managed transaction per batch, so the driver retries
transient errors and a failing batch leaves nothing behind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any, NoReturn, TypeVar

import neo4j
from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j import exceptions as neo4j_errors
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from mindkb.errors import MindError
from mindkb.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)


def driver_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Connection settings shared by the sync driver and the API's async one."""
    return {
        "auth": (settings.neo4j_user, settings.password()),
        "connection_timeout": settings.neo4j_connect_timeout,
        "max_transaction_retry_time": settings.neo4j_tx_retry_seconds,
        "notifications_min_severity": "OFF",
        "user_agent": "mind-kb",
        **overrides,
    }


def server_uri(settings: Settings) -> str:
    """NEO4J_URI; validated settings always hold one (the local server's when none is given)."""
    if settings.neo4j_uri is None:
        raise MindError("NEO4J_URI is not set")
    return settings.neo4j_uri


def make_driver(settings: Settings) -> Driver:
    return GraphDatabase.driver(server_uri(settings), **driver_options(settings))


@contextmanager
def connect(settings: Settings) -> Iterator[Driver]:
    """A verified driver; connection and credential failures become one-line MindErrors."""
    driver = make_driver(settings)
    try:
        try:
            driver.verify_connectivity()
        except neo4j_errors.AuthError:
            raise MindError(
                f"Neo4j at {settings.neo4j_uri} rejected the credentials of user "
                f"{settings.neo4j_user!r} (check NEO4J_USER / NEO4J_PASSWORD)"
            ) from None
        except (neo4j_errors.ServiceUnavailable, OSError, ValueError) as exc:  # ValueError: unresolvable host
            hint = " (start it with `mind db start`)" if settings.uses_local_server else ""
            raise MindError(f"cannot reach Neo4j at {settings.neo4j_uri}{hint}: {connection_reason(exc)}") from None
        yield driver
    finally:
        driver.close()


def bolt_ready(settings: Settings) -> bool:
    """True once the server answers a query; used while a local server starts."""
    try:
        with GraphDatabase.driver(server_uri(settings), **driver_options(settings, connection_timeout=2.0)) as driver:
            driver.execute_query("RETURN 1", database_=settings.neo4j_database)
        return True
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, neo4j_errors.DatabaseUnavailable,
            neo4j_errors.TransientError, OSError):
        return False
    except neo4j_errors.ClientError as exc:
        # The system database answers before the default database has finished starting.
        if "DatabaseNotFound" in (exc.code or "") or "Unavailable" in (exc.code or ""):
            return False
        raise


def chunked(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def write(driver: Driver, database: str, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one named write function in one managed (retried) transaction."""
    with driver.session(database=database) as session:
        return session.execute_write(work, *args, **kwargs)


def read(driver: Driver, database: str, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        return session.execute_read(work, *args, **kwargs)


def write_batches(
    driver: Driver,
    database: str,
    work: Callable[[ManagedTransaction, list[dict]], Any],
    rows: Iterable[dict],
    batch_size: int,
) -> int:
    """Write `rows` with `work` in batches, one transaction each; returns the rows written."""
    written = 0
    with driver.session(database=database) as session:
        for batch in chunked(rows, batch_size):
            session.execute_write(work, batch)
            written += len(batch)
    return written


def database_unavailable(exc: BaseException) -> bool:
    """The server is down, restarting or unreachable: worth waiting for, unlike a Cypher or auth error."""
    if isinstance(exc, (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired,
                        neo4j_errors.DatabaseUnavailable, ConnectionError)):
        return True
    # While restarting, the system database answers before the default one is back.
    code = getattr(exc, "code", None) or ""
    return isinstance(exc, neo4j_errors.Neo4jError) and ("DatabaseNotFound" in code or "Unavailable" in code)


@dataclass
class Patient:
    """`read`/`write` that wait for an unreachable database with exponential back-off (tenacity).

    The driver already retries one transaction for a short while; this outer loop covers a server
    that is down for longer (a restart), says on stderr what it waits for, and gives up with one
    line after `wait_seconds` in total.
    """

    driver: Driver
    database: str
    uri: str
    wait_seconds: float

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(database_unavailable),
            wait=wait_exponential(multiplier=0.5, min=0.5, max=10.0),
            stop=stop_after_delay(self.wait_seconds),
            before_sleep=self._say_waiting,
            retry_error_callback=self._give_up,
        )

    def _say_waiting(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("waiting for Neo4j at %s (%s); attempt %d, next try in %.1fs, giving up after %.0fs "
                    "(MIND_DB_WAIT_SECONDS)", self.uri, type(exc).__name__, state.attempt_number, delay,
                    self.wait_seconds)

    def _give_up(self, state: RetryCallState) -> NoReturn:
        exc = state.outcome.exception() if state.outcome else None
        raise MindError(
            f"Neo4j at {self.uri} stayed unreachable for {self.wait_seconds:.0f}s (MIND_DB_WAIT_SECONDS): "
            f"{connection_reason(exc) if exc else 'no answer'}; committed work is kept, re-run to continue")

    def read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._retrying()(read, self.driver, self.database, work, *args, **kwargs)

    def write(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._retrying()(write, self.driver, self.database, work, *args, **kwargs)


def connection_reason(exc: BaseException) -> str:
    """Why a connection failed, as the end of one sentence: the driver's message is "Couldn't connect
    to ... (resolved to ...):" with the reasons on the lines below, e.g. "connection refused"."""
    text = str(exc)
    reasons = [re.sub(r"^\[Errno -?\d+\]\s*", "", r).strip() for r in re.findall(r"\(reason ([^)]*)\)", text)]
    reasons = list(dict.fromkeys(r[:1].lower() + r[1:] for r in reasons if r))
    if reasons:
        return "; ".join(reasons)
    lines = [line.strip().rstrip(":").strip() for line in text.splitlines() if line.strip().rstrip(":").strip()]
    return lines[-1][:1].lower() + lines[-1][1:] if lines else type(exc).__name__
