"""`tds quality recompute|judge`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..core.config import get_settings
from ..core.errors import AppError
from .common import clear_errors, connected_database, console, err_console, ids_option, migrate_database, plural

quality_app = typer.Typer(help="Quality: recompute metrics and checks, ask the LLM judge.", no_args_is_help=True)


@quality_app.command("recompute")
def quality_recompute(
    ids: Annotated[
        str | None, typer.Option("--ids", help="Comma-separated conversation ids; default: every conversation.")
    ] = None,
) -> None:
    """Recompute the stored quality metrics and checks (after the checks changed, say); reviews are kept."""
    from ..quality.service import recompute_all

    with clear_errors():
        conversation_ids = ids_option(ids)
        database = connected_database()
        migrate_database(database)
        with database.session_scope() as session:
            report = recompute_all(session=session, conversation_ids=conversation_ids)
        database.dispose()
    console.print(
        f"recomputed {plural(report.recomputed, 'conversation')}: {report.ready_for_training} ready for training, "
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
    from ..quality.judge import judge_conversations

    with clear_errors():
        if (ids is None) == (not all_conversations):
            raise AppError("invalid_selection", "Give either --ids a,b,c or --all (not both, not neither).")
        conversation_ids = None if all_conversations else ids_option(ids)
        settings = get_settings()
        database = connected_database()
        migrate_database(database)
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
