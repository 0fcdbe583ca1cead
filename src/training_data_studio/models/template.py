from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk


class ConversationTemplate(Base):
    __tablename__ = "conversation_templates"

    id: Mapped[uuid.UUID] = uuid_pk()
    template_id: Mapped[str] = mapped_column(String(50), unique=True)
    template_name: Mapped[str] = mapped_column(String(200))
    letter: Mapped[str | None] = mapped_column(String(1))
    tier: Mapped[str] = mapped_column(String(20))
    tier_description: Mapped[str | None]
    emotional_arc_pattern: Mapped[str | None]
    starting_emotion_pattern: Mapped[str | None]
    ending_emotion_pattern: Mapped[str | None]
    typical_turn_count: Mapped[int | None]
    structural_pattern_description: Mapped[str | None]
    template_prompt: Mapped[str]
    template_instructions: Mapped[str | None]
    reference_conversation_ids: Mapped[list[Any] | None]
    target_conversation_count: Mapped[int | None]
    generated_conversation_count: Mapped[int] = mapped_column(server_default="0")
    quality_requirements: Mapped[dict[str, Any] | None]
    version: Mapped[int] = mapped_column(server_default="1")
    is_active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    created_by: Mapped[str | None]
    updated_by: Mapped[str | None]


class ConversationTemplateVersion(Base):
    """One saved version of a template's text: written when a template is loaded and on every edit."""

    __tablename__ = "conversation_template_versions"
    __table_args__ = (
        UniqueConstraint("template_id", "version", name="conversation_template_versions_template_version_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversation_templates.id", ondelete="CASCADE"))
    version: Mapped[int]
    template_name: Mapped[str] = mapped_column(String(200))
    template_prompt: Mapped[str]
    template_instructions: Mapped[str | None]
    quality_requirements: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
    created_by: Mapped[str | None]
    change_note: Mapped[str | None]
