"""`tds db migrate|seed|verify`."""

from __future__ import annotations

import typer
from rich.table import Table

from ..core.config import get_settings
from .common import clear_errors, connected_database, console, err_console, migrate_database

db_app = typer.Typer(help="Database: migrate, seed, verify.", no_args_is_help=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending SQL migrations (and Procrastinate's schema); a no-op when up to date."""
    with clear_errors():
        database = connected_database()
        applied = migrate_database(database)
        if applied:
            for name in applied:
                console.print(f"applied {name}")
        else:
            console.print("database is up to date")
        database.dispose()


@db_app.command("seed")
def db_seed() -> None:
    """Load the shipped plan, templates and sample seeds; running it again changes nothing."""
    from ..plan.seed import seed_default_data

    with clear_errors():
        database = connected_database()
        migrate_database(database)
        with database.session_scope() as session:
            summary = seed_default_data(session, user=get_settings().user)
        console.print(summary.describe())
        database.dispose()


@db_app.command("verify")
def db_verify() -> None:
    """The requirements' verification: tables and column counts, row counts, orphan checks."""
    from ..system import service

    with clear_errors():
        database = connected_database()
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
