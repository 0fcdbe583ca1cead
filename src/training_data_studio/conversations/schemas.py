"""What the conversation list and detail read and return: the Matrix's query-string filters, its rows and page,
the full detail of one conversation, and the review-status change."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .emotions import emotion_key

Persona = Literal["Marcus", "Jennifer", "David", "Mixed"]
Tier = Literal["tier1_template", "tier2_scenario", "tier3_edge"]
# The values of models.enums.ConversationStatus, spelled out for the OpenAPI schema (a test keeps them equal).
Status = Literal["planned", "in_progress", "incomplete", "generated", "reviewed", "approved", "flagged", "failed"]
SortKey = Literal["number", "persona", "topic", "tier", "arc", "turns", "status", "quality", "relevance"]
SortOrder = Literal["asc", "desc"]
ReviewStatus = Literal["reviewed", "approved", "flagged", "generated"]

PERSONAS: tuple[Persona, ...] = ("Marcus", "Jennifer", "David", "Mixed")
TIERS: tuple[Tier, ...] = ("tier1_template", "tier2_scenario", "tier3_edge")
# The order a conversation moves through; sorting by status follows it rather than the alphabet.
STATUSES: tuple[Status, ...] = (
    "planned",
    "in_progress",
    "incomplete",
    "generated",
    "reviewed",
    "approved",
    "flagged",
    "failed",
)
# A conversation in one of these states has its turns: it counts as generated in the summary.
GENERATED_STATUSES: tuple[Status, ...] = ("generated", "reviewed", "approved", "flagged")
# Still to be generated (a failed generation can be retried).
TO_GENERATE_STATUSES: tuple[Status, ...] = ("planned", "in_progress", "failed")
PAGE_SIZES = (25, 50, 100)
QUALITY_MIN, QUALITY_MAX = 1.0, 5.0

TIER_LABELS = {
    "tier1_template": "Tier 1 · Template",
    "tier2_scenario": "Tier 2 · Scenario",
    "tier3_edge": "Tier 3 · Edge",
}
STATUS_LABELS = {
    "planned": "Planned",
    "in_progress": "In progress",
    # Imported with fewer pairs than its file declares; generation can complete it.
    "incomplete": "Incomplete",
    "generated": "Generated",
    "reviewed": "Reviewed",
    "approved": "Approved",
    "flagged": "Flagged",
    "failed": "Failed",
}


def _printable(value: str) -> str:
    """PostgreSQL text cannot hold NUL, and no filter value needs control characters."""
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


# Compared by key (case and whitespace folded, conversations/emotions.py): "Anxiety" and "anxiety" are one.
Emotion = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_printable),
    AfterValidator(emotion_key),
]
TemplateKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_printable)]

_LIST_FIELDS = ("persona", "tier", "status", "starting_emotion", "ending_emotion", "template")


class ConversationFilters(BaseModel):
    """The Matrix's state, read from the query string: every filter ANDed, then sorted and paginated.

    Empty values (an untouched search box, an "any" choice) mean "no filter". The quality range only filters
    when it narrows 1.0–5.0, so the full range keeps conversations that have no score yet. `sort` left empty
    means relevance when `q` is set and conversation number otherwise.
    """

    model_config = ConfigDict(extra="ignore")

    persona: list[Persona] = Field(default_factory=list, description="Persona types (any of).")
    tier: list[Tier] = Field(default_factory=list, description="Tiers (any of).")
    status: list[Status] = Field(default_factory=list, description="Generation statuses (any of).")
    starting_emotion: list[Emotion] = Field(default_factory=list, description="Starting emotions (any of).")
    ending_emotion: list[Emotion] = Field(default_factory=list, description="Ending emotions (any of).")
    template: list[TemplateKey] = Field(default_factory=list, description="tier_template values (any of).")
    topic: SearchText | None = Field(default=None, description="Case-insensitive text in the topic or its description.")
    q: SearchText | None = Field(default=None, description="Full-text search over turn content (web search syntax).")
    quality_min: float | None = Field(default=None, ge=QUALITY_MIN, le=QUALITY_MAX)
    quality_max: float | None = Field(default=None, ge=QUALITY_MIN, le=QUALITY_MAX)
    is_seed: bool | None = Field(default=None, description="Only seed conversations (true) or only the others.")
    sort: SortKey | None = None
    order: SortOrder = "asc"
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(
        default=50, description="25, 50 or 100 rows per page.", json_schema_extra={"enum": [25, 50, 100]}
    )

    @field_validator(*_LIST_FIELDS, mode="before")
    @classmethod
    def _drop_empty_choices(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return list(dict.fromkeys(v for v in value if not (isinstance(v, str) and not v.strip())))
        return value

    @field_validator("topic", "q", "quality_min", "quality_max", "is_seed", "sort", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("topic", "q")
    @classmethod
    def _blank_search_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("page_size", mode="before")
    @classmethod
    def _one_of_the_page_sizes(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if value not in PAGE_SIZES:
            raise ValueError("must be 25, 50 or 100")
        return value

    @model_validator(mode="after")
    def _normalise_quality_range(self) -> ConversationFilters:
        if self.quality_min is not None and self.quality_max is not None and self.quality_min > self.quality_max:
            raise ValueError("quality_min must not be greater than quality_max")
        if self.quality_min == QUALITY_MIN:
            self.quality_min = None
        if self.quality_max == QUALITY_MAX:
            self.quality_max = None
        return self

    @property
    def effective_sort(self) -> SortKey:
        if self.sort == "relevance" and not self.q:
            return "number"
        return self.sort or ("relevance" if self.q else "number")

    @property
    def active_filter_count(self) -> int:
        """How many filter dimensions narrow the list (the quality range counts once)."""
        dimensions = [
            *(bool(getattr(self, name)) for name in _LIST_FIELDS),
            self.topic is not None,
            self.q is not None,
            self.quality_min is not None or self.quality_max is not None,
            self.is_seed is not None,
        ]
        return sum(dimensions)

    @property
    def is_filtered(self) -> bool:
        return self.active_filter_count > 0

    def query_params(self, **changes: Any) -> list[tuple[str, str]]:
        """This state as query-string pairs, defaults left out, with `changes` applied (None removes a key)."""
        data = self.model_dump() | changes
        pairs: list[tuple[str, str]] = []
        for name in _LIST_FIELDS:
            pairs.extend((name, str(v)) for v in data[name] or [])
        for name in ("topic", "q", "quality_min", "quality_max"):
            if data[name] is not None:
                pairs.append((name, _plain_number(data[name])))
        if data["is_seed"] is not None:
            pairs.append(("is_seed", "true" if data["is_seed"] else "false"))
        if data["sort"] is not None:
            pairs.append(("sort", data["sort"]))
        if data["order"] != "asc":
            pairs.append(("order", data["order"]))
        if data["page"] not in (None, 1):
            pairs.append(("page", str(data["page"])))
        if data["page_size"] not in (None, 50):
            pairs.append(("page_size", str(data["page_size"])))
        return pairs

    def url(self, path: str = "/", **changes: Any) -> str:
        query = urlencode(self.query_params(**changes))
        return f"{path}?{query}" if query else path


def _plain_number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------


class ConversationRow(BaseModel):
    """One Matrix row: what the table shows and the row expansion reveals, nothing more."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: str
    conversation_number: int
    persona_type: str
    persona_name: str
    topic_category: str
    topic_description: str | None
    tier: str
    tier_template: str | None
    starting_emotion: str | None
    starting_emotion_intensity: float | None
    ending_emotion: str | None
    ending_emotion_intensity: float | None
    emotional_arc_description: str | None
    session_context: str | None
    turn_count: int
    turn_count_target: int | None
    generation_status: str
    quality_score: float | None
    is_seed_example: bool
    human_reviewed: bool
    rank: float | None = Field(default=None, description="Full-text relevance, when q is set.")
    snippet_html: str | None = Field(
        default=None,
        description="When q is set: the best-matching turn's excerpt, HTML-escaped, matches wrapped in <mark>.",
    )


class DatasetCounts(BaseModel):
    """Summary of the whole table, whatever the filters."""

    total: int
    seed: int
    generated: int
    remaining: int
    failed: int = Field(description="Of `remaining`, the conversations whose generation failed (retry them).")
    seed_slots: int = Field(description="Planned seed rows, waiting for their seed files (or a generation).")
    by_tier: dict[str, int]
    by_persona: dict[str, int]


class ConversationPage(BaseModel):
    items: list[ConversationRow]
    total: int
    filtered_total: int
    page: int
    page_size: int
    pages: int
    sort: SortKey
    order: SortOrder
    counts: DatasetCounts


class FilterOption(BaseModel):
    value: str
    label: str
    count: int | None = Field(default=None, description="Conversations with this value, where it is counted.")


class FilterOptions(BaseModel):
    personas: list[FilterOption]
    tiers: list[FilterOption]
    statuses: list[FilterOption]
    starting_emotions: list[FilterOption]
    ending_emotions: list[FilterOption]
    templates: list[FilterOption]


# --------------------------------------------------------------------------------------------------
# The detail
# --------------------------------------------------------------------------------------------------


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EmotionalContextRead(_Read):
    primary_emotion: str
    primary_confidence: float | None
    secondary_emotion: str | None
    secondary_confidence: float | None
    tertiary_emotion: str | None
    tertiary_confidence: float | None
    intensity: float | None
    valence: str | None
    valence_original: str | None
    emotional_indicators: dict[str, Any] | None
    previous_turn_emotion: str | None
    current_turn_emotion: str | None
    progression_description: str | None
    intensity_change: float | None
    emotional_progression: dict[str, Any] | None
    risk_level: str | None
    engagement_readiness: str | None
    knowledge_level: str | None
    trust_level: str | None
    behavioral_assessment: dict[str, Any] | None
    client_needs: list[Any] | None
    red_flags: list[Any] | None


class ResponseStrategyRead(_Read):
    primary_strategy: str
    primary_rationale: str
    secondary_strategies: list[Any] | None
    tone_selection: str
    tone_rationale: str | None
    pacing: str
    pacing_original: str
    tactical_choices: dict[str, Any]
    avoid_tactics: list[Any] | None
    specific_techniques: list[Any]


class SentenceRead(_Read):
    sentence_number: int
    sentence_text: str
    function: str
    emotional_purpose: str
    technique: str
    teaches_model: str
    word_choice_rationale: dict[str, Any]
    psychological_principle: str | None
    stylistic_note: str | None


class TurnRead(_Read):
    turn_id: str
    turn_number: int
    user_intent: str | None
    user_input: str
    target_response: str
    target_response_word_count: int | None
    target_response_sentence_count: int | None
    response_structure_type: str | None
    difficulty_level: str | None
    key_learning_objective: str | None
    demonstrates_skills: list[Any] | None
    emotional_progression_target: str | None
    positive_indicators: list[Any] | None
    neutral_indicators: list[Any] | None
    negative_indicators: list[Any] | None
    emotional_context: EmotionalContextRead | None
    response_strategy: ResponseStrategyRead | None
    sentences: list[SentenceRead]


class QualityMetricsRead(_Read):
    total_turns: int
    total_sentences: int
    total_word_count: int
    average_words_per_sentence: float | None
    overall_quality_score: float | None
    empathy_score: float | None
    clarity_score: float | None
    appropriateness_score: float | None
    brand_voice_alignment: float | None
    computed_score: float | None
    issues: list[Any] | None
    has_complete_emotional_context: bool
    has_emotional_progression: bool
    emotional_indicator_count: int | None
    has_primary_strategy: bool
    has_strategy_rationale: bool
    technique_count: int | None
    sentences_analyzed: int | None
    sentences_with_word_rationale: int | None
    word_choice_rationale_completeness: float | None
    all_required_fields_complete: bool
    ready_for_training: bool
    needs_review: bool
    reviewer_approved: bool


class ConversationDetail(_Read):
    """One conversation with its turns, their annotations and its quality metrics."""

    id: uuid.UUID
    conversation_id: str
    conversation_number: int
    persona_type: str
    persona_name: str
    persona_description: str | None
    topic_category: str
    topic_description: str | None
    tier: str
    tier_template: str | None
    tier_batch: int | None
    template_version: int | None
    starting_emotion: str | None
    starting_emotion_intensity: float | None
    ending_emotion: str | None
    ending_emotion_intensity: float | None
    emotional_arc_description: str | None
    turn_count_target: int | None
    turn_count: int
    total_sentences: int | None
    total_word_count: int | None
    session_context: str | None
    conversation_phase: str | None
    expected_outcome: str | None
    quality_score: float | None
    empathy_score: float | None
    clarity_score: float | None
    appropriateness_score: float | None
    brand_voice_score: float | None
    domain_specific_score: float | None
    generation_status: str
    generation_method: str | None
    generation_model: str | None
    generation_date: datetime | None
    generation_duration_seconds: float | None
    generation_cost_cents: float | None
    generation_attempts: int
    input_tokens: int | None
    output_tokens: int | None
    generation_error: str | None
    is_seed_example: bool
    human_reviewed: bool
    reviewer_notes: str | None
    review_date: datetime | None
    reviewed_by: str | None
    created_at: datetime
    updated_at: datetime
    turns: list[TurnRead]
    quality_metrics: QualityMetricsRead | None
    previous_id: str | None = Field(default=None, description="conversation_id of the previous number, if any.")
    next_id: str | None = Field(default=None, description="conversation_id of the next number, if any.")


# --------------------------------------------------------------------------------------------------
# Review status
# --------------------------------------------------------------------------------------------------


class StatusChange(BaseModel):
    """A reviewer's decision: reviewed, approved, flagged, or back to generated."""

    model_config = ConfigDict(extra="forbid")

    status: ReviewStatus
    reviewer_notes: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), AfterValidator(_printable)] | None
    ) = None


class StatusRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    conversation_id: str
    generation_status: str
    human_reviewed: bool
    reviewed_by: str | None
    review_date: datetime | None
    reviewer_notes: str | None


class RevisionRead(BaseModel):
    """A version of a conversation that a regeneration replaced (its document: `.../revisions/{number}`)."""

    model_config = ConfigDict(from_attributes=True)

    revision_number: int
    reason: str
    generation_status: str
    quality_score: Decimal | None
    replaced_by_job_id: uuid.UUID | None
    created_by: str | None
    created_at: datetime


# --------------------------------------------------------------------------------------------------
# Per-turn review
# --------------------------------------------------------------------------------------------------


class TurnReviewChange(BaseModel):
    """A reviewer's note on one turn and whether the turn is flagged; an empty note clears it."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), AfterValidator(_printable)] = ""
    flagged: bool = False


class TurnReviewRead(BaseModel):
    """One saved state of a turn's review (the latest is current; all of them are the audit trail)."""

    model_config = ConfigDict(from_attributes=True)

    turn_number: int
    flagged: bool
    note: str | None
    reviewer: str
    created_at: datetime
