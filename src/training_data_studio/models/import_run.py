"""Seed import runs and the conversations each run wrote (what is needed to roll a run back)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, uuid_pk


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[uuid.UUID] = uuid_pk()
    started_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    finished_at: Mapped[datetime | None]
    created_by: Mapped[str | None]
    options: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    files: Mapped[list[Any]] = mapped_column(server_default="[]")
    conversation_count: Mapped[int] = mapped_column(server_default="0")
    turn_count: Mapped[int] = mapped_column(server_default="0")
    sentence_count: Mapped[int] = mapped_column(server_default="0")
    duplicate_count: Mapped[int] = mapped_column(server_default="0")
    warning_count: Mapped[int] = mapped_column(server_default="0")
    error_count: Mapped[int] = mapped_column(server_default="0")
    status: Mapped[str] = mapped_column(String(30), server_default="running")
    rolled_back_at: Mapped[datetime | None]
    rolled_back_by: Mapped[str | None]


class ImportRunItem(Base):
    __tablename__ = "import_run_items"

    id: Mapped[uuid.UUID] = uuid_pk()
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"))
    conversation_row_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("training_conversations.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    source_file: Mapped[str | None]
    previous_row: Mapped[dict[str, Any] | None]
    previous_export: Mapped[dict[str, Any] | None]
    previous_metrics: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
