"""Per-turn review: a note and a flag on one turn of a conversation, kept in the audit trail.

Each save appends a row to `turn_reviews`; a turn's current note and flag are its latest row, and the rows
before it are its history. Saving the same state again records nothing, so the history lists changes only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from ..core.errors import NotFoundError
from ..models import TrainingConversation, TrainingTurn, TurnReview
from .schemas import TurnReviewChange, TurnReviewRead
from .service import _identity_condition, _shown

C, T, R = TrainingConversation, TrainingTurn, TurnReview


def _turn(session: Session, ident: str, turn_number: int) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(conversation uuid, turn uuid, conversation_id) of turn `turn_number`, or a 404 that says which."""
    conversation = session.execute(select(C.id, C.conversation_id).where(_identity_condition(ident))).one_or_none()
    if conversation is None:
        raise NotFoundError("Conversation", _shown(ident))
    turn = session.scalar(select(T.id).where(T.conversation_id == conversation.id, T.turn_number == turn_number))
    if turn is None:
        raise NotFoundError(f"Turn of {conversation.conversation_id}", turn_number)
    return conversation.id, turn, conversation.conversation_id


def current_reviews(*, session: Session, conversation: uuid.UUID) -> dict[int, TurnReviewRead]:
    """Each reviewed turn's current note and flag, by turn number."""
    rows = session.scalars(
        select(R)
        .where(R.conversation_id == conversation)
        .ext(distinct_on(R.turn_id))
        .order_by(R.turn_id, R.created_at.desc(), R.id.desc())
    ).all()
    return {row.turn_number: TurnReviewRead.model_validate(row) for row in rows}


def history(*, session: Session, ident: str, turn_number: int) -> list[TurnReviewRead]:
    """Every saved state of one turn's review, newest first."""
    _, turn, _ = _turn(session, ident, turn_number)
    rows = session.scalars(select(R).where(R.turn_id == turn).order_by(R.created_at.desc(), R.id.desc())).all()
    return [TurnReviewRead.model_validate(row) for row in rows]


def save_review(
    *, session: Session, ident: str, turn_number: int, change: TurnReviewChange, user: str
) -> TurnReviewRead | None:
    """Record the turn's note and flag as `user`'s and return the turn's current state; unchanged, nothing new
    is written (None when the turn was never reviewed and there is still nothing to say)."""
    conversation, turn, _ = _turn(session, ident, turn_number)
    note = change.note or None
    latest = session.scalars(
        select(R).where(R.turn_id == turn).order_by(R.created_at.desc(), R.id.desc()).limit(1)
    ).one_or_none()
    if latest is not None and latest.note == note and latest.flagged == change.flagged:
        return TurnReviewRead.model_validate(latest)
    if latest is None and note is None and not change.flagged:
        return None  # nothing to record: no note, not flagged, and never reviewed before
    row = TurnReview(
        turn_id=turn,
        conversation_id=conversation,
        turn_number=turn_number,
        flagged=change.flagged,
        note=note,
        reviewer=user,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return TurnReviewRead.model_validate(row)
