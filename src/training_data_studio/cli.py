"""`tds`: thin commands that call services. Every expected failure prints one line and exits non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from .core.config import get_settings
from .core.db import Database, check_connection, resolve_target
from .core.errors import AppError
from .core.migrate import migrate

if TYPE_CHECKING:
    from .imports.schemas import FileReport, ImportRunSummary

app = typer.Typer(help="Training Data Studio: annotated fine-tuning conversations on Postgres.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrate, seed, verify.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks whose results go to docs/benchmarks.md.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")

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
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(create_app(settings, database), host=bind_host, port=bind_port, log_level=settings.log_level)


def _exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    """After a graceful shutdown uvicorn raises the signal it stopped on again. SIGTERM's default action would
    then end the process on the spot: no `finally`, no exit handlers, so `tds run`'s worker and the embedded
    server it started would be left running. Exiting with the usual 128 + signal code runs them."""
    raise SystemExit(128 + signum)


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


# --------------------------------------------------------------------------------------------------
# tds import <paths…> | tds import rollback <run-id> | tds import runs
# --------------------------------------------------------------------------------------------------


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
app.add_typer(import_app, name="import")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _print_file_report(out: Console, report: FileReport) -> None:
    if report.status == "failed":
        out.print(f"[red]✗[/] {report.path}: [red]failed[/], nothing written", highlight=False, soft_wrap=True)
    elif report.status == "duplicate":
        out.print(f"[yellow]=[/] {report.path}: duplicate, skipped", highlight=False, soft_wrap=True)
    else:
        ids = ", ".join(report.conversation_ids)
        repaired = " [yellow](repaired)[/]" if report.repaired else ""
        out.print(
            f"[green]✓[/] {report.path}: {_plural(report.conversations, 'conversation')} ({ids}), "
            f"{_plural(report.turns, 'turn')}, {_plural(report.sentences, 'sentence')}{repaired}",
            highlight=False,
            soft_wrap=True,
        )
    for problem in report.errors:
        out.print(f"    [red]error:[/] {problem.describe(with_file=False)}", highlight=False, soft_wrap=True)
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
    failed = f", {totals.failed_files} of {_plural(totals.files, 'file')} failed" if totals.failed_files else ""
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

    from .imports.schemas import ImportOptions, ProgressEvent
    from .imports.service import import_paths

    options = ImportOptions(repair=repair, replace=replace, dry_run=dry_run, source="cli")
    with clear_errors():
        database = _connected_database()
        _migrate(database)
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
                progress.update(task, total=event.total, description=Path(event.path).name)
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
    from .imports.service import rollback_import

    with clear_errors():
        try:
            ident = uuid.UUID(run_id)
        except ValueError:
            raise AppError("invalid_run_id", f"'{run_id}' is not an import run id (a UUID).") from None
        database = _connected_database()
        _migrate(database)
        with database.session_scope() as session:
            result = rollback_import(session, ident, user=get_settings().user)
        database.dispose()
    console.print(
        f"rolled back run {run_id}: {_plural(len(result.deleted), 'conversation')} deleted, "
        f"{len(result.restored_to_plan)} restored to planned, {len(result.restored_previous)} restored to "
        "their previous content" + (f", {len(result.missing)} already gone" if result.missing else ""),
        highlight=False,
    )


@import_app.command("runs")
def import_runs(limit: Annotated[int, typer.Option(min=1, max=500, help="How many runs to show.")] = 20) -> None:
    """The most recent import runs."""
    from .imports.service import list_runs

    with clear_errors():
        database = _connected_database()
        _migrate(database)
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


@bench_app.command("import")
def bench_import(
    seeds: Annotated[Path, typer.Option(help="Folder with the upstream seed files.")] = Path(
        "../shared/upstream-seeds"
    ),
    copies: Annotated[int, typer.Option(min=1, max=10_000, help="How many times each file is imported.")] = 100,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Import the parseable upstream seeds `copies` times (ids rewritten) into a fresh database; turns/s."""
    from .bench.import_bench import append_to_docs, run_import_bench

    with clear_errors():
        result = run_import_bench(seeds=seeds, copies=copies, settings=get_settings(), console=console)
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")


@bench_app.command("db")
def bench_db(
    rows: Annotated[int, typer.Option(min=1_000, max=5_000_000, help="Conversations to load.")] = 100_000,
    runs: Annotated[int, typer.Option(min=10, max=10_000, help="Timed calls (after 20 warm-ups).")] = 200,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Load generated conversations into a fresh database and time the Matrix query (p50/p95/max)."""
    from .bench.db_bench import append_to_docs, run_db_bench

    with clear_errors():
        result = run_db_bench(settings=get_settings(), console=console, rows=rows, runs=runs)
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")


@app.command("export")
def export_training_set(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export into (created if missing).")],
    export_format: Annotated[str, typer.Option("--format", help="chat-jsonl, sharegpt or annotated.")],
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Conversation status to include (repeatable).")
    ] = None,
    tier: Annotated[list[str] | None, typer.Option("--tier", help="Tier to include (repeatable); default all.")] = None,
    persona: Annotated[
        list[str] | None, typer.Option("--persona", help="Persona type to include (repeatable); default all.")
    ] = None,
    mode: Annotated[str, typer.Option(help="per-conversation or per-turn examples.")] = "per-conversation",
    weights: Annotated[str | None, typer.Option(help="chat-jsonl weights: all, seeds-only or approved-turns.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 42,
    val_fraction: Annotated[float, typer.Option(help="Share of each persona x tier stratum for validation.")] = 0.1,
    max_tokens: Annotated[int, typer.Option(help="Token budget per example (estimated as characters / 4).")] = 8192,
) -> None:
    """Export a training set (split, manifest), check it, and print a summary; exit 1 if a check fails."""
    from pydantic import ValidationError

    from .exports.schemas import ExportOptions
    from .exports.service import export_training_set as run_export

    try:
        options = ExportOptions(
            format=export_format,
            statuses=status or ["approved"],
            tiers=tier or [],
            personas=persona or [],
            mode=mode,
            weights=weights,
            seed=seed,
            val_fraction=val_fraction,
            max_tokens=max_tokens,
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "options"
            err_console.print(f"[bold red]error:[/] {where}: {error['msg']}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    with clear_errors():
        database = _connected_database()
        try:
            _migrate(database)
            with database.session_scope() as session:
                result = run_export(session=session, options=options, directory=out)
        finally:
            database.dispose()
    manifest, check = result.manifest, result.check
    table = Table("split", "conversations", "examples", "turns", title=f"Export {manifest.export_id[:16]} ({out})")
    for name, counts in manifest.splits.items():
        table.add_row(name, str(counts.conversations), str(counts.examples), str(counts.turns))
    console.print(table)
    for name, entry in manifest.files.items():
        console.print(f"{name}: {entry.records} records, {entry.bytes:,} bytes, sha256 {entry.sha256[:16]}…")
    if not check.ok:
        for problem in check.errors:
            err_console.print(f"[red]check:[/] {problem}", highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]export check failed:[/] {len(check.errors)} problems")
        raise typer.Exit(1)
    console.print(
        f"[green]check passed[/]: {check.records_checked} records, largest example about "
        f"{check.largest_example_tokens} tokens (budget {max_tokens})"
    )


@bench_app.command("duplicates")
def bench_duplicates(
    conversations: Annotated[int, typer.Option(min=100, max=200_000, help="Synthetic conversations.")] = 10_000,
    planted: Annotated[int, typer.Option(min=1, max=1_000, help="Near-copies planted among them.")] = 20,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Time near-duplicate detection (shingles, MinHash, LSH) over synthetic conversations; peak memory."""
    from .bench.duplicates_bench import append_to_docs, run_duplicates_bench

    result = run_duplicates_bench(conversations, planted)
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")
    if not result.met_target:
        raise typer.Exit(1)


@app.command()
def generate(
    ids: Annotated[
        str | None, typer.Option("--ids", help="Comma-separated conversation numbers or ids, e.g. 11,12.")
    ] = None,
    all_remaining: Annotated[bool, typer.Option("--all", help="Every remaining planned conversation.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks this process runs at once.")] = 4,
    economy: Annotated[bool, typer.Option(help="Message Batches API: half the price, results later.")] = False,
    budget: Annotated[
        float | None, typer.Option(min=0.01, help="Pause before a call that could cross this (USD).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the exact prompts and estimates; call nothing.")
    ] = False,
) -> None:
    """Generate conversations with live progress. Ctrl-C pauses cleanly (calls in flight finish and are saved;
    exit code 130); a second Ctrl-C stops them too, saving nothing of them. Running it again resumes."""
    import asyncio
    import shlex
    from decimal import Decimal

    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from . import local_generation as local_run
    from .generation import schemas

    if bool(ids) == all_remaining:
        err_console.print("[bold red]error:[/] give either --ids 11,12 or --all")
        raise typer.Exit(2)
    idents = None if all_remaining else [part.strip() for part in (ids or "").split(",") if part.strip()]
    settings = get_settings()
    with clear_errors():
        database = _connected_database()
        _migrate(database)
        if dry_run:
            with database.session_scope() as session:
                planned = local_run.dry_run(session, settings, idents)
            total_low = sum((p.estimate.cost_low_cents for p in planned), Decimal(0))
            total_high = sum((p.estimate.cost_high_cents for p in planned), Decimal(0))
            for p in planned:
                console.rule(f"#{p.conversation_number} {p.conversation_id}")
                console.print("[bold]System (cached prefix)[/]", highlight=False)
                console.print(p.prompt.static_prefix, highlight=False, markup=False)
                console.print("[bold]Conversation part[/]", highlight=False)
                console.print(p.prompt.conversation_part, highlight=False, markup=False)
                e = p.estimate
                console.print(
                    f"estimate: {e.input_tokens:,} input tokens ({e.cached_prefix_tokens:,} cacheable), "
                    f"{e.output_tokens:,} output tokens, ${e.cost_low_cents / 100:.2f}–${e.cost_high_cents / 100:.2f}, "
                    f"about {e.seconds:.0f} s"
                )
            console.print(
                f"{len(planned)} conversations: ${total_low / 100:.2f}–${total_high / 100:.2f} in all; "
                "nothing was sent."
            )
            return
        options = schemas.JobOptions(economy=economy, budget_usd=Decimal(str(budget)) if budget else None)
        job_id, resumed = local_run.start_or_resume(database, settings, idents, options, user=settings.user)
    console.print(f"{'resumed' if resumed else 'started'} job {job_id}")
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[cost]}"),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("generating", total=None, cost="")

        def show(current: schemas.JobDetail) -> None:
            done = current.completed_conversations + current.failed_conversations
            progress.update(
                bar,
                total=current.total_conversations,
                completed=done,
                description=(
                    f"{current.status}: {current.completed_conversations} ok, {current.failed_conversations} failed"
                ),
                cost=f"${current.total_cost_cents / 100:.2f}",
            )

        def pausing(in_flight: int) -> None:
            waiting = (
                f"waiting for {_plural(in_flight, 'call')} in flight to finish and be saved; " if in_flight else ""
            )
            progress.console.print(
                f"pausing: no new call starts; {waiting}Ctrl-C again to stop now (nothing unfinished is saved)",
                highlight=False,
            )

        try:
            outcome = asyncio.run(
                local_run.work_until_done(
                    database, settings, job_id, concurrency=concurrency, on_progress=show, on_pausing=pausing
                )
            )
        except KeyboardInterrupt:
            # Ctrl-C in the instant before work_until_done installs its own handler (or after it is removed).
            local_run.pause(database, job_id, local_run.PAUSE_REASON)
            outcome = local_run.RunOutcome(local_run.summary(database, job_id), interrupted=True, forced=False)
    final = outcome.job
    if outcome.interrupted and final.status == "paused":
        in_flight = (
            "the calls in flight were stopped: nothing unfinished was saved, they run again on resume"
            if outcome.forced
            else "the calls in flight were finished and saved"
        )
        console.print(
            f"paused job {final.id}: {final.completed_conversations} of {final.total_conversations} generated, "
            f"{in_flight}; run the same command to resume: tds {shlex.join(sys.argv[1:])}",
            highlight=False,
            soft_wrap=True,
        )
        database.dispose()
        raise typer.Exit(EXIT_INTERRUPTED)
    for item in final.items:
        if item.status == "failed":
            console.print(f"[red]#{item.conversation_number} failed:[/] {item.error}", highlight=False)
    console.print(
        f"job {final.status}: {final.completed_conversations} generated, {final.failed_conversations} failed, "
        f"${final.total_cost_cents / 100:.2f}" + (f" — {final.paused_reason}" if final.paused_reason else "")
    )
    database.dispose()
    if final.failed_conversations or final.status != "completed":
        raise typer.Exit(1)


@bench_app.command("generate")
def bench_generate(
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the results to docs/benchmarks.md.")] = False,
    with_overload: Annotated[bool, typer.Option(help="Also run with 10% of calls answered 529.")] = True,
) -> None:
    """Process-all of 90 conversations against the rate-limited fake: two workers, real database writes."""
    from .bench.generate_bench import append_to_docs, run_generate_bench

    with clear_errors():
        result = run_generate_bench(get_settings(), console, with_overload=with_overload)
    console.print(result.describe())
    if write_docs:
        append_to_docs(result)


# --------------------------------------------------------------------------------------------------
# Quality
# --------------------------------------------------------------------------------------------------

quality_app = typer.Typer(help="Quality: recompute metrics and checks, ask the LLM judge.", no_args_is_help=True)
app.add_typer(quality_app, name="quality")


def _ids_option(ids: str | None) -> list[str] | None:
    if ids is None:
        return None
    parsed = [part.strip() for part in ids.split(",") if part.strip()]
    if not parsed:
        raise AppError("invalid_ids", "--ids is empty: give comma-separated conversation ids, e.g. fp_marcus_011.")
    return parsed


@quality_app.command("recompute")
def quality_recompute(
    ids: Annotated[
        str | None, typer.Option("--ids", help="Comma-separated conversation ids; default: every conversation.")
    ] = None,
) -> None:
    """Recompute the stored quality metrics and checks (after the checks changed, say); reviews are kept."""
    from .quality.service import recompute_all

    with clear_errors():
        conversation_ids = _ids_option(ids)
        database = _connected_database()
        _migrate(database)
        with database.session_scope() as session:
            report = recompute_all(session=session, conversation_ids=conversation_ids)
        database.dispose()
    console.print(
        f"recomputed {_plural(report.recomputed, 'conversation')}: {report.ready_for_training} ready for training, "
        f"{report.needs_review} need review, {report.with_failed_checks} fail at least one check",
        highlight=False,
    )
    for failure in report.invalid:
        err_console.print(f"[red]invalid:[/] {failure.error}", highlight=False, soft_wrap=True)
    if report.invalid:
        raise typer.Exit(1)


@quality_app.command("judge")
def quality_judge(
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated conversation ids to judge.")] = None,
    all_conversations: Annotated[
        bool, typer.Option("--all", help="Judge every conversation that has turns (one LLM call each).")
    ] = False,
) -> None:
    """Score conversations with the LLM judge (empathy, clarity, appropriateness, brand voice, 1-5)."""
    from .quality.judge import judge_conversations

    with clear_errors():
        if (ids is None) == (not all_conversations):
            raise AppError("invalid_selection", "Give either --ids a,b,c or --all (not both, not neither).")
        conversation_ids = None if all_conversations else _ids_option(ids)
        settings = get_settings()
        database = _connected_database()
        _migrate(database)
        with database.session_scope() as session:
            report = judge_conversations(
                session=session, settings=settings, conversation_ids=conversation_ids, user=settings.user
            )
        database.dispose()
    table = Table(
        "conversation", "empathy", "clarity", "appropr.", "brand voice", title=f"Rubric {report.rubric_version}"
    )
    for judgement in report.judged:
        table.add_row(
            judgement.conversation_id,
            *(
                str(score)
                for score in (
                    judgement.empathy_score,
                    judgement.clarity_score,
                    judgement.appropriateness_score,
                    judgement.brand_voice_score,
                )
            ),
        )
    console.print(table)
    for failure in report.failed:
        err_console.print(f"[red]{failure.conversation_id}:[/] {failure.error}", highlight=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


@bench_app.command("quality")
def bench_quality(
    conversations: Annotated[int, typer.Option(min=10, max=200_000, help="Conversations for the metrics.")] = 10_000,
    db_conversations: Annotated[
        int, typer.Option(min=0, max=200_000, help="Conversations recomputed over a fresh database (0: skip).")
    ] = 10_000,
    duplicates: Annotated[int, typer.Option(min=100, max=200_000, help="Conversations for duplicates.")] = 10_000,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Time quality metrics + checks (in memory and over the database) and near-duplicate detection."""
    from .bench.quality_bench import append_to_docs, run_quality_bench

    with clear_errors():
        result = run_quality_bench(
            get_settings(),
            conversations=conversations,
            db_conversations=db_conversations,
            duplicate_conversations=duplicates,
            log=lambda message: console.print(message, style="dim", highlight=False),
        )
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")
    if not result.met_target:
        raise typer.Exit(1)


@bench_app.command("ui")
def bench_ui(
    runs: Annotated[int, typer.Option(min=5, max=500, help="Timed runs per measure (after 2 warm-ups).")] = 20,
    sizes: Annotated[str, typer.Option(help="Conversation counts to load, comma-separated.")] = "100,10000",
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the results to docs/benchmarks.md.")] = False,
) -> None:
    """Time the Matrix and a job dashboard in headless Chromium (cold load, filter, detail, live event)."""
    from .bench.ui_bench import append_to_docs, run_ui_bench

    try:
        counts = tuple(int(size) for size in sizes.split(","))
    except ValueError:
        err_console.print("[bold red]error:[/] --sizes takes whole numbers separated by commas, e.g. 100,10000")
        raise typer.Exit(1) from None
    with clear_errors():
        result = run_ui_bench(get_settings(), console, sizes=counts, runs=runs)
    console.print(result.describe(), highlight=False)
    if write_docs:
        console.print(f"appended to {append_to_docs(result)}")
