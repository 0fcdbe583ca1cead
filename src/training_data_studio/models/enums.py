"""The closed vocabularies of the schema, one StrEnum each (their values are what the CHECK constraints in
supabase/migrations allow). Members are strings, so they compare equal to the values read from the database."""

from __future__ import annotations

from enum import StrEnum


class ConversationStatus(StrEnum):
    """``training_conversations.generation_status``."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    # Imported with fewer pairs than its file declares; generation can complete it later.
    INCOMPLETE = "incomplete"
    GENERATED = "generated"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    FLAGGED = "flagged"
    FAILED = "failed"


class JobStatus(StrEnum):
    """``generation_jobs.status``."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ItemStatus(StrEnum):
    """``generation_job_items.status``: one conversation of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    PAUSED = "paused"
    CANCELLED = "cancelled"
