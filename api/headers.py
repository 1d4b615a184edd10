"""Security headers on every response, and the Content-Security-Policy of the GraphiQL page.

Every answer says: never sniff a content type, never show this in a frame, send no referrer, and
(unless it sets its own policy) load nothing at all. The GraphiQL page gets a policy that allows
exactly what it uses: scripts and styles from this server, its one inline script by hash, fetches
to this server; no other origin, no plugins, no frames.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def page_policy(html: str) -> str:
    """The CSP of a page whose inline scripts are exactly those in `html` (by their sha256)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html))
    # Styles inline too: GraphiQL and CodeMirror set style attributes as they draw.
    return ("default-src 'none'; "
            f"script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class SecurityHeaders:
    """Adds HEADERS, and STRICT_POLICY where a response sets no Content-Security-Policy of its own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in HEADERS.items() if name not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", STRICT_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
