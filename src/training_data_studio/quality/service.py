"""Quality metrics over the database: recompute them, summarise them for the dashboard, report them as CSV.

A conversation's ``quality_metrics`` row is computed by :func:`..quality.checks.evaluate`, from the
document each turn keeps verbatim (``training_turns.source_json``): ``save_conversation`` inserts it with
the conversation (import, generation), :func:`recompute_metrics` / :func:`recompute_all` replace its
computed columns (after the checks change, say) and keep the reviewer's columns. A status change updates
readiness in the same transaction (``conversations.service.change_status``).

"Seed" and "generated" in the comparison mean ``is_seed_example`` true and false.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..conversations.document import TrainingPair, document_errors
from ..core.errors import AppError, NotFoundError
from ..models import QualityMetrics, TrainingConversation, TrainingTurn
from .checks import QualityEvaluation, evaluate
from .schemas import (
    RecomputeFailure,
    RecomputeReport,
)

C = TrainingConversation
Q = QualityMetrics
T = TrainingTurn

# Conversations recomputed per round trip: their turns' JSON is read, checked and written back together.
RECOMPUTE_BATCH = 500

# The columns a recomputation replaces: every computed one, never the reviewer's.
_COMPUTED_COLUMNS = (
    "total_turns",
    "total_sentences",
    "total_word_count",
    "average_words_per_sentence",
    "overall_quality_score",
    "empathy_score",
    "clarity_score",
    "appropriateness_score",
    "brand_voice_alignment",
    "computed_score",
    "checks",
    "issues",
    "has_complete_emotional_context",
    "has_emotional_progression",
    "emotional_indicator_count",
    "has_primary_strategy",
    "has_strategy_rationale",
    "technique_count",
    "sentences_analyzed",
    "sentences_with_word_rationale",
    "word_choice_rationale_completeness",
    "all_required_fields_complete",
    "ready_for_training",
    "needs_review",
)


# --------------------------------------------------------------------------------------------------
# Recomputing
# --------------------------------------------------------------------------------------------------


class InvalidStoredDocument(AppError):
    def __init__(self, conversation_id: str, detail: str) -> None:
        super().__init__(
            "invalid_stored_document",
            f"The stored turns of {conversation_id} are not a valid conversation document: {detail}",
            status=422,
        )


def _pairs(conversation_id: str, sources: Sequence[dict[str, Any]]) -> list[TrainingPair]:
    try:
        return [TrainingPair.model_validate(source) for source in sources]
    except ValidationError as exc:
        first = document_errors(exc)[0]
        raise InvalidStoredDocument(conversation_id, f"{first.path}: {first.message}") from exc


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace the computed columns of these conversations' quality_metrics rows."""
    if not rows:
        return
    statement = pg_insert(Q).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[Q.conversation_id],
        set_={name: statement.excluded[name] for name in _COMPUTED_COLUMNS} | {"updated_at": func.now()},
    )
    session.execute(statement)


def _evaluation_row(row_id: uuid.UUID, evaluation: QualityEvaluation) -> dict[str, Any]:
    return {"conversation_id": row_id, **evaluation.as_row()}


def recompute_metrics(*, session: Session, conversation_row_id: uuid.UUID) -> QualityEvaluation | None:
    """Recompute and store one conversation's metrics; None when it has no turns yet (nothing to measure)."""
    head = session.execute(
        select(C.conversation_id, C.tier, C.generation_status, C.is_seed_example).where(C.id == conversation_row_id)
    ).one_or_none()
    if head is None:
        raise NotFoundError("Conversation", conversation_row_id)
    sources = session.scalars(
        select(T.source_json).where(T.conversation_id == conversation_row_id).order_by(T.turn_number)
    ).all()
    if not sources:
        return None
    pairs = _pairs(head.conversation_id, sources)
    evaluation = evaluate(pairs, tier=head.tier, status=head.generation_status, is_seed=head.is_seed_example)
    _write(session, [_evaluation_row(conversation_row_id, evaluation)])
    session.flush()
    return evaluation


def _batches(ids: Sequence[uuid.UUID], size: int) -> Iterator[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def recompute_all(
    *, session: Session, conversation_ids: Sequence[str] | None = None, batch_size: int = RECOMPUTE_BATCH
) -> RecomputeReport:
    """Recompute every conversation with turns (or those with these conversation_ids), in batches.

    A conversation whose stored JSON no longer validates is reported and keeps its old row.
    """
    has_turns = select(T.id).where(T.conversation_id == C.id).exists()
    ids_stmt = select(C.id).where(has_turns).order_by(C.conversation_number)
    if conversation_ids is not None:
        ids_stmt = ids_stmt.where(C.conversation_id.in_(conversation_ids))
    row_ids = list(session.scalars(ids_stmt))
    if conversation_ids is not None:
        found = set(session.scalars(select(C.conversation_id).where(C.id.in_(row_ids))))
        missing = [ident for ident in conversation_ids if ident not in found]
        if missing:
            raise AppError(
                "not_found",
                f"No conversation with turns has the id {', '.join(missing[:5])}"
                + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""),
                status=404,
            )
    recomputed = ready = needs_review = failed_checks = 0
    invalid: list[RecomputeFailure] = []
    for batch in _batches(row_ids, batch_size):
        heads = {
            row.id: row
            for row in session.execute(
                select(C.id, C.conversation_id, C.tier, C.generation_status, C.is_seed_example).where(C.id.in_(batch))
            )
        }
        sources: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for conversation, source in session.execute(
            select(T.conversation_id, T.source_json).where(T.conversation_id.in_(batch)).order_by(T.turn_number)
        ):
            sources[conversation].append(source)
        rows = []
        for row_id in batch:
            head = heads[row_id]
            try:
                pairs = _pairs(head.conversation_id, sources[row_id])
            except InvalidStoredDocument as exc:
                invalid.append(RecomputeFailure(conversation_id=head.conversation_id, error=exc.message))
                continue
            evaluation = evaluate(pairs, tier=head.tier, status=head.generation_status, is_seed=head.is_seed_example)
            rows.append(_evaluation_row(row_id, evaluation))
            recomputed += 1
            ready += evaluation.ready_for_training
            needs_review += not evaluation.ready_for_training
            failed_checks += evaluation.passed < evaluation.applicable
        _write(session, rows)
        session.flush()
    return RecomputeReport(
        recomputed=recomputed,
        ready_for_training=ready,
        needs_review=needs_review,
        with_failed_checks=failed_checks,
        invalid=invalid,
    )
