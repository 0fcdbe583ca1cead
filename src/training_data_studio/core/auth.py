"""Who is acting. Locally: the one configured user (TDS_USER). With SUPABASE_JWT_SECRET set: the user of a
verified Supabase access token (bearer header or the `sb-access-token` cookie), whose database work then
runs as the token's role so the row-level-security policies apply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from fastapi import HTTPException, Request

from .config import Settings
from .db import API_ROLES

TOKEN_COOKIE = "sb-access-token"
# Supabase signs access tokens with HS256 and the audience "authenticated".
JWT_ALGORITHMS = ["HS256"]


@dataclass(frozen=True)
class CurrentUser:
    id: str
    role: str | None = None  # None: the local user, working as the database owner
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_rls(self) -> bool:
        return self.role is not None


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def authenticate(request: Request, settings: Settings) -> CurrentUser:
    if not settings.auth_required:
        return CurrentUser(id=settings.user)
    token = _token_from(request)
    if not token:
        raise _unauthorized("Sign-in required: send a Supabase access token as a Bearer header.")
    assert settings.supabase_jwt_secret is not None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.supabase_jwt_secret.get_secret_value(),
            algorithms=JWT_ALGORITHMS,
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("The access token has expired: sign in again.") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized("The access token is not valid.") from exc
    role = str(claims.get("role") or "authenticated")
    if role == "anon":
        # The anon key's token is valid but names nobody; the policies give it nothing to read or write.
        raise HTTPException(status_code=403, detail="Sign in first: an anonymous token cannot use the studio.")
    if role not in API_ROLES:
        raise _unauthorized(f"The access token's role '{role[:40]}' is not allowed here.")
    subject = str(claims["sub"])
    try:
        # auth.uid() casts `sub` to uuid inside every policy: anything else would fail there, in the middle
        # of a write, instead of here.
        uuid.UUID(subject)
    except ValueError as exc:
        raise _unauthorized("The access token's subject (sub) is not a Supabase user id (a UUID).") from exc
    return CurrentUser(id=subject, role=role, claims=claims)
