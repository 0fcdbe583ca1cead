"""The runtime side of generation jobs: per-conversation items, attempts, the event log, shared rate state."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk


class GenerationJobItem(Base):
    __tablename__ = "generation_job_items"

    id: Mapped[uuid.UUID] = uuid_pk()
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generation_jobs.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), server_default="queued")
    attempts: Mapped[int] = mapped_column(server_default="0")
    procrastinate_job_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    cost_cents: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    cache_read_tokens: Mapped[int | None]
    cache_write_tokens: Mapped[int | None]
    quality_score: Mapped[Decimal | None] = mapped_column(Numeric(2, 1))
    # A regeneration replaces an existing version; previous_status is that version's status, restored when the
    # regeneration does not succeed (migration 20261125170000_regeneration.sql). A completion of an incomplete
    # conversation sets it to `incomplete`, where the conversation goes back to if the completion does not succeed.
    regenerate: Mapped[bool] = mapped_column(server_default="false")
    previous_status: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class GenerationAttempt(Base):
    __tablename__ = "generation_attempts"

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generation_job_items.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20), server_default="generate")
    outcome: Mapped[str] = mapped_column(String(20))
    stop_reason: Mapped[str | None] = mapped_column(String(50))
    http_status: Mapped[int | None]
    raw_reply: Mapped[str | None]
    problems: Mapped[list[Any] | None]
    # Which part of the conversation the call wrote ("turn 2 of 4"), what was fixed locally and the warnings
    # (migration 20261202170000_generation_attempt_parts.sql).
    part: Mapped[str | None] = mapped_column(String(30))
    normalisations: Mapped[list[Any] | None]
    warnings: Mapped[list[Any] | None]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = created_at()


class GenerationJobEvent(Base):
    __tablename__ = "generation_job_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generation_jobs.id", ondelete="CASCADE"))
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("generation_job_items.id", ondelete="CASCADE"))
    conversation_number: Mapped[int | None]
    level: Mapped[str] = mapped_column(String(10), server_default="info")
    step: Mapped[str] = mapped_column(String(50))
    message: Mapped[str]
    data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class ProviderRateState(Base):
    __tablename__ = "provider_rate_state"

    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    blocked_until: Mapped[datetime | None]
    requests_remaining: Mapped[int | None]
    requests_reset: Mapped[datetime | None]
    input_tokens_remaining: Mapped[int | None]
    input_tokens_reset: Mapped[datetime | None]
    output_tokens_remaining: Mapped[int | None]
    output_tokens_reset: Mapped[datetime | None]
    # The account's limits per minute (migration 20261202171000_provider_rate_limits.sql).
    requests_limit: Mapped[int | None]
    input_tokens_limit: Mapped[int | None]
    output_tokens_limit: Mapped[int | None]
    consecutive_overloads: Mapped[int] = mapped_column(server_default="0")
    updated_at: Mapped[datetime] = updated_at()
