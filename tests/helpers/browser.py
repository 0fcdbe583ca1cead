"""What a browser adds to a request, for tests that act as one: the page's origin, Fetch Metadata and the
CSRF token the page was given; and the two ways the app can run (no sign-in, Supabase access tokens)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt
from fastapi.testclient import TestClient
from pydantic import SecretStr

from training_data_studio.core.config import Settings
from training_data_studio.core.csrf import COOKIE

JWT_SECRET = "browser-safety-jwt-secret-long-enough-for-hs256"
APP_ORIGIN = "http://testserver"
EVIL_ORIGIN = "http://evil.example"


def access_token(sub: str, *, role: str = "authenticated", secret: str = JWT_SECRET, expires_in: int = 3600) -> str:
    claims = {"sub": sub, "role": role, "aud": "authenticated", "exp": int(time.time()) + expires_in}
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass(frozen=True)
class AuthMode:
    """One way of running the app, with the headers that sign a request in (none without sign-in)."""

    name: str
    settings: Settings
    user: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return bool(self.headers)


def auth_mode(name: str, **settings: object) -> AuthMode:
    if name == "local":
        return AuthMode(name, Settings(TDS_USER="dana", **settings), "dana")  # type: ignore[call-arg]
    user = str(uuid.uuid4())
    signed = Settings(SUPABASE_JWT_SECRET=SecretStr(JWT_SECRET), **settings)  # type: ignore[call-arg]
    return AuthMode(name, signed, user, {"Authorization": f"Bearer {access_token(user)}"})


AUTH_MODES = ("local", "signed_in")


def page_token(client: TestClient, headers: dict[str, str] | None = None) -> str:
    """Open a page as a browser does and return the CSRF token the app gave it (its cookie)."""
    response = client.get("/status", headers=headers or {})
    assert response.status_code == 200, response.text
    token = client.cookies.get(COOKIE)
    assert token, "the page set no CSRF cookie"
    return token


def same_origin(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers a page of the app sends with a write: its Origin, Sec-Fetch-Site and the CSRF token."""
    token = page_token(client, headers)
    return {**(headers or {}), "Origin": APP_ORIGIN, "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": token}


def cross_site(headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers a page on another site sends when it submits a form to the app."""
    return {**(headers or {}), "Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"}
