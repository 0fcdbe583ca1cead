"""The template manager's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.storable import PG_INT_MAX, StorableText


class TemplateSummary(BaseModel):
    """One row of the template list."""

    id: uuid.UUID
    template_id: str
    template_name: str
    letter: str | None
    tier: str
    version: int
    is_active: bool
    target_conversation_count: int | None
    planned_count: int = Field(description="Conversations in the plan that use this template.")
    generated_count: int = Field(description="Of those, how many have content (generated, reviewed or approved).")
    updated_at: datetime


class TemplateVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    template_name: str
    template_prompt: str
    template_instructions: str | None
    quality_requirements: dict[str, Any] | None
    created_at: datetime
    created_by: str | None
    change_note: str | None


class TemplateRead(BaseModel):
    """A template with everything the detail page shows, versions newest first."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    template_id: str
    template_name: str
    letter: str | None
    tier: str
    tier_description: str | None
    emotional_arc_pattern: str | None
    starting_emotion_pattern: str | None
    ending_emotion_pattern: str | None
    typical_turn_count: int | None
    structural_pattern_description: str | None
    template_prompt: str
    template_instructions: str | None
    quality_requirements: dict[str, Any] | None
    target_conversation_count: int | None
    version: int
    is_active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    variables: list[str] = Field(default_factory=list, description="Variables the prompt uses, in order.")
    versions: list[TemplateVersionRead] = Field(default_factory=list)


class TemplateUpdate(BaseModel):
    """An edit: each field given replaces the current one, and the template gets a new version."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    template_name: StorableText | None = Field(default=None, min_length=1, max_length=200)
    template_prompt: StorableText | None = Field(default=None, min_length=1)
    template_instructions: StorableText | None = None
    quality_requirements: dict[str, Any] | None = None
    change_note: StorableText | None = Field(default=None, max_length=2000)
    expected_version: int | None = Field(
        default=None,
        ge=1,
        le=PG_INT_MAX,
        description="The version the edit was based on; a different current version is a conflict (409).",
    )


class TemplateProblemRead(BaseModel):
    code: str
    message: str
    line: int
    column: int
    variable: str | None = None


class TemplatePreview(BaseModel):
    template_id: str
    version: int
    conversation_number: int
    conversation_id: str
    text: str
    variables: dict[str, str]
