"""Engine, sessions and the choice between the embedded server and DATABASE_URL.

Both modes end in the same SQLAlchemy engine on psycopg 3, so every query runs the same way.
Sessions are committed in exactly one place: `session_scope` (CLI, tasks) or the request dependency.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings, get_settings
from .embedded import start_embedded
from .errors import AppError

DatabaseMode = Literal["embedded", "server"]


class DatabaseConfigError(AppError):
    def __init__(self, message: str) -> None:
        super().__init__("database_config", message, status=503)


@dataclass(frozen=True)
class DatabaseTarget:
    mode: DatabaseMode
    url: URL

    @property
    def conninfo(self) -> str:
        """A libpq URI for psycopg and Procrastinate (no SQLAlchemy driver suffix)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def describe(self) -> str:
        where = self.url.host or self.url.query.get("host") or "local socket"
        return f"{self.mode} ({where}, database {self.url.database})"


def parse_database_url(raw: str) -> URL:
    """Validate DATABASE_URL and return it with the psycopg driver, or say what is wrong."""
    hint = "expected postgresql://USER:PASSWORD@HOST:5432/DBNAME (optionally ?sslmode=require)"
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise DatabaseConfigError(f"DATABASE_URL is not a valid URL: {hint}.") from exc
    backend = url.drivername.split("+", 1)[0]
    if backend not in ("postgresql", "postgres"):
        raise DatabaseConfigError(f"DATABASE_URL uses '{url.drivername}', not PostgreSQL: {hint}.")
    if not url.database:
        raise DatabaseConfigError(f"DATABASE_URL names no database: {hint}.")
    if not url.host and "host" not in url.query:
        raise DatabaseConfigError(f"DATABASE_URL names no host: {hint}.")
    return url.set(drivername="postgresql+psycopg")


def resolve_target(settings: Settings | None = None, *, keep_embedded_running: bool = False) -> DatabaseTarget:
    settings = settings or get_settings()
    if settings.database_url:
        return DatabaseTarget("server", parse_database_url(settings.database_url))
    uri = start_embedded(settings.data_dir, keep_running=keep_embedded_running)
    return DatabaseTarget("embedded", make_url(uri).set(drivername="postgresql+psycopg"))


def check_connection(target: DatabaseTarget) -> None:
    """Fail early with one clear line when the server cannot be reached."""
    try:
        with psycopg.connect(target.conninfo, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseConfigError(
            f"Cannot connect to the database ({target.describe()}): {first_line}. "
            "Check that the server is running and that DATABASE_URL is right."
        ) from exc


def make_engine(target: DatabaseTarget, *, pool_size: int = 5) -> Engine:
    return create_engine(
        target.url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=10,
        json_serializer=lambda obj: json.dumps(obj, ensure_ascii=False),
    )


class Database:
    """A process's handle on its database: target, engine and session factory."""

    def __init__(self, target: DatabaseTarget, *, pool_size: int = 5) -> None:
        self.target = target
        self.engine = make_engine(target, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def connect(cls, settings: Settings | None = None, *, check: bool = True) -> Database:
        target = resolve_target(settings)
        if check:
            check_connection(target)
        return cls(target)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


API_ROLES = ("authenticated", "anon")


def act_as(session: Session, *, role: str, user_id: str, claims: dict[str, object]) -> None:
    """Run the rest of this transaction as a Supabase API role with this user's claims, so the
    row-level-security policies apply exactly as they do on Supabase."""
    if role not in API_ROLES:  # SET ROLE takes no parameter: only these two literals are ever spliced in
        raise ValueError(f"unknown API role {role!r}")
    session.execute(text(f"SET LOCAL ROLE {role}"))
    session.execute(text("SELECT set_config('request.jwt.claims', :claims, true)"), {"claims": json.dumps(claims)})
    session.execute(text("SELECT set_config('request.jwt.claim.sub', :sub, true)"), {"sub": user_id})


__all__ = [
    "Database",
    "DatabaseConfigError",
    "DatabaseTarget",
    "OperationalError",
    "act_as",
    "check_connection",
    "parse_database_url",
    "resolve_target",
]
