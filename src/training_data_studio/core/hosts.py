"""Refuse requests whose Host header is not one of the app's own names (DNS rebinding).

A page on evil.example can make its own name resolve to 127.0.0.1 and then read and write the app as if it
were same-origin; the only thing the browser cannot change is the Host header, which names evil.example.
Starlette's TrustedHostMiddleware does the same check but answers with plain text; this one answers with
the app's error shape, like every other refusal.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import render_error


def host_name(host_header: str) -> str:
    """The name part of a Host header ("127.0.0.1:8000" -> "127.0.0.1", "[::1]:8000" -> "::1"), lower-cased."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """Pure ASGI middleware: 400 for any HTTP request whose Host is not in `allowed`."""

    def __init__(self, app: ASGIApp, *, allowed: Collection[str]) -> None:
        self.app = app
        self.allowed = frozenset(name.lower() for name in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw = headers.get(b"host", b"").decode("latin-1")
        if host_name(raw) in self.allowed:
            await self.app(scope, receive, send)
            return
        message = (
            f"This server does not answer to the host name '{host_name(raw) or '(none)'}'. "
            "Open it as http://127.0.0.1 or http://localhost, or add the name to TDS_ALLOWED_HOSTS."
        )
        response = render_error(Request(scope), 400, "host_not_allowed", message, None)
        await response(scope, receive, send)
