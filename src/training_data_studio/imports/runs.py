"""Import runs after the fact: rolling one back (exactly what it added or replaced) and reading them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..conversations.document import SeedFile, group_conversations
from ..conversations.store import (
    SEED_IMPORT_METHOD,
    clear_conversation_content,
    row_from_json,
    save_conversation,
    table_of,
)
from ..core.errors import AppError, ConflictError, NotFoundError
from ..models import ImportRun, ImportRunItem, QualityMetrics, TrainingConversation
from ..quality.measure import measure_document
from .schemas import (
    FileReport,
    ImportOptions,
    ImportRunListItem,
    ImportRunSummary,
    RollbackSummary,
    RunStatus,
    RunTotals,
)
from .service import now

# --------------------------------------------------------------------------------------------------
# Rollback
# --------------------------------------------------------------------------------------------------


def rollback_import(
    session: Session, run_id: uuid.UUID, *, user: str | None, own_runs_only: bool = False
) -> RollbackSummary:
    """Undo exactly what one run wrote: inserted conversations are deleted, filled plan rows go back to
    their planned values, replaced conversations are restored from the export kept on the run item.

    Refused (409) when the run was already rolled back, or when a later run that is still in effect
    touched any of the same conversations (roll that one back first). With `own_runs_only` (signed-in
    users) a run someone else started is refused (403).
    """
    run = session.scalars(select(ImportRun).where(ImportRun.id == run_id).with_for_update()).one_or_none()
    if run is None:
        raise NotFoundError("Import run", run_id)
    if own_runs_only and run.created_by != user:
        raise AppError(
            "forbidden",
            f"Import run {run_id} was started by another user: only they can roll it back.",
            status=403,
        )
    if run.status == "rolled_back":
        raise ConflictError(f"Import run {run_id} was already rolled back at {run.rolled_back_at:%Y-%m-%d %H:%M}.")
    items = session.scalars(select(ImportRunItem).where(ImportRunItem.run_id == run_id)).all()
    conversation_ids = [item.conversation_id for item in items]
    if conversation_ids:
        later = session.execute(
            select(ImportRun.id, ImportRunItem.conversation_id)
            .join(ImportRunItem, ImportRunItem.run_id == ImportRun.id)
            .where(
                ImportRun.id != run.id,
                ImportRun.status != "rolled_back",
                ImportRun.started_at >= run.started_at,
                ImportRunItem.conversation_id.in_(conversation_ids),
            )
            .order_by(ImportRun.started_at)
        ).all()
        if later:
            touched = ", ".join(sorted({cid for _, cid in later}))
            runs = ", ".join(sorted({str(rid) for rid, _ in later}))
            raise ConflictError(
                f"Import run {run_id} cannot be rolled back: later run(s) {runs} also changed {touched}. "
                "Roll those back first."
            )

    summary = RollbackSummary(run_id=run_id)
    conversations = table_of(TrainingConversation)
    for item in items:
        row_id = item.conversation_row_id
        if item.action == "inserted":
            if row_id is None:
                summary.missing.append(item.conversation_id)
                continue
            session.execute(delete(TrainingConversation).where(TrainingConversation.id == row_id))
            summary.deleted.append(item.conversation_id)
            continue
        previous = row_from_json(conversations, item.previous_row or {})
        if row_id is None:
            # Deleted since the run: put the previous row back as it was.
            if item.action == "filled_plan" and previous:
                session.execute(pg_insert(conversations).values(previous).on_conflict_do_nothing())
                summary.restored_to_plan.append(item.conversation_id)
            else:
                summary.missing.append(item.conversation_id)
            continue
        clear_conversation_content(session, row_id)
        if item.action == "replaced" and item.previous_export:
            _restore_content(session, row_id, item.previous_export, item.conversation_id, user=user)
            if item.previous_metrics:
                metrics = row_from_json(table_of(QualityMetrics), item.previous_metrics)
                session.execute(delete(QualityMetrics).where(QualityMetrics.conversation_id == row_id))
                session.execute(pg_insert(table_of(QualityMetrics)).values(metrics))
        restored = {k: v for k, v in previous.items() if k not in ("id", "updated_at")}
        session.execute(
            update(TrainingConversation).where(TrainingConversation.id == row_id).values(**restored, updated_at=now())
        )
        (summary.restored_previous if item.action == "replaced" else summary.restored_to_plan).append(
            item.conversation_id
        )

    run.status = "rolled_back"
    run.rolled_back_at = now()
    run.rolled_back_by = user
    session.flush()
    session.expire_all()
    return summary


def _restore_content(
    session: Session, row_id: uuid.UUID, document: Mapping[str, Any], conversation_id: str, *, user: str | None
) -> None:
    docs = [d for d in group_conversations(SeedFile.model_validate(document)) if d.conversation_id == conversation_id]
    if not docs:
        raise AppError("rollback_failed", f"The stored export of {conversation_id} does not contain it.", status=500)
    row = session.get(TrainingConversation, row_id)
    if row is None:
        return
    # The row's own columns are restored by the caller right after; only the content matters here.
    save_conversation(
        session,
        docs[0],
        user=user,
        status=row.generation_status,
        generation_method=row.generation_method or SEED_IMPORT_METHOD,
        measure=measure_document,
        plan_row=row,
        import_run_id=row.import_run_id,
    )


# --------------------------------------------------------------------------------------------------
# Reading runs
# --------------------------------------------------------------------------------------------------


def _run_totals(run: ImportRun) -> RunTotals:
    files = run.files or []
    return RunTotals(
        files=len(files),
        failed_files=sum(1 for f in files if isinstance(f, dict) and f.get("status") == "failed"),
        conversations=run.conversation_count,
        turns=run.turn_count,
        sentences=run.sentence_count,
        duplicates=run.duplicate_count,
        warnings=run.warning_count,
        errors=run.error_count,
    )


def list_runs(*, session: Session, limit: int = 50) -> list[ImportRunListItem]:
    """The most recent runs first."""
    runs = session.scalars(select(ImportRun).order_by(ImportRun.started_at.desc()).limit(limit)).all()
    return [
        ImportRunListItem(
            run_id=run.id,
            status=cast(RunStatus, run.status),
            created_by=run.created_by,
            started_at=run.started_at,
            finished_at=run.finished_at,
            rolled_back_at=run.rolled_back_at,
            options=ImportOptions.model_validate(run.options),
            totals=_run_totals(run),
        )
        for run in runs
    ]


def get_run(*, session: Session, run_id: uuid.UUID) -> ImportRunSummary:
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFoundError("Import run", run_id)
    return ImportRunSummary(
        run_id=run.id,
        status=cast(RunStatus, run.status),
        dry_run=False,
        options=ImportOptions.model_validate(run.options),
        created_by=run.created_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        rolled_back_at=run.rolled_back_at,
        totals=_run_totals(run),
        files=[FileReport.model_validate(f) for f in run.files or []],
    )
