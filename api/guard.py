"""An ASGI guard in front of /graphql: body size limit and JSON shape checks.

strawberry answers a JSON body that is not an object (`null`, a string, a list of operations) or
not UTF-8 with a 500; a huge body would be read whole before any GraphQL limit applies. Both are
refused here with a 4xx and a GraphQL-shaped error.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def json_body_problem(body: bytes) -> str | None:
    """Why a JSON request body cannot be one GraphQL operation; None when it can."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "request body is not valid UTF-8 JSON"
    if isinstance(value, list):
        return "batched operations are not supported: send one operation per request"
    if not isinstance(value, dict):
        return "request body must be a JSON object with a `query`"
    return None


class GraphQLBodyGuard:
    def __init__(self, app: ASGIApp, path: str, max_bytes: int):
        self.app, self.path, self.max_bytes = app, path, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
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
        content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type == b"application/json" and (problem := json_body_problem(body)):
            await _refuse(send, 400, problem)
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
