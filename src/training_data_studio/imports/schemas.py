"""Pydantic models of an import: options, problems with their location, per-file reports, run summaries and
progress events. The same models are stored in ``import_runs.files``, returned by the API and printed by
the CLI."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

FileStatus = Literal["imported", "duplicate", "failed"]
RunStatus = Literal["running", "completed", "completed_with_errors", "failed", "rolled_back"]
ItemAction = Literal["filled_plan", "inserted", "replaced"]
# single: {dataset_metadata, consultant_profile, training_pairs}; multi: {dataset_metadata, ..., conversations};
# training_file: the v4 {training_file_metadata, consultant_profile, conversations}; jsonl: one pair a line.
Layout = Literal["single", "multi", "training_file", "jsonl"]


class ImportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repair: bool = Field(default=False, description="Repair JSON syntax errors with json-repair (with a warning).")
    replace: bool = Field(default=False, description="Re-import conversations that are already imported/generated.")
    dry_run: bool = Field(default=False, description="Validate and report; write nothing.")
    source: Literal["cli", "upload", "seed", "bench", "api"] = "cli"


class Problem(BaseModel):
    """An error or warning about one file, located as precisely as the cause allows."""

    file: str
    message: str
    code: str = "invalid"
    json_path: str | None = None
    line: int | None = None
    column: int | None = None
    byte_offset: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        """One line naming the file, then the place (line:column or JSON path), then the message."""
        return self.describe(with_file=True)

    def describe(self, *, with_file: bool) -> str:
        where = [self.file] if with_file else []
        if self.line is not None and self.column is not None:
            where.append(f"line {self.line}, column {self.column}")
        if self.json_path:
            where.append(self.json_path)
        return ": ".join([*where, self.message])


class FileReport(BaseModel):
    path: str
    status: FileStatus
    layout: Layout | None = None
    repaired: bool = False
    conversations: int = 0
    turns: int = 0
    sentences: int = 0
    pairs_merged: int = Field(
        default=0, description="Half pairs (a client message without a reply) merged into the exchange after them."
    )
    incomplete: int = Field(default=0, description="Conversations holding fewer pairs than the file declares.")
    open_endings: int = Field(default=0, description="Conversations that end on a client message.")
    duplicates: int = 0
    conversation_ids: list[str] = Field(default_factory=list)
    duplicate_ids: list[str] = Field(default_factory=list)
    skipped: list[Problem] = Field(default_factory=list, description="Why each duplicate was skipped.")
    warnings: list[Problem] = Field(default_factory=list)
    errors: list[Problem] = Field(default_factory=list)


class RunTotals(BaseModel):
    files: int = 0
    failed_files: int = 0
    conversations: int = 0
    turns: int = 0
    sentences: int = 0
    duplicates: int = 0
    warnings: int = 0
    errors: int = 0


class ImportRunSummary(BaseModel):
    """What a run did. ``run_id`` is None for a dry run, which records nothing."""

    run_id: uuid.UUID | None
    status: RunStatus
    dry_run: bool
    options: ImportOptions
    created_by: str | None
    started_at: datetime
    finished_at: datetime | None
    rolled_back_at: datetime | None = None
    totals: RunTotals
    files: list[FileReport]


class ImportRunListItem(BaseModel):
    run_id: uuid.UUID
    status: RunStatus
    created_by: str | None
    started_at: datetime
    finished_at: datetime | None
    rolled_back_at: datetime | None
    options: ImportOptions
    totals: RunTotals


class ProgressEvent(BaseModel):
    """Sent to ``on_progress`` when a file starts, after each of its conversations is checked (validated,
    measured and its rows built: the client's work), and when the file finishes (with its report)."""

    kind: Literal["file_started", "conversation_checked", "file_finished"]
    index: int = Field(description="1-based position of the file in the run.")
    total: int
    path: str
    report: FileReport | None = None
    conversation: int | None = Field(default=None, description="1-based position of the conversation in its file.")
    conversations: int | None = Field(default=None, description="How many conversations the file holds.")


class RollbackSummary(BaseModel):
    run_id: uuid.UUID
    deleted: list[str] = Field(default_factory=list, description="Conversations the run had inserted.")
    restored_to_plan: list[str] = Field(default_factory=list, description="Plan rows set back to planned.")
    restored_previous: list[str] = Field(default_factory=list, description="Replaced conversations restored.")
    missing: list[str] = Field(default_factory=list, description="Conversations deleted since the run.")
