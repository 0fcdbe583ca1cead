"""Pydantic shapes of generation jobs at the edges: requests to create or control a job, and its progress."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

JobType = Literal["single", "batch", "process_all"]
# The values of models.enums.JobStatus and ItemStatus, for the OpenAPI schema (a test keeps them equal).
JobStatus = Literal["queued", "in_progress", "paused", "completed", "failed", "cancelled"]
ItemStatus = Literal["queued", "running", "succeeded", "failed", "skipped", "paused", "cancelled"]

# A batch larger than the plan makes no sense; the cap also bounds the size of one request body.
MAX_TARGETS = 1000


class JobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    economy: bool = Field(default=False, description="Use the Message Batches API: half price, results later.")
    budget_usd: Decimal | None = Field(default=None, gt=0, le=10_000, description="Pause before crossing this.")
    notify_email: EmailStr | None = None
    concurrency: int | None = Field(default=None, ge=1, le=64)


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_ids: list[str] = Field(
        default_factory=list,
        max_length=MAX_TARGETS,
        description="Conversation ids (or numbers as text) to generate; empty for process_all.",
    )
    options: JobOptions = Field(default_factory=JobOptions)


class SingleJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=100)
    regenerate: bool = Field(
        default=False,
        description="Replace a generated (reviewed, approved, flagged) conversation with a new version; the current "
        "version is kept as a revision and the new one awaits review.",
    )
    options: JobOptions = Field(default_factory=JobOptions)


class ProcessAllCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_seed_slots: bool = Field(
        default=False,
        description="Also generate the planned seed slots, which otherwise wait for their seed files to be imported.",
    )
    options: JobOptions = Field(default_factory=JobOptions)


class BatchJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_ids: list[str] = Field(min_length=1, max_length=MAX_TARGETS)
    options: JobOptions = Field(default_factory=JobOptions)

    @model_validator(mode="after")
    def _distinct(self) -> BatchJobCreate:
        if len(set(self.conversation_ids)) != len(self.conversation_ids):
            raise ValueError("conversation_ids lists a conversation twice")
        return self


class TierProgress(BaseModel):
    tier: str
    total: int
    succeeded: int
    failed: int


class ItemRead(BaseModel):
    id: uuid.UUID
    conversation_id: str
    conversation_number: int
    tier: str
    persona_type: str
    topic_category: str
    status: ItemStatus
    attempts: int
    error: str | None
    quality_score: Decimal | None
    cost_cents: Decimal | None
    duration_seconds: Decimal | None
    finished_at: datetime | None


class EventRead(BaseModel):
    id: int
    created_at: datetime
    level: str
    step: str
    message: str
    conversation_number: int | None


class JobCounts(BaseModel):
    """A job's items by status, from one query: every figure a page shows is a sum of these, so they add up."""

    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    queued: int = 0
    paused: int = 0
    running: int = 0

    @classmethod
    def of(cls, statuses: Iterable[str]) -> JobCounts:
        """Counted from item statuses already read (the rows a summary also takes its tiers from)."""
        return cls(**Counter(str(status) for status in statuses))

    @property
    def total(self) -> int:
        return self.finished + self.remaining

    @property
    def finished(self) -> int:
        """Items nothing more happens to (unless failed ones are retried)."""
        return self.succeeded + self.failed + self.cancelled + self.skipped

    @property
    def remaining(self) -> int:
        """Items still to run: queued, paused or running."""
        return self.queued + self.paused + self.running

    @property
    def percent(self) -> float:
        return round(100 * self.finished / self.total, 1) if self.total else 100.0


class JobRead(BaseModel):
    id: uuid.UUID
    job_type: JobType
    status: JobStatus
    created_at: datetime
    created_by: str | None
    started_at: datetime | None
    completed_at: datetime | None
    counts: JobCounts = Field(description="Items by status; the figures below are sums of these.")
    total_conversations: int
    completed_conversations: int
    failed_conversations: int
    cancelled_conversations: int
    skipped_conversations: int
    finished_conversations: int = Field(description="Generated, failed, cancelled or skipped.")
    remaining_conversations: int = Field(description="Queued, paused or running.")
    queued_conversations: int = Field(description="Queued or paused.")
    running_conversations: int
    percent: float = Field(description="finished_conversations / total_conversations, in percent.")
    total_api_calls: int
    total_tokens_used: int
    total_cost_cents: Decimal
    budget_cents: Decimal | None
    paused_reason: str | None
    provider: str | None
    model: str | None
    economy: bool
    eta_seconds: float | None
    average_quality: float | None
    tiers: list[TierProgress]


class JobDetail(JobRead):
    items: list[ItemRead]
    events: list[EventRead]


class Estimate(BaseModel):
    conversations: int
    seconds_per_conversation: float
    cost_cents_per_conversation: Decimal
    total_seconds: float
    total_cost_cents: Decimal
    based_on: Literal["history", "default"]
    by_tier: dict[str, int]
