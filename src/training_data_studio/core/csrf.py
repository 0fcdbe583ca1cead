"""Refuse cross-site writes: every unsafe request a browser sends must come from the app's own origin and
carry the page's CSRF token.

Why our own middleware: the app has no sign-in by default, yet spends money on the user's API key, and any
page the user visits can submit a form to 127.0.0.1. Two checks, both in one small ASGI middleware:

1. Origin. A browser names the page that sent a request in `Origin` (every modern browser does, for every
   POST), else in `Sec-Fetch-Site`, else in `Referer`. The host and port named must be this request's own
   `Host` (which the host guard has already checked); `Sec-Fetch-Site` must be `same-origin` (a page on
   another port of 127.0.0.1 is `same-site`, not same-origin, and is refused).
2. Token (double submit). Each browser gets a random token in a cookie; the pages put it in every form
   (a hidden `csrf_token` field) and in the `X-CSRF-Token` header HTMX sends (`hx-headers` on <body>). A
   write must carry the cookie's value. A page on another origin can neither read the cookie nor the page.

A request with none of Origin, Sec-Fetch-Site and Referer is not from a browser's page (the CLI, curl, a
script with a bearer token): no page can make a browser send one, so it passes without a token.
`asgi-csrf` (PyPI) was considered: it checks the token only, skips requests without cookies and has no
Origin / Fetch-Metadata check; see docs/decisions.md.
"""

from __future__ import annotations

import hmac
import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .csrf_token import FORM_FIELD, SCOPE_KEY
from .errors import render_error

COOKIE = "tds_csrf"
HEADER = b"x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# How much of a multipart body is read to find the token: the hidden field is the form's first part, so
# the files behind it are not held in memory. An urlencoded form is read whole (the body cap bounds it).
MAX_MULTIPART_SCAN_BYTES = 64 * 1024
_MULTIPART_FIELD = re.compile(
    rb'content-disposition:\s*form-data;\s*name="' + FORM_FIELD.encode() + rb'"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]*)\r\n',
    re.IGNORECASE,
)


def _cookie_token(headers: dict[bytes, bytes]) -> str | None:
    raw = headers.get(b"cookie")
    if not raw:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header only means there is no usable token
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel is not None and _TOKEN_SHAPE.fullmatch(morsel.value) else None


def _same_origin(url: str, own_host: str) -> bool:
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc.lower() == own_host


def cross_site_reason(headers: dict[bytes, bytes]) -> str | None:
    """Why this request was sent by a page of another origin, or None (same origin, or not a browser)."""
    own = headers.get(b"host", b"").decode("latin-1").strip().lower()
    origin = headers.get(b"origin", b"").decode("latin-1").strip()
    fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    referer = headers.get(b"referer", b"").decode("latin-1").strip()
    if origin and not _same_origin(origin, own):
        return f"it was sent by a page of another origin ({origin[:100]})"
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"the browser reports it as {fetch_site}"
    if not origin and not fetch_site and referer and not _same_origin(referer, own):
        return "it was sent from a page of another site"
    return None


def is_from_browser_page(headers: dict[bytes, bytes]) -> bool:
    return any(name in headers for name in (b"origin", b"sec-fetch-site", b"referer"))


class CsrfGuard:
    """Pure ASGI middleware: issues the token cookie, refuses cross-site and token-less browser writes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cookie_token = _cookie_token(headers)
        token = cookie_token or secrets.token_urlsafe(32)
        scope[SCOPE_KEY] = token
        if cookie_token is None:
            send = self._setting_cookie(send, token, secure=scope.get("scheme") == "https")

        if scope["method"] in SAFE_METHODS or not is_from_browser_page(headers):
            await self.app(scope, receive, send)
            return
        reason = cross_site_reason(headers)
        if reason is not None:
            await self._refuse(scope, receive, send, "cross_site_request", f"Refused: {reason}. ")
            return
        sent, receive = await self._token_sent(headers, receive)
        if cookie_token is None or sent is None or not hmac.compare_digest(sent, cookie_token):
            await self._refuse(
                scope, receive, send, "csrf_token", "Refused: the form's security token is missing or stale. "
            )
            return
        await self.app(scope, receive, send)

    async def _token_sent(self, headers: dict[bytes, bytes], receive: Receive) -> tuple[str | None, Receive]:
        """The token from the header, else from the form body (read up to the limit, then replayed)."""
        header = headers.get(HEADER)
        if header:
            return header.decode("latin-1").strip(), receive
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return None, receive
        limit = MAX_MULTIPART_SCAN_BYTES if content_type.startswith("multipart/") else None
        chunks: list[Message] = []
        seen = b""
        more = True
        while more and (limit is None or len(seen) < limit):
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            seen += message.get("body", b"")
            more = bool(message.get("more_body", False))

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        return _token_in_body(seen, content_type, complete=not more), replay

    def _setting_cookie(self, send: Send, token: str, *, secure: bool) -> Send:
        # Lax, not Strict: a Strict cookie is not sent when the user follows a link from another site, and
        # the page would then mint a new token under the pages already open. HttpOnly: pages render the
        # token themselves; no script needs to read the cookie.
        cookie = f"{COOKIE}={token}; Path=/; SameSite=Lax; HttpOnly" + ("; Secure" if secure else "")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        return send_with_cookie

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, code: str, why: str) -> None:
        message = (
            why + "Reload the page in the app and submit it from there; scripts and API clients send no Origin header."
        )
        response = render_error(Request(scope), 403, code, message, None)
        await response(scope, receive, send)


def _token_in_body(body: bytes, content_type: str, *, complete: bool) -> str | None:
    if content_type.startswith("multipart/form-data"):
        match = _MULTIPART_FIELD.search(body)
        return match.group(1).decode("latin-1").strip() if match else None
    if not complete:
        return None
    values = [v for k, v in parse_qsl(body.decode("latin-1"), keep_blank_values=True) if k == FORM_FIELD]
    return values[0] if values else None
