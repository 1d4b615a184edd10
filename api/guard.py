"""An ASGI guard in front of /graphql: body and document size limits and JSON shape checks.

strawberry answers a JSON body that is not an object (`null`, a string, a list of operations) or
not UTF-8 with a 500; a huge body would be read whole before any GraphQL limit applies, and a
document of a megabyte (a search with its text inlined) would be lexed, parsed and validated on
the event loop. All are refused here, before GraphQL sees them, with a 4xx and a GraphQL-shaped
error: a body over `max_bytes` (unread when its Content-Length says so), a `query` text over
`max_query_bytes` (POST or GET), and a GET query string longer than three times that (room for
percent-encoding and variables).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

URL_ENCODING = 3  # a percent-encoded byte takes up to three characters


def document_problem(query: object, max_query_bytes: int) -> str | None:
    if isinstance(query, str) and (len(query) > max_query_bytes
                                   or len(query.encode("utf-8", "replace")) > max_query_bytes):
        return (f"GraphQL document (`query`) is larger than {max_query_bytes} bytes; "
                "send long texts as variables")
    return None


def json_body_problem(body: bytes, max_query_bytes: int | None = None) -> tuple[int, str] | None:
    """Why a JSON request body cannot be one GraphQL operation (status, reason); None when it can."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return 400, "request body is not valid UTF-8 JSON"
    if isinstance(value, list):
        return 400, "batched operations are not supported: send one operation per request"
    if not isinstance(value, dict):
        return 400, "request body must be a JSON object with a `query`"
    if max_query_bytes is not None and (problem := document_problem(value.get("query"), max_query_bytes)):
        return 413, problem
    return None


def query_string_problem(query_string: bytes, max_query_bytes: int) -> tuple[int, str] | None:
    """Why a GET's query string is refused (status, reason); None when it is not."""
    if len(query_string) > URL_ENCODING * max_query_bytes:
        return 414, f"query string is longer than {URL_ENCODING * max_query_bytes} bytes"
    try:
        params = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return 400, "query string cannot be parsed"
    for query in params.get("query", []):
        if problem := document_problem(query, max_query_bytes):
            return 413, problem
    return None


class GraphQLBodyGuard:
    def __init__(self, app: ASGIApp, path: str, max_bytes: int, max_query_bytes: int):
        self.app, self.path, self.max_bytes, self.max_query_bytes = app, path, max_bytes, max_query_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and (problem := query_string_problem(scope.get("query_string", b""),
                                                                         self.max_query_bytes)):
            await _refuse(send, *problem)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:  # refused before a byte of it is read
            await _refuse(send, 413, f"request body is larger than {self.max_bytes} bytes")
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, 413, f"request body is larger than {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        # strawberry reads the body as JSON whenever its type contains application/json.
        if b"application/json" in content_type and (problem := json_body_problem(body, self.max_query_bytes)):
            await _refuse(send, *problem)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    payload = json.dumps({"data": None, "errors": [{"message": message}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
