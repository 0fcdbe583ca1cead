"""The versions of a conversation: who may be regenerated, and keeping (and reading back) the version a
regeneration replaces.

A regeneration runs as an ordinary single job whose item is marked ``regenerate``. Its claim moves the
conversation from its current status to ``in_progress`` and remembers that status on the item; until the new
version is saved the old one stays in place, so a failed, paused or cancelled regeneration only has to put the
status back. When the new version is saved, the old one is first copied whole into
``conversation_revisions`` (export document, row, quality metrics) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.errors import ConflictError, NotFoundError
from ..models import ConversationReview, ConversationRevision, QualityMetrics, TrainingConversation
from ..models.enums import ConversationStatus
from . import schemas
from .export import export_document, find_conversation
from .store import SEED_IMPORT_METHOD, clear_conversation_content, row_snapshot

# A version someone could want replaced: generated and maybe reviewed, approved or flagged. Planned and failed
# conversations are simply generated; in_progress ones are being generated right now.
REGENERATABLE_STATUSES = (
    ConversationStatus.GENERATED,
    ConversationStatus.REVIEWED,
    ConversationStatus.APPROVED,
    ConversationStatus.FLAGGED,
)


class Regeneratable(Protocol):
    """What deciding needs: a conversation row or its detail read."""

    @property
    def conversation_number(self) -> int: ...
    @property
    def generation_status(self) -> str: ...
    @property
    def generation_method(self) -> str | None: ...
    @property
    def is_seed_example(self) -> bool: ...
    @property
    def turn_count(self) -> int: ...


def refusal(conversation: Regeneratable) -> str | None:
    """Why this conversation cannot be regenerated, or None when it can."""
    number = conversation.conversation_number
    if conversation.is_seed_example and conversation.generation_method != SEED_IMPORT_METHOD:
        if conversation.generation_status in ("planned", "failed") and not conversation.turn_count:
            # Before its file is imported the plan row is an empty slot: nothing was imported yet.
            return f"#{number} is a seed slot: import its seed file, or generate it instead."
    if conversation.generation_method == SEED_IMPORT_METHOD or conversation.is_seed_example:
        # Imported files are someone's own writing; replacing them is `tds import --replace`, not a model call.
        return f"#{number} was imported from a seed file, not generated: it is never regenerated."
    if conversation.generation_status not in REGENERATABLE_STATUSES:
        status = conversation.generation_status.replace("_", " ")
        if conversation.generation_status in (ConversationStatus.PLANNED, ConversationStatus.FAILED):
            return f"#{number} is {status}: generate it instead of regenerating it."
        return f"#{number} is {status}: only a generated, reviewed, approved or flagged conversation is regenerated."
    if not conversation.turn_count:
        return f"#{number} has no turns: there is no version to replace."
    return None


def check_regeneratable(conversations: Sequence[TrainingConversation]) -> None:
    problems = [reason for reason in map(refusal, conversations) if reason]
    if problems:
        raise ConflictError(" ".join(problems[:10]))


def keep_previous_version(
    session: Session,
    conversation: TrainingConversation,
    *,
    previous_status: str,
    job_id: uuid.UUID,
    user: str | None,
    completed: bool = False,
) -> ConversationRevision:
    """Copy the conversation's current version into a revision, record the status change in the audit trail,
    then clear its content for the new one. Call inside the transaction that saves the new version.
    ``completed``: the new version continues this one (an incomplete conversation completed by generation),
    so its turns stay where they are and the new turns are added after them."""
    document = export_document(session=session, row=conversation)
    metrics = session.scalars(
        select(QualityMetrics).where(QualityMetrics.conversation_id == conversation.id)
    ).one_or_none()
    number = session.execute(
        select(func.coalesce(func.max(ConversationRevision.revision_number), 0) + 1).where(
            ConversationRevision.conversation_id == conversation.id
        )
    ).scalar_one()
    revision = ConversationRevision(
        conversation_id=conversation.id,
        revision_number=number,
        document=document or {},
        conversation_row={**row_snapshot(conversation), "generation_status": previous_status},
        quality_metrics=row_snapshot(metrics) if metrics is not None else None,
        generation_status=previous_status,
        quality_score=conversation.quality_score,
        replaced_by_job_id=job_id,
        created_by=user,
        reason="completed" if completed else "regenerated",
    )
    session.add(revision)
    done = "Completed by generation; the incomplete" if completed else "Regenerated; the previous"
    session.add(  # the status change the new version makes (approved → generated, incomplete → generated)
        ConversationReview(
            conversation_id=conversation.id,
            from_status=previous_status,
            to_status=ConversationStatus.GENERATED,
            notes=f"{done} version is kept as revision {number}.",
            reviewer=user or "system",
            source="complete" if completed else "regenerate",
        )
    )
    if not completed:
        clear_conversation_content(session, conversation.id)
    session.flush()
    return revision


def review_fields_reset() -> dict[str, Any]:
    """A new version has not been reviewed: the old version's decision stays with its revision."""
    return {"human_reviewed": False, "reviewed_by": None, "review_date": None, "reviewer_notes": None}


def list_revisions(session: Session, conversation_row_id: uuid.UUID) -> list[schemas.RevisionRead]:
    """The versions a conversation had before its regenerations, newest first."""
    rows = session.scalars(
        select(ConversationRevision)
        .where(ConversationRevision.conversation_id == conversation_row_id)
        .order_by(ConversationRevision.revision_number.desc())
    )
    return [schemas.RevisionRead.model_validate(row) for row in rows]


def revisions_of(session: Session, ident: str) -> list[schemas.RevisionRead]:
    return list_revisions(session, find_conversation(session=session, ident=ident).id)


def revision_document(session: Session, ident: str, revision_number: int) -> dict[str, Any]:
    """A replaced version in the single-conversation layout, as its export returned it then."""
    conversation = find_conversation(session=session, ident=ident)
    document = session.scalars(
        select(ConversationRevision.document).where(
            ConversationRevision.conversation_id == conversation.id,
            ConversationRevision.revision_number == revision_number,
        )
    ).one_or_none()
    if document is None:
        raise NotFoundError("Revision", f"{conversation.conversation_id} #{revision_number}")
    return document
