"""Bulk review actions from the Quality page, and the audit trail of every status change.

Two bulk actions, each previewed, then confirmed with the exact conversation ids the user saw:

* ``approve-perfect`` ("Approve all 5.0"): self-reported overall score 5.0 with complete annotation
  (every completeness check passed), currently generated or reviewed. Approving an incomplete
  conversation would not make it ready for training, so it is left for a person to look at.
* ``flag-low`` ("Flag all below 4.0"): self-reported overall score below 4.0, currently generated or
  reviewed.

Neither overrides a reviewer's explicit decision: approved and flagged conversations are never changed
in bulk. A conversation that no longer matches when the action runs (someone changed it meanwhile) is
skipped and reported. Each change goes through ``conversations.service.change_status``, so it is
validated and audited exactly like a single decision (``source`` = ``bulk_approve`` / ``bulk_flag``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..conversations import service as conversations
from ..conversations.schemas import ReviewStatus, StatusChange
from ..core.errors import AppError, NotFoundError
from ..models import ConversationReview, QualityMetrics, TrainingConversation
from .schemas import BULK_LIMIT, BulkAction, BulkCandidate, BulkPreview, BulkRequest, BulkResult, BulkSkip, ReviewRead

C = TrainingConversation
Q = QualityMetrics

# Statuses a bulk action may change: not yet decided by a reviewer.
UNDECIDED = ("generated", "reviewed")
PERFECT_SCORE = Decimal("5.0")
LOW_SCORE = Decimal("4.0")
REVIEWS_LIMIT = 200


@dataclass(frozen=True)
class BulkRule:
    action: BulkAction
    description: str
    target_status: ReviewStatus
    source: str
    default_note: str

    def condition(self) -> ColumnElement[bool]:
        if self.action == "approve-perfect":
            return (C.quality_score == PERFECT_SCORE) & Q.all_required_fields_complete.is_(True)
        return C.quality_score < LOW_SCORE


RULES: dict[str, BulkRule] = {
    "approve-perfect": BulkRule(
        "approve-perfect",
        "Approve every generated or reviewed conversation self-scored 5.0 whose annotation is complete",
        "approved",
        "bulk_approve",
        "Bulk approval: self-reported 5.0 with complete annotation.",
    ),
    "flag-low": BulkRule(
        "flag-low",
        "Flag every generated or reviewed conversation self-scored below 4.0 for review",
        "flagged",
        "bulk_flag",
        "Bulk flag: self-reported score below 4.0.",
    ),
}


def _rule(action: str) -> BulkRule:
    rule = RULES.get(action)
    if rule is None:
        raise AppError(
            "validation_error", f"Unknown bulk action {action!r}: use one of {', '.join(RULES)}.", status=422
        )
    return rule


def _matching(rule: BulkRule) -> ColumnElement[bool]:
    return C.generation_status.in_(UNDECIDED) & rule.condition()


def bulk_preview(*, session: Session, action: str) -> BulkPreview:
    """The conversations the action would change now (at most ``BULK_LIMIT``, by number) and how many match."""
    rule = _rule(action)
    total = _count(session, rule)
    rows = session.execute(
        select(C.conversation_id, C.conversation_number, C.generation_status, C.quality_score, Q.computed_score)
        .join(Q, Q.conversation_id == C.id)
        .where(_matching(rule))
        .order_by(C.conversation_number)
        .limit(BULK_LIMIT)
    ).all()
    return BulkPreview(
        action=rule.action,
        description=rule.description,
        target_status=rule.target_status,
        total_matching=total,
        limit=BULK_LIMIT,
        candidates=[
            BulkCandidate(
                conversation_id=ident,
                conversation_number=number,
                status=status,
                quality_score=float(score) if score is not None else None,
                computed_score=float(computed) if computed is not None else None,
            )
            for ident, number, status, score, computed in rows
        ],
    )


def run_bulk_action(*, session: Session, action: str, request: BulkRequest, user: str) -> BulkResult:
    """Change the confirmed conversations that still match the rule; report the others as skipped."""
    rule = _rule(action)
    ids = request.conversation_ids
    # Locked in number order (as change_status will lock them), so two bulk actions cannot deadlock.
    current = {
        ident: (row_id, matches)
        for ident, row_id, matches in session.execute(
            select(C.conversation_id, C.id, _matching(rule))
            .outerjoin(Q, Q.conversation_id == C.id)
            .where(C.conversation_id.in_(ids))
            .order_by(C.conversation_number)
            .with_for_update(of=C)
        )
    }
    note = request.reviewer_notes or rule.default_note
    changed: list[str] = []
    skipped: list[BulkSkip] = []
    for ident in ids:
        if ident not in current:
            skipped.append(BulkSkip(conversation_id=ident, reason="no such conversation"))
            continue
        row_id, matches = current[ident]
        if not matches:
            skipped.append(BulkSkip(conversation_id=ident, reason="no longer matches this action (changed since)"))
            continue
        conversations.change_status(
            session=session,
            ident=str(row_id),
            change=StatusChange(status=rule.target_status, reviewer_notes=note),
            user=user,
            source=rule.source,
        )
        changed.append(ident)
    return BulkResult(action=rule.action, target_status=rule.target_status, changed=changed, skipped=skipped)


def list_reviews(*, session: Session, conversation: str | None = None, limit: int = REVIEWS_LIMIT) -> list[ReviewRead]:
    """The latest status changes, newest first (of one conversation, by its conversation_id, when given)."""
    R = ConversationReview
    stmt = (
        select(C.conversation_id, R.from_status, R.to_status, R.notes, R.reviewer, R.source, R.created_at)
        .join(C, C.id == R.conversation_id)
        .order_by(R.created_at.desc(), R.id.desc())
        .limit(limit)
    )
    if conversation is not None:
        exists = session.execute(select(C.id).where(C.conversation_id == conversation)).scalar_one_or_none()
        if exists is None:
            raise NotFoundError("Conversation", repr(conversation))
        stmt = stmt.where(C.conversation_id == conversation)
    return [ReviewRead.model_validate(row._mapping) for row in session.execute(stmt)]


def _count(session: Session, rule: BulkRule) -> int:
    return session.execute(
        select(func.count()).select_from(C).join(Q, Q.conversation_id == C.id).where(_matching(rule))
    ).scalar_one()


def bulk_counts(*, session: Session) -> dict[str, int]:
    """How many conversations each bulk action would change now (for the page's buttons)."""
    return {action: _count(session, rule) for action, rule in RULES.items()}
