"""Cap the size of request bodies before anything reads them.

FastAPI reads a JSON body whole and parses it before validation can refuse it: a 200 MB body to a PATCH
route cost half a gigabyte of memory. This middleware refuses a declared Content-Length over the cap at
once, and stops a chunked (or lying) body as soon as the bytes received pass it. Upload routes are exempt:
Starlette streams multipart files to temporary files, and the importer applies its own per-file limit.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import render_error

# Ample for every JSON or form body the app takes (a template prompt, a list of ids, review notes).
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body passes the cap. An HTTPException, so that FastAPI's body
    parsing passes it on (it turns other errors into a 400) and its handler answers 413 with the error
    shape; raised outside FastAPI (a middleware reading the body), this middleware answers it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))


def _too_large_message(limit: int) -> str:
    return (
        f"The request body is larger than {limit // 1024} KiB, the most this route accepts. "
        "Send less at once (seed files go to the import upload, which takes up to 20 MB a file)."
    )


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over `limit` bytes on any path not in `exempt_paths`."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES, exempt_paths: Collection[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return

        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            if started:  # the app answered before reading the whole body; nothing more can be said
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = render_error(Request(scope), 413, "body_too_large", _too_large_message(self.limit), None)
        await response(scope, receive, send)
