"""`tds`: thin commands that call services. Every expected failure prints one line and exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .core.config import get_settings
from .core.db import Database, check_connection, resolve_target
from .core.errors import AppError
from .core.migrate import migrate

app = typer.Typer(help="Training Data Studio: annotated fine-tuning conversations on Postgres.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrate, seed, verify.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks whose results go to docs/benchmarks.md.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")

console = Console()
err_console = Console(stderr=True)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn an expected failure into one readable line and exit code 1; data is left as it was."""
    try:
        yield
    except AppError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _connected_database() -> Database:
    target = resolve_target(get_settings())
    check_connection(target)
    return Database(target)


def _migrate(database: Database) -> list[str]:
    result = migrate(database.target.conninfo)
    return result.applied


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending SQL migrations (and Procrastinate's schema); a no-op when up to date."""
    with clear_errors():
        database = _connected_database()
        applied = _migrate(database)
        if applied:
            for name in applied:
                console.print(f"applied {name}")
        else:
            console.print("database is up to date")
        database.dispose()


@db_app.command("seed")
def db_seed() -> None:
    """Load the shipped plan, templates and sample seeds; running it again changes nothing."""
    from .plan.seed import seed_default_data

    with clear_errors():
        database = _connected_database()
        _migrate(database)
        with database.session_scope() as session:
            summary = seed_default_data(session, user=get_settings().user)
        console.print(summary.describe())
        database.dispose()


@db_app.command("verify")
def db_verify() -> None:
    """The requirements' verification: tables and column counts, row counts, orphan checks."""
    from .system import service

    with clear_errors():
        database = _connected_database()
        with database.session_scope() as session:
            tables = service.table_info(session)
            checks = service.orphan_checks(session) if all(t.exists for t in tables) else []
        database.dispose()
    table = Table("table", "columns", "rows", title=f"Database ({database.target.mode})")
    for t in tables:
        table.add_row(t.name, str(t.column_count), "missing" if t.row_count is None else str(t.row_count))
    console.print(table)
    failed = [t.name for t in tables if not t.exists]
    for check in checks:
        mark = "[green]ok[/]" if check.ok else f"[red]{check.count} found[/]"
        console.print(f"{check.name}: {mark}")
        if not check.ok:
            failed.append(check.name)
    if failed:
        err_console.print(f"[bold red]verification failed:[/] {', '.join(failed)}")
        raise typer.Exit(1)
    console.print("[green]verification passed[/]")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Migrate, then serve the web app."""
    import uvicorn

    from .app import create_app

    settings = get_settings()
    with clear_errors():
        database = _connected_database()
        _migrate(database)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Training Data Studio on http://{bind_host}:{bind_port} ({database.target.mode} database)")
    uvicorn.run(create_app(settings, database), host=bind_host, port=bind_port, log_level=settings.log_level)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks run at once in this process.")] = 4,
) -> None:
    """Run a background worker against the same Postgres (start as many as you like, anywhere)."""
    from .jobs import run_worker

    with clear_errors():
        database = _connected_database()
        _migrate(database)
        target = database.target
        database.dispose()
    console.print(f"worker started ({target.mode} database)")
    run_worker(target, concurrency=concurrency)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Everything `make run` needs: migrate, seed an empty database, start one worker and the web app."""
    from .plan.seed import seed_default_data

    with clear_errors():
        database = _connected_database()
        _migrate(database)
        with database.session_scope() as session:
            summary = seed_default_data(session, user=get_settings().user, only_if_empty=True)
        console.print(summary.describe())
        database.dispose()
    worker_process = subprocess.Popen([sys.executable, "-m", "training_data_studio", "worker"], env=os.environ.copy())
    try:
        serve(host=host, port=port)
    finally:
        worker_process.terminate()
        worker_process.wait(timeout=30)
