"""Review history, LLM judgements and replaced versions of a conversation (migrations
20261125160000_quality_review.sql and 20261125170000_regeneration.sql)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, uuid_pk


class ConversationReview(Base):
    """One status change of a conversation, as it happened: append-only (the audit trail)."""

    __tablename__ = "conversation_reviews"

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None]
    reviewer: Mapped[str]
    source: Mapped[str] = mapped_column(String(30), server_default="review")
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class QualityJudgement(Base):
    """An LLM's scores of one conversation against a versioned rubric, with a one-line reason per score."""

    __tablename__ = "quality_judgements"

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(100))
    rubric_version: Mapped[str] = mapped_column(String(40))
    empathy_score: Mapped[int] = mapped_column(SmallInteger)
    clarity_score: Mapped[int] = mapped_column(SmallInteger)
    appropriateness_score: Mapped[int] = mapped_column(SmallInteger)
    brand_voice_score: Mapped[int] = mapped_column(SmallInteger)
    reasons: Mapped[dict[str, Any]]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    created_by: Mapped[str | None]


class ConversationRevision(Base):
    """A version of a conversation that a regeneration replaced, kept whole: append-only."""

    __tablename__ = "conversation_revisions"

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    revision_number: Mapped[int]
    reason: Mapped[str] = mapped_column(String(30), server_default="regenerated")
    document: Mapped[dict[str, Any]]
    conversation_row: Mapped[dict[str, Any]]
    quality_metrics: Mapped[dict[str, Any] | None]
    generation_status: Mapped[str] = mapped_column(String(20))
    quality_score: Mapped[Decimal | None] = mapped_column(Numeric(2, 1))
    replaced_by_job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("generation_jobs.id", ondelete="SET NULL"))
    created_by: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
