"""Shared by every command: the top-level Typer app, the consoles, and turning expected failures into one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from ..core.config import get_settings
from ..core.db import Database, check_connection, resolve_target
from ..core.errors import AppError
from ..core.migrate import migrate

app = typer.Typer(help="Training Data Studio: annotated fine-tuning conversations on Postgres.", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)
# `tds generate` paused by Ctrl-C: the Unix convention for a program ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn an expected failure into one readable line and exit code 1; data is left as it was."""
    try:
        yield
    except AppError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def connected_database() -> Database:
    target = resolve_target(get_settings())
    check_connection(target)
    return Database(target)


def migrate_database(database: Database) -> list[str]:
    result = migrate(database.target.conninfo)
    return result.applied


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def ids_option(ids: str | None) -> list[str] | None:
    if ids is None:
        return None
    parsed = [part.strip() for part in ids.split(",") if part.strip()]
    if not parsed:
        raise AppError("invalid_ids", "--ids is empty: give comma-separated conversation ids, e.g. fp_marcus_011.")
    return parsed
