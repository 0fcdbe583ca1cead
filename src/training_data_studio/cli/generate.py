"""`tds generate`: generation with live progress; Ctrl-C pauses, running it again resumes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..core.config import get_settings
from .common import (
    EXIT_INTERRUPTED,
    app,
    clear_errors,
    connected_database,
    console,
    err_console,
    migrate_database,
    plural,
)


@app.command()
def generate(
    ids: Annotated[
        str | None, typer.Option("--ids", help="Comma-separated conversation numbers or ids, e.g. 11,12.")
    ] = None,
    all_remaining: Annotated[bool, typer.Option("--all", help="Every remaining planned conversation.")] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=128,
            help="Conversations this process works on at once (default: as many as the account's limits keep "
            "busy, found from the replies' headers); the limits decide when each call starts either way.",
        ),
    ] = None,
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

    from .. import local_generation as local_run
    from ..generation import schemas

    if bool(ids) == all_remaining:
        err_console.print("[bold red]error:[/] give either --ids 11,12 or --all")
        raise typer.Exit(2)
    idents = None if all_remaining else [part.strip() for part in (ids or "").split(",") if part.strip()]
    settings = get_settings()
    with clear_errors():
        database = connected_database()
        migrate_database(database)
        if dry_run:
            with database.session_scope() as session:
                planned = local_run.dry_run(session, settings, idents)
            total_low = sum((p.estimate.cost_low_cents for p in planned), Decimal(0))
            total_high = sum((p.estimate.cost_high_cents for p in planned), Decimal(0))
            for p in planned:
                console.rule(f"#{p.conversation_number} {p.conversation_id}")
                console.print("[bold]System (cached prefix)[/]", highlight=False)
                console.print(p.prompt.static_prefix, highlight=False, markup=False)
                if p.first_call is None:
                    console.print("[bold]Conversation part[/]", highlight=False)
                    console.print(p.prompt.conversation_part, highlight=False, markup=False)
                else:
                    target = p.prompt.turn_count_target
                    console.print(
                        f"[bold]Continues after its {plural(p.stored_turns, 'stored turn')}[/]: turns "
                        f"{p.stored_turns + 1}–{target} are written, one call each, with the conversation so far "
                        "as history. The first call's part:",
                        highlight=False,
                    )
                    console.print(p.first_call.conversation_part, highlight=False, markup=False)
                e = p.estimate
                console.print(
                    f"estimate: {plural(e.calls, 'call')}, {e.input_tokens:,} input tokens "
                    f"({e.cached_prefix_tokens:,} read from the prompt cache), "
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
        TextColumn("{task.fields[writing]}"),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("generating", total=None, cost="", writing="")

        def show(current: schemas.JobDetail) -> None:
            done = current.finished_conversations
            progress.update(
                bar,
                total=current.total_conversations,
                completed=done,
                description=(
                    f"{current.status}: {current.completed_conversations} ok, {current.failed_conversations} failed"
                ),
                cost=f"${current.total_cost_cents / 100:.2f}",
                writing=local_run.streaming_now(current),
            )

        def pausing(in_flight: int) -> None:
            waiting = f"waiting for {plural(in_flight, 'call')} in flight to finish and be saved; " if in_flight else ""
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
