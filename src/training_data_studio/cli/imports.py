"""`tds import <paths…>`, `tds import rollback <run-id>`, `tds import runs`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from ..core.config import get_settings
from ..core.errors import AppError

if TYPE_CHECKING:
    from ..imports.schemas import FileReport, ImportRunSummary
from .common import clear_errors, connected_database, console, migrate_database, plural


class _ImportGroup(TyperGroup):
    """`tds import <paths…>` runs the default command `run`; `rollback` and `runs` are subcommands."""

    default_command = "run"

    # ctx is Typer's vendored click Context (typer._click), a private module: typed loosely on purpose.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


import_app = typer.Typer(
    cls=_ImportGroup,
    help="Import seed files: `tds import <files or folders…>`; `tds import rollback <run-id>`; `tds import runs`.",
    no_args_is_help=True,
)


def _incomplete(report: FileReport) -> str:
    parts = []
    if report.incomplete:
        parts.append(f"{report.incomplete} incomplete")
    if report.open_endings:
        parts.append(f"{plural(report.open_endings, 'open ending')}")
    return "".join(f", [yellow]{part}[/]" for part in parts)


def _print_file_report(out: Console, report: FileReport) -> None:
    if report.status == "failed":
        out.print(f"[red]✗[/] {report.path}: [red]failed[/], nothing written", highlight=False, soft_wrap=True)
    elif report.status == "duplicate":
        out.print(f"[yellow]=[/] {report.path}: duplicate, skipped", highlight=False, soft_wrap=True)
    else:
        ids = ", ".join(report.conversation_ids)
        repaired = " [yellow](repaired)[/]" if report.repaired else ""
        out.print(
            f"[green]✓[/] {report.path}: {plural(report.conversations, 'conversation')} ({ids}), "
            f"{plural(report.turns, 'turn')}, {plural(report.sentences, 'sentence')}, "
            f"{plural(report.pairs_merged, 'pair')} merged{_incomplete(report)}{repaired}",
            highlight=False,
            soft_wrap=True,
        )
    for problem in report.errors:
        out.print(f"    [red]error:[/] {problem.describe(with_file=False)}", highlight=False, soft_wrap=True)
    if any(problem.code == "json_syntax" for problem in report.errors):
        out.print("    [dim]hint:[/] on the command line, import with repair is `tds import --repair`", highlight=False)
    for problem in report.skipped:
        out.print(f"    [yellow]duplicate:[/] {problem.describe(with_file=False)}", highlight=False, soft_wrap=True)
    for problem in report.warnings:
        out.print(f"    [yellow]warning:[/] {problem.describe(with_file=False)}", highlight=False, soft_wrap=True)


def _print_import_summary(summary: ImportRunSummary) -> None:
    totals = summary.totals
    table = Table("conversations", "turns", "sentences", "duplicates", "warnings", "errors", title="Import summary")
    table.add_row(
        *(str(n) for n in (totals.conversations, totals.turns, totals.sentences)),
        str(totals.duplicates),
        str(totals.warnings),
        str(totals.errors),
    )
    console.print(table)
    failed = f", {totals.failed_files} of {plural(totals.files, 'file')} failed" if totals.failed_files else ""
    if summary.dry_run:
        console.print(f"dry run: {summary.status}{failed}; nothing was written", highlight=False)
    else:
        console.print(f"run {summary.run_id}: {summary.status}{failed}", highlight=False)


@import_app.command("run")
def import_run(
    paths: Annotated[list[Path], typer.Argument(help="Seed JSON files, or folders of them (*.json).")],
    repair: Annotated[bool, typer.Option("--repair", help="Repair JSON syntax errors with json-repair.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Re-import conversations that already exist.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing.")] = False,
) -> None:
    """Import seed files (both layouts) into the dataset; exit code 1 if any file failed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..imports.schemas import ImportOptions, ProgressEvent
    from ..imports.service import import_paths

    options = ImportOptions(repair=repair, replace=replace, dry_run=dry_run, source="cli")
    with clear_errors():
        database = connected_database()
        migrate_database(database)
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
        )

        with progress:
            task = progress.add_task("", total=None)

            def on_progress(event: ProgressEvent) -> None:
                name = Path(event.path).name
                if event.kind == "conversation_checked":
                    name = f"{name}: conversation {event.conversation} of {event.conversations}"
                progress.update(task, total=event.total, description=name)
                if event.kind == "file_finished" and event.report is not None:
                    _print_file_report(progress.console, event.report)
                    progress.advance(task)

            with database.session_scope() as session:
                summary = import_paths(
                    session=session, paths=paths, user=get_settings().user, options=options, on_progress=on_progress
                )
        database.dispose()
    _print_import_summary(summary)
    if summary.totals.failed_files:
        raise typer.Exit(1)


@import_app.command("rollback")
def import_rollback(run_id: Annotated[str, typer.Argument(help="The id of the import run to undo.")]) -> None:
    """Undo exactly what one import run wrote (refused if a later run touched the same conversations)."""
    from ..imports.runs import rollback_import

    with clear_errors():
        try:
            ident = uuid.UUID(run_id)
        except ValueError:
            raise AppError("invalid_run_id", f"'{run_id}' is not an import run id (a UUID).") from None
        database = connected_database()
        migrate_database(database)
        with database.session_scope() as session:
            result = rollback_import(session, ident, user=get_settings().user)
        database.dispose()
    console.print(
        f"rolled back run {run_id}: {plural(len(result.deleted), 'conversation')} deleted, "
        f"{len(result.restored_to_plan)} restored to planned, {len(result.restored_previous)} restored to "
        "their previous content" + (f", {len(result.missing)} already gone" if result.missing else ""),
        highlight=False,
    )


@import_app.command("runs")
def import_runs(limit: Annotated[int, typer.Option(min=1, max=500, help="How many runs to show.")] = 20) -> None:
    """The most recent import runs."""
    from ..imports.runs import list_runs

    with clear_errors():
        database = connected_database()
        migrate_database(database)
        with database.session_scope() as session:
            runs = list_runs(session=session, limit=limit)
        database.dispose()
    table = Table(title="Import runs")
    table.add_column("run id", no_wrap=True, min_width=36)
    for heading in ("started", "by", "status", "conv.", "turns", "dupl.", "errors"):
        table.add_column(heading)
    for run_item in runs:
        t = run_item.totals
        table.add_row(
            str(run_item.run_id),
            f"{run_item.started_at:%Y-%m-%d %H:%M:%S}",
            run_item.created_by or "",
            run_item.status,
            str(t.conversations),
            str(t.turns),
            str(t.duplicates),
            str(t.errors),
        )
    console.print(table)
