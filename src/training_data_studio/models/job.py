from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk


class GenerationJob(Base):
    __tablename__ = "generation_jobs"

    id: Mapped[uuid.UUID] = uuid_pk()
    job_type: Mapped[str] = mapped_column(String(50))
    target_conversation_ids: Mapped[list[Any]]
    total_conversations: Mapped[int]
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversation_templates.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), server_default="queued")
    current_conversation_index: Mapped[int] = mapped_column(server_default="0")
    completed_conversations: Mapped[int] = mapped_column(server_default="0")
    failed_conversations: Mapped[int] = mapped_column(server_default="0")
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    total_duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    total_api_calls: Mapped[int] = mapped_column(server_default="0")
    total_tokens_used: Mapped[int] = mapped_column(server_default="0")
    total_cost_cents: Mapped[Decimal] = mapped_column(Numeric(12, 4), server_default="0")
    error_message: Mapped[str | None]
    failed_conversation_ids: Mapped[list[Any] | None]
    results_summary: Mapped[dict[str, Any] | None]
    created_by: Mapped[str | None]
    options: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    budget_cents: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    notify_email: Mapped[str | None]
    provider: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(server_default="0")
    output_tokens: Mapped[int] = mapped_column(server_default="0")
    cache_read_tokens: Mapped[int] = mapped_column(server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(server_default="0")
    paused_reason: Mapped[str | None]
    batch_id: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
