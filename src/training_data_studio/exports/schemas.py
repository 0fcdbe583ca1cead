"""Export options (the API body and the CLI flags) and the manifest every export writes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GENERATION_STATUSES = ("planned", "in_progress", "incomplete", "generated", "reviewed", "approved", "flagged", "failed")
TIERS = ("tier1_template", "tier2_scenario", "tier3_edge")
# Long enough for the longest planned conversation (6 turns) with room to spare; a typical LoRA cutoff.
DEFAULT_MAX_TOKENS = 8192
DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SEED = 42


def known_values(value: list[str], allowed: tuple[str, ...], kind: str) -> list[str]:
    """``value`` sorted and de-duplicated, or a ValueError naming what is not in ``allowed``."""
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(unknown)}; use {', '.join(allowed)}")
    return sorted(set(value))


class ExportFormat(StrEnum):
    CHAT_JSONL = "chat-jsonl"
    SHAREGPT = "sharegpt"
    ANNOTATED = "annotated"


class ExportMode(StrEnum):
    PER_CONVERSATION = "per-conversation"
    PER_TURN = "per-turn"


class WeightsOption(StrEnum):
    ALL = "all"
    SEEDS_ONLY = "seeds-only"
    APPROVED_TURNS = "approved-turns"


class ExportOptions(BaseModel):
    """What to export and how. Lists are kept sorted and de-duplicated, so equal selections compare equal."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat
    statuses: list[str] = Field(default_factory=lambda: ["approved"], min_length=1)
    tiers: list[str] = Field(default_factory=list, description="Empty: every tier.")
    personas: list[str] = Field(default_factory=list, description="Empty: every persona type.")
    mode: ExportMode = ExportMode.PER_CONVERSATION
    weights: WeightsOption | None = Field(
        default=None, description="chat-jsonl only: put a 0/1 weight on every assistant message."
    )
    seed: int = DEFAULT_SEED
    val_fraction: float = Field(default=DEFAULT_VAL_FRACTION, ge=0, lt=1)
    max_tokens: int = Field(default=DEFAULT_MAX_TOKENS, ge=1)
    allow_seed_copies: bool = Field(
        default=False, description="Keep generated conversations that copy long word runs from their seed."
    )
    dataset_name: str = Field(
        default="elena_morales_cfp", pattern=r"^[A-Za-z0-9_]{1,64}$", description="Name in dataset_info.json."
    )

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: list[str]) -> list[str]:
        return known_values(value, GENERATION_STATUSES, "status")

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, value: list[str]) -> list[str]:
        return known_values(value, TIERS, "tier")

    @field_validator("personas")
    @classmethod
    def _sorted_personas(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _options_fit_the_format(self) -> Self:
        if self.weights is not None and self.format is not ExportFormat.CHAT_JSONL:
            raise ValueError("weights apply to the chat-jsonl format only")
        if self.format is ExportFormat.ANNOTATED and self.mode is not ExportMode.PER_CONVERSATION:
            raise ValueError("the annotated format is always one record per conversation (mode per-conversation)")
        return self

    def manifest_options(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class FileEntry(BaseModel):
    sha256: str
    bytes: int
    records: int = Field(description="Lines (JSONL) or array items (JSON); 0 for dataset_info.json.")
    excluded: int = Field(default=0, description="Examples left out as seed copies of a seed in this file.")
    merged: int = Field(default=0, description="Examples here that belong to a near-duplicate group of 2+.")
    deduplicated: int = Field(default=0, description="Exact duplicates dropped whose kept copy is in this file.")


class ExclusionEntry(BaseModel):
    conversation_id: str
    reason: str = Field(description="exact_duplicate or copies_seed.")
    detail: str
    examples: int


class CleaningReport(BaseModel):
    """What the export left out and what it kept together (see exports/dedup.py)."""

    conversations_selected: int
    deduplicated: int
    excluded: int
    merged: int
    near_duplicate_groups: int
    exclusions: list[ExclusionEntry]


class SplitCounts(BaseModel):
    conversations: int
    examples: int
    turns: int
    by_persona: dict[str, int]
    by_tier: dict[str, int]
    conversation_ids: list[str]


class TemplateUse(BaseModel):
    template_id: str | None
    version: int | None
    conversations: int


class ModelUse(BaseModel):
    generation_model: str | None
    conversations: int


class TokenBudget(BaseModel):
    method: str
    max_tokens: int
    largest_example: int


class ExportManifest(BaseModel):
    """Everything needed to know what an export holds and to check it; no timestamps (see split/manifest)."""

    export_id: str = Field(description="sha256 of this manifest's other content: equal exports, equal ids.")
    manifest_version: int = 1
    tool: str
    format: ExportFormat
    options: dict[str, Any]
    files: dict[str, FileEntry]
    splits: dict[str, SplitCounts]
    templates: list[TemplateUse]
    generation_models: list[ModelUse]
    tokens: TokenBudget
    cleaning: CleaningReport | None = None


class CheckResult(BaseModel):
    ok: bool
    errors: list[str]
    records_checked: int
    largest_example_tokens: int


class ExportRead(BaseModel):
    """What the API returns for an export: its manifest, the check, and where to download each file."""

    export_id: str
    folder: str
    manifest: ExportManifest
    check: CheckResult
    downloads: dict[str, str]
