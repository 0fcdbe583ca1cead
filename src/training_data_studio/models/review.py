"""Review history and LLM judgements of a conversation's quality (migration 20261125160000_quality_review.sql)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, SmallInteger, String, func
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
