"""Training files: named sets of conversations, their members, and their immutable versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk


class TrainingFile(Base):
    __tablename__ = "training_files"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None]
    target_model: Mapped[str | None] = mapped_column(String(100))
    current_version: Mapped[int] = mapped_column(server_default="0")
    created_by: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class TrainingFileMember(Base):
    __tablename__ = "training_file_members"

    id: Mapped[uuid.UUID] = uuid_pk()
    training_file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_files.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    added_in_version: Mapped[int]
    added_by: Mapped[str | None]
    added_at: Mapped[datetime] = created_at()


class TrainingFileVersion(Base):
    __tablename__ = "training_file_versions"

    id: Mapped[uuid.UUID] = uuid_pk()
    training_file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_files.id", ondelete="CASCADE"))
    version_number: Mapped[int]
    change: Mapped[dict[str, Any]]
    conversation_ids: Mapped[list[Any]]
    conversation_count: Mapped[int]
    pair_count: Mapped[int]
    file_metadata: Mapped[dict[str, Any]]
    files: Mapped[dict[str, Any]]
    created_by: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
