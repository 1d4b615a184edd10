"""Errors a client caused: shown to it as GraphQL errors and logged as one line; anything else is masked.

A user error (bad input, an unknown asin, a refused document) is the client's business: one INFO
line, no traceback. An unexpected exception keeps strawberry's full log record (ERROR, with the
traceback) and reaches the client only as "Unexpected error.".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from graph.aio import GraphUnavailable

log = logging.getLogger("strawberry.execution")
MAX_LOGGED = 300  # characters of a message in a log line


class UserError(Exception):
    """Bad input or a refused operation; its message is safe to show."""


class KeyRefused(UserError):
    """A write without the right key: the key check logs these once per burst, not per request."""


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions (no internals leak); keep validation and user errors readable."""
    original = error.original_error
    return original is not None and not isinstance(original, (UserError, GraphQLError, GraphUnavailable))


class MaskUnexpected(MaskErrors):
    """strawberry's MaskErrors, bound to its own request.

    One extension instance serves every request and strawberry points its `execution_context` at
    the newest one, so after the request's awaits MaskErrors would mask another request's result and
    leave this one's internals in the answer; the context is taken before the operation runs.
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        yield
        result = context.result
        if result is not None and getattr(result, "errors", None):
            self._process_result(result)


def one_line(text: str) -> str:
    """A message as one bounded log line: no line breaks or control characters from the client."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    return flat if len(flat) <= MAX_LOGGED else flat[:MAX_LOGGED] + "..."


def client_of(execution_context: ExecutionContext | None) -> str:
    request = getattr(getattr(execution_context, "context", None), "request", None)
    client = getattr(request, "client", None)
    return client.host if client is not None else "-"


class DriverRetryNotices(logging.Filter):
    """Drops the driver's "Transaction failed and will be retried" warnings (two lines per retry):
    in the API a request that fails is logged once, by `log_errors`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Transaction failed and will be retried")


def quiet_driver_retries() -> None:
    pool = logging.getLogger("neo4j.pool")
    if not any(isinstance(f, DriverRetryNotices) for f in pool.filters):
        pool.addFilter(DriverRetryNotices())


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
    """Schema.process_errors: one line per user error, strawberry's traceback only for the unexpected."""
    for error in errors:
        original = error.original_error
        if isinstance(original, KeyRefused):
            continue
        if original is None or isinstance(original, (UserError, GraphQLError)):
            log.info("GraphQL error for %s: %s", client_of(execution_context), one_line(error.message))
        elif isinstance(original, GraphUnavailable):
            log.warning("GraphQL request failed for %s: %s", client_of(execution_context), one_line(error.message))
        else:
            StrawberryLogger.error(error, execution_context)
