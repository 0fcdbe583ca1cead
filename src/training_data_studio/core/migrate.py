"""Apply the hand-written SQL migrations in `supabase/migrations/`, then Procrastinate's own schema.

Each file runs in its own transaction and is recorded with its checksum. A file edited after it was
applied is refused: migrations are forward-only, so a change needs a new file. Two processes migrating
at once (the web server and a worker started together) serialise on an advisory lock.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from procrastinate.schema import SchemaManager

from .errors import AppError

# The repository layout (Supabase CLI): <repo>/supabase/migrations/<timestamp>_<intent>.sql
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "supabase" / "migrations"
# Any constant works; it only has to be the same in every process of this application.
MIGRATION_LOCK_ID = 7_302_114_551
PROCRASTINATE_MIGRATION = "procrastinate_schema"


class MigrationError(AppError):
    def __init__(self, message: str) -> None:
        super().__init__("migration", message, status=500)


@dataclass(frozen=True)
class MigrationFile:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MigrationResult:
    applied: list[str]
    already_applied: int


def migrations_dir() -> Path:
    return Path(os.environ.get("TDS_MIGRATIONS_DIR", DEFAULT_MIGRATIONS_DIR))


def load_migration_files(directory: Path | None = None) -> list[MigrationFile]:
    directory = directory or migrations_dir()
    if not directory.is_dir():
        raise MigrationError(f"Migrations folder {directory} does not exist (set TDS_MIGRATIONS_DIR).")
    return [MigrationFile(path.name, path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.sql"))]


def _procrastinate_file() -> MigrationFile:
    return MigrationFile(PROCRASTINATE_MIGRATION, SchemaManager.get_schema())


_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS tds_schema_migrations (
  name TEXT PRIMARY KEY,
  checksum TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def applied_migrations(conn: psycopg.Connection) -> dict[str, str]:
    exists = conn.execute("SELECT to_regclass('public.tds_schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT name, checksum FROM tds_schema_migrations ORDER BY name").fetchall()
    return {name: checksum for name, checksum in rows}


def migrate(conninfo: str, directory: Path | None = None) -> MigrationResult:
    files = load_migration_files(directory)
    applied_now: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute(_CREATE_LEDGER)
            done = applied_migrations(conn)
            _refuse_edited(files, done)
            pending = [f for f in files if f.name not in done]
            if PROCRASTINATE_MIGRATION not in done:
                pending.append(_procrastinate_file())
            for migration in pending:
                _apply_one(conn, migration)
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return MigrationResult(applied=applied_now, already_applied=len(files) + 1 - len(applied_now))


def _refuse_edited(files: list[MigrationFile], done: dict[str, str]) -> None:
    for migration in files:
        recorded = done.get(migration.name)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationError(
                f"Migration {migration.name} was edited after it was applied (checksum differs). "
                "Migrations are forward-only: restore the file and put the change in a new migration."
            )


def _apply_one(conn: psycopg.Connection, migration: MigrationFile) -> None:
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode("utf-8"))  # bytes: the whole file as one simple query
            conn.execute(
                "INSERT INTO tds_schema_migrations (name, checksum) VALUES (%s, %s)",
                (migration.name, migration.checksum),
            )
    except psycopg.Error as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MigrationError(f"Migration {migration.name} failed and was rolled back: {detail}") from exc


def pending_migrations(conninfo: str, directory: Path | None = None) -> list[str]:
    files = load_migration_files(directory)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        done = applied_migrations(conn)
    names = [f.name for f in files if f.name not in done]
    if PROCRASTINATE_MIGRATION not in done:
        names.append(PROCRASTINATE_MIGRATION)
    return names
