"""What every benchmark shares: a fresh database to run on, the machine line, and docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from ..core.config import Settings
from ..core.db import DatabaseTarget, check_connection, parse_database_url
from ..core.embedded import start_embedded

DOCS_FILE = Path(__file__).resolve().parents[3] / "docs" / "benchmarks.md"


@contextmanager
def fresh_database(settings: Settings, *, prefix: str) -> Iterator[DatabaseTarget]:
    """A new, empty database on the configured server (DATABASE_URL) or the embedded one, dropped after."""
    if settings.database_url:
        admin = parse_database_url(settings.database_url)
        mode = "server"
    else:
        admin = make_url(start_embedded(settings.data_dir)).set(drivername="postgresql+psycopg")
        mode = "embedded"
    admin_info = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_info, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = DatabaseTarget(mode, admin.set(database=name))  # type: ignore[arg-type]
    check_connection(target)
    try:
        yield target
    finally:
        with psycopg.connect(admin_info, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_version(conninfo: str) -> str:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def machine_line(postgres_version: str | None = None) -> str:
    line = f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    return f"{line}, PostgreSQL {postgres_version}" if postgres_version else line


def append_section(title: str, body: str, path: Path = DOCS_FILE) -> Path:
    """Append `## title, <date>` and the body to docs/benchmarks.md (created with its heading if missing)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(existing.rstrip("\n") + f"\n\n## {title}, {stamp}\n\n{body.strip()}\n", encoding="utf-8")
    return path
