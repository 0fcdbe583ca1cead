"""`tds export`: an approved training set with a deterministic split, a manifest and a check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import app, clear_errors, connected_database, console, err_console, migrate_database


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
    allow_seed_copies: Annotated[
        bool, typer.Option("--allow-seed-copies", help="Keep generated conversations that copy long runs of a seed.")
    ] = False,
) -> None:
    """Export a training set (split, manifest), check it, and print a summary; exit 1 if a check fails."""
    from pydantic import ValidationError

    from ..exports.schemas import ExportOptions
    from ..exports.service import export_training_set as run_export

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
            allow_seed_copies=allow_seed_copies,
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "options"
            err_console.print(f"[bold red]error:[/] {where}: {error['msg']}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    with clear_errors():
        database = connected_database()
        try:
            migrate_database(database)
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
    cleaning = manifest.cleaning
    if cleaning is not None:
        console.print(
            f"left out: {cleaning.deduplicated} exact duplicates, {cleaning.excluded} seed copies; "
            f"{cleaning.merged} conversations in {cleaning.near_duplicate_groups} near-duplicate groups kept together",
            highlight=False,
        )
        for exclusion in cleaning.exclusions:
            console.print(f"  {exclusion.conversation_id}: {exclusion.reason} ({exclusion.detail})", highlight=False)
    if not check.ok:
        for problem in check.errors:
            err_console.print(f"[red]check:[/] {problem}", highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]export check failed:[/] {len(check.errors)} problems")
        raise typer.Exit(1)
    console.print(
        f"[green]check passed[/]: {check.records_checked} records, largest example about "
        f"{check.largest_example_tokens} tokens (budget {max_tokens})"
    )
