"""Quality feature bodies: duplicates, the dashboard and its filters, bulk review actions, the audit trail,
recomputation and LLM judgements."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ..conversations.schemas import Status

BulkAction = Literal["approve-perfect", "flag-low"]
PAGE_SIZES = (25, 50, 100)
SCORE_MIN, SCORE_MAX = 1.0, 5.0
# At most this many conversations change in one bulk action: the page lists them all before confirming, and
# one transaction stays short.
BULK_LIMIT = 500
# One synchronous API call judges at most this many conversations (each is one LLM call); `tds quality
# judge --all` has no such limit.
JUDGE_API_LIMIT = 20


def _printable(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


ConversationIdent = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,100}$")]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), AfterValidator(_printable)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------------------------------


class DuplicatePairRead(BaseModel):
    first_conversation_id: str
    second_conversation_id: str
    jaccard: float = Field(description="Exact Jaccard index of the two conversations' word 3-gram sets.")
    estimated_jaccard: float = Field(description="The MinHash estimate of the same (128 permutations).")


class DuplicateReport(BaseModel):
    threshold: float
    conversations_compared: int
    pairs: list[DuplicatePairRead]


# --------------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------------


class QualityFilters(BaseModel):
    """The dashboard's conversation list, from the query string. Empty values mean "no filter".

    The score range filters the self-reported overall score (1–5); ``needs_review`` keeps conversations not
    ready for training, ``incomplete`` those whose annotation fails a completeness check.
    """

    model_config = ConfigDict(extra="ignore")

    score_min: float | None = Field(default=None, ge=SCORE_MIN, le=SCORE_MAX)
    score_max: float | None = Field(default=None, ge=SCORE_MIN, le=SCORE_MAX)
    needs_review: bool = False
    incomplete: bool = False
    status: list[Status] = Field(default_factory=list, description="Conversation statuses (any of).")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=25, json_schema_extra={"enum": list(PAGE_SIZES)})

    @field_validator("score_min", "score_max", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("needs_review", "incomplete", mode="before")
    @classmethod
    def _empty_is_false(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return False
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _drop_empty_choices(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return list(dict.fromkeys(v for v in value if not (isinstance(v, str) and not v.strip())))
        return value

    @field_validator("page_size", mode="before")
    @classmethod
    def _one_of_the_page_sizes(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if value not in PAGE_SIZES:
            raise ValueError("must be 25, 50 or 100")
        return value

    @model_validator(mode="after")
    def _ordered_range(self) -> QualityFilters:
        if self.score_min is not None and self.score_max is not None and self.score_min > self.score_max:
            raise ValueError("score_min must not be greater than score_max")
        return self

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.score_min is not None or self.score_max is not None or self.needs_review or self.incomplete
        ) or bool(self.status)

    def query_params(self, **changes: Any) -> list[tuple[str, str]]:
        data = self.model_dump() | changes
        pairs: list[tuple[str, str]] = []
        for name in ("score_min", "score_max"):
            if data[name] is not None:
                pairs.append((name, f"{data[name]:g}"))
        for name in ("needs_review", "incomplete"):
            if data[name]:
                pairs.append((name, "true"))
        pairs.extend(("status", s) for s in data["status"])
        if data["page"] != 1:
            pairs.append(("page", str(data["page"])))
        if data["page_size"] != PAGE_SIZES[0]:
            pairs.append(("page_size", str(data["page_size"])))
        return pairs

    def url(self, path: str = "/quality", **changes: Any) -> str:
        query = urlencode(self.query_params(**changes))
        return f"{path}?{query}" if query else path


class ScoreAverages(BaseModel):
    """Means over the conversations that have each score (None when none has it)."""

    overall: float | None
    empathy: float | None
    clarity: float | None
    appropriateness: float | None
    brand_voice: float | None


class JudgeAverages(BaseModel):
    judged: int = Field(description="Conversations with at least one judgement (the latest one counts).")
    empathy: float | None
    clarity: float | None
    appropriateness: float | None
    brand_voice: float | None


class Averages(BaseModel):
    self_reported: ScoreAverages = Field(description="The documents' own scores (1–5), as written by their author.")
    computed_score: float | None = Field(description="Mean share of deterministic checks passed (0–1).")
    judge: JudgeAverages


class HistogramBin(BaseModel):
    label: str
    low: float
    high: float
    count: int


class Histograms(BaseModel):
    self_reported: list[HistogramBin] = Field(description="Overall self-reported score, 0.5-wide bins from 1 to 5.")
    computed: list[HistogramBin] = Field(description="Computed score in 10-point bins from 0% to 100%.")


class StatusCount(BaseModel):
    status: str
    label: str
    count: int


class TrendPoint(BaseModel):
    day: date = Field(description="Generation date, or import date for conversations that were imported.")
    conversations: int
    self_reported: float | None
    computed_score: float | None


class ValidationSummary(BaseModel):
    total: int = Field(description="Conversations with content (a quality_metrics row).")
    complete_annotation: int
    ready_for_training: int
    needs_review: int
    failed_checks: int = Field(description="Conversations failing at least one deterministic check.")


class CheckPassRate(BaseModel):
    key: str
    label: str
    group: str
    passed: int
    applicable: int
    rate: float | None = Field(description="passed / applicable, 0–1.")


class DimensionComparison(BaseModel):
    key: str
    label: str
    seed: float | None
    generated: float | None
    difference: float | None = Field(description="generated - seed.")
    significant: bool = Field(description="|difference| >= 0.5 on the 1–5 scale.")


class CheckComparison(BaseModel):
    key: str
    label: str
    seed_rate: float | None
    generated_rate: float | None
    difference_points: float | None = Field(description="(generated - seed) pass rate, in percentage points.")
    significant: bool = Field(description="|difference| >= 20 points.")


class Comparison(BaseModel):
    seed_count: int
    generated_count: int
    dimensions: list[DimensionComparison]
    checks: list[CheckComparison]


class TemplateQuality(BaseModel):
    tier: str
    template: str
    label: str
    conversations: int
    self_reported: float | None
    computed_score: float | None
    ready_for_training: int


class IssueRead(BaseModel):
    check: str
    severity: str
    turn: int | None = None
    sentence: int | None = None
    message: str
    action: str


class QualityRow(BaseModel):
    conversation_id: str
    conversation_number: int
    status: str
    tier: str
    template: str | None
    is_seed: bool
    overall: float | None
    empathy: float | None
    clarity: float | None
    appropriateness: float | None
    brand_voice: float | None
    computed_score: float | None
    checks_passed: int
    checks_applicable: int
    completeness: dict[str, bool | None] = Field(description="Each completeness check's result, by check key.")
    ready_for_training: bool
    needs_review: bool
    reviewed_by: str | None
    review_date: datetime | None
    issue_count: int
    issues: list[IssueRead] = Field(description="The first issues (see issue_count for how many there are).")


class QualityPage(BaseModel):
    items: list[QualityRow]
    total: int = Field(description="Conversations matching the filters.")
    page: int
    page_size: int
    pages: int


class QualityDashboard(BaseModel):
    """Everything the Quality page shows, as JSON."""

    averages: Averages
    histograms: Histograms
    statuses: list[StatusCount]
    trend: list[TrendPoint]
    validation: ValidationSummary
    check_pass_rates: list[CheckPassRate]
    comparison: Comparison
    templates: list[TemplateQuality]
    conversations: QualityPage
    duplicates: DuplicateReport | None = Field(default=None, description="Only when asked for (duplicates=true).")


# --------------------------------------------------------------------------------------------------
# Bulk review actions and the audit trail
# --------------------------------------------------------------------------------------------------


class BulkCandidate(BaseModel):
    conversation_id: str
    conversation_number: int
    status: str
    quality_score: float | None
    computed_score: float | None


class BulkPreview(BaseModel):
    """Who a bulk action would change now (at most ``limit``); send their ids back to confirm it."""

    action: BulkAction
    description: str
    target_status: str
    total_matching: int
    limit: int
    candidates: list[BulkCandidate]


class BulkRequest(BaseModel):
    """The conversations the user saw in the preview, and an explicit confirmation."""

    model_config = ConfigDict(extra="forbid")

    conversation_ids: list[ConversationIdent] = Field(min_length=1, max_length=BULK_LIMIT)
    confirm: bool = Field(description="Must be true: the user confirmed this exact selection.")
    reviewer_notes: Notes | None = None

    @field_validator("conversation_ids")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @field_validator("confirm")
    @classmethod
    def _confirmed(cls, value: bool) -> bool:
        if not value:
            raise ValueError("confirm the bulk action: review the preview, then send confirm=true")
        return value


class BulkSkip(BaseModel):
    conversation_id: str
    reason: str


class BulkResult(BaseModel):
    action: BulkAction
    target_status: str
    changed: list[str]
    skipped: list[BulkSkip]


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    conversation_id: str
    from_status: str
    to_status: str
    notes: str | None
    reviewer: str
    source: str
    created_at: datetime


# --------------------------------------------------------------------------------------------------
# Recomputation and the LLM judge
# --------------------------------------------------------------------------------------------------


class RecomputeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_ids: list[ConversationIdent] | None = Field(
        default=None, min_length=1, max_length=10_000, description="Omit to recompute every conversation."
    )


class RecomputeFailure(BaseModel):
    conversation_id: str
    error: str


class RecomputeReport(BaseModel):
    recomputed: int
    ready_for_training: int
    needs_review: int
    with_failed_checks: int
    invalid: list[RecomputeFailure]


class JudgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_ids: list[ConversationIdent] = Field(min_length=1, max_length=JUDGE_API_LIMIT)

    @field_validator("conversation_ids")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return _unique(value)


class JudgementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: str
    model: str
    rubric_version: str
    empathy_score: int
    clarity_score: int
    appropriateness_score: int
    brand_voice_score: int
    reasons: dict[str, str]
    created_at: datetime
    created_by: str | None


class JudgeFailure(BaseModel):
    conversation_id: str
    error: str


class JudgeReport(BaseModel):
    rubric_version: str
    judged: list[JudgementRead]
    failed: list[JudgeFailure]
