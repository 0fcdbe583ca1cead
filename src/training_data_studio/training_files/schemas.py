"""Training file bodies (create, add, remove) and what the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..exports.schemas import GENERATION_STATUSES, TIERS, known_values

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$"


def _no_nul(value: str) -> str:
    # Postgres text cannot hold NUL: refused here as bad input rather than failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


class Selection(BaseModel):
    """Which conversations: explicit ids (the Matrix selection), or filters. Not both."""

    model_config = ConfigDict(extra="forbid")

    conversation_ids: list[str] = Field(
        default_factory=list, description="Conversation ids (e.g. fp_marcus_011) or row UUIDs."
    )
    statuses: list[str] = Field(default_factory=list, description="Filter: generation statuses (empty: approved).")
    tiers: list[str] = Field(default_factory=list)
    personas: list[str] = Field(default_factory=list)
    min_quality: Decimal | None = Field(default=None, ge=0, le=5, description="Filter: quality score at least.")

    @field_validator("conversation_ids")
    @classmethod
    def _clean_ids(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_no_nul(v.strip()) for v in value if v.strip()))

    @field_validator("personas")
    @classmethod
    def _clean_personas(cls, value: list[str]) -> list[str]:
        return sorted({_no_nul(v) for v in value})

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: list[str]) -> list[str]:
        return known_values(value, GENERATION_STATUSES, "status")

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, value: list[str]) -> list[str]:
        return known_values(value, TIERS, "tier")

    @model_validator(mode="after")
    def _ids_or_filters(self) -> Self:
        filtered = bool(self.statuses or self.tiers or self.personas or self.min_quality is not None)
        if self.conversation_ids and filtered:
            raise ValueError(
                "give either conversation_ids or filters (statuses, tiers, personas, min_quality), not both"
            )
        return self

    @property
    def by_ids(self) -> bool:
        return bool(self.conversation_ids)

    def describe(self) -> str:
        if self.by_ids:
            return f"{len(self.conversation_ids)} chosen conversation(s)"
        parts = [f"status {', '.join(self.statuses or ['approved'])}"]
        if self.tiers:
            parts.append(f"tier {', '.join(self.tiers)}")
        if self.personas:
            parts.append(f"persona {', '.join(self.personas)}")
        if self.min_quality is not None:
            parts.append(f"quality at least {self.min_quality}")
        return "; ".join(parts)


class TrainingFileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="1-100 letters, digits, spaces, '_', '.', '-'.")
    description: str | None = Field(default=None, max_length=2000)
    target_model: str | None = Field(default=None, max_length=100, description="e.g. llama-3.1-8b (optional).")
    selection: Selection

    @field_validator("description", "target_model")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else _no_nul(value)


class MembershipChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selection: Selection


class FileLink(BaseModel):
    name: str
    sha256: str
    bytes: int
    url: str


class VersionRead(BaseModel):
    version_number: int
    change: dict[str, Any]
    conversation_count: int
    pair_count: int
    file_metadata: dict[str, Any]
    files: list[FileLink]
    created_by: str | None
    created_at: datetime


class MemberRead(BaseModel):
    id: uuid.UUID
    conversation_id: str
    conversation_number: int
    persona_type: str
    tier: str
    generation_status: str
    quality_score: Decimal | None
    turn_count: int
    added_in_version: int


class TrainingFileRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    target_model: str | None
    current_version: int
    conversation_count: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class TrainingFileDetail(TrainingFileRead):
    members: list[MemberRead]
    versions: list[VersionRead]

    @property
    def current(self) -> VersionRead | None:
        return next((v for v in self.versions if v.version_number == self.current_version), None)
