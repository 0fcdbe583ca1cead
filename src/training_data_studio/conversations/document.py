"""The conversation document: the one Pydantic v2 model of the seed JSON format.

The same models serve three jobs:

* the importer validates seed files with :class:`SeedFile` and turns pydantic's errors into
  JSON-path errors with :func:`document_errors` (or :func:`parse_seed_file`);
* the generator sends :func:`conversation_json_schema` (one conversation, derived from
  :class:`ConversationBlock`) to the LLM as its structured-output schema;
* the exporter writes :meth:`DocumentModel.to_json_dict` / :meth:`ConversationDoc.to_single_file_dict`.

Layouts
-------
* single: ``{dataset_metadata, consultant_profile, training_pairs: [TrainingPair, ...]}`` (the user's
  generator adds ``input_parameters``; such a file is keyed by the UUID of its ``dataset_name``);
* multi:  ``{dataset_metadata, consultant_profile, conversations: [{conversation_metadata, training_pairs}]}``;
* training_file: the v4 ``{training_file_metadata, consultant_profile, conversations: [...]}``, whose blocks
  carry ``conversation_metadata.scaffolding`` and are keyed by their own ``conversation_id`` (a UUID);
* JSON Lines (read by ``imports/parsing.py``): one pair a line, as the single layout with an ``_meta`` key.
Unknown keys of every layout are kept like any other (``extra="allow"``).

Lossless round trip
-------------------
Every model has ``extra="allow"``: unknown keys are kept, never rejected, and dumped back in place.
``to_json_dict()`` dumps with ``exclude_unset=True``, so an absent optional field stays absent and an
explicit ``null`` stays ``null``. Numbers keep their JSON type: an integer score stays ``5`` and a
fractional one stays ``0.8`` (numeric fields accept ``int`` or ``float`` and never convert between them;
booleans and numeric strings are rejected instead of being coerced). Key order inside an object is not
preserved (declared fields are dumped first, in the upstream order, then unknown keys). Declared totals are
kept verbatim whatever they hold (:data:`DeclaredCount`).

Lean pairs and half pairs
-------------------------
The annotation blocks (:data:`ANNOTATION_BLOCKS`) are optional: the user's later pipeline writes only the
detected emotions. What is absent stays absent; the quality checks report it ("lean annotation"). A pair
whose ``target_response`` is null or blank is a half pair: :class:`ConversationDoc` merges it into the next
pair (which repeats its client message and carries the reply) or, after the last reply, keeps it as the
conversation's open ending. Stored turns (``ConversationDoc.pairs``) always have a reply. The generator's
schema (:func:`conversation_json_schema`) still requires every block and the reply
(:data:`GENERATION_REQUIRED`, :func:`generation_gaps`).

Leniencies taken from the real upstream files
---------------------------------------------
* ``valence`` and ``pacing`` are free text (most real turns use values such as
  ``mixed_positive_and_anxious`` or ``moderate_educational``), only required to be non-empty.
* ``emotional_indicators`` values are lists of phrases, but a few real turns use a single string; both
  are accepted (the LLM schema asks for the list form).
* ``conversation_history`` entries vary: ``{turn, content}`` summaries, ``{turn, role, content,
  emotional_state | strategy_applied, outcome}`` and a legacy ``{turn, assistant}`` form; each entry
  needs ``turn`` and ``content`` or ``assistant``.
* ``emotional_progression`` is either the previous/current form or a ``turn_1..turn_n`` summary, so it
  is a map of strings/numbers; keys ending in ``_intensity`` must be numbers within 0–1.
* ``positive_signals`` / ``breakthrough_signals`` / ``transformation_indicators`` mix booleans and
  strings.

Validation: errors raised by the models (the document is rejected)
------------------------------------------------------------------
``quality_score`` and every ``quality_criteria`` value within 1–5; confidences and intensities within
0–1; ``turn_number`` a whole number >= 1; ``id`` / ``conversation_id`` non-empty, at most 100 characters,
matching ``^[A-Za-z0-9_.-]+$``; ``system_prompt``, ``current_user_input``, ``valence``, ``pacing`` and
sentence ``text`` non-empty; ``target_response`` a string or null; ``word_choice_rationale`` has at least
one entry (3–6 is a quality concern for reviewers, not a validation error); ``sentence_number`` runs 1..n in
order; a seed file has exactly one of ``training_pairs`` / ``conversations`` and neither is empty.

Conversation-level checks: :class:`Issue` lists (the document still loads)
------------------------------------------------------------------------
:meth:`ConversationDoc.issues` and :func:`seed_file_issues` check an imported file; only what would make a
training example wrong is an error:

* errors: a conversation without any reply; pairs out of order
  or a turn number repeated; a block without its own id mixing conversation ids; a conversation id twice in
  one file; two conversations giving the same stored turn id;
* warnings (the file's claims about itself, kept as written): a declared turn or conversation count that
  differs from the content (fewer pairs than declared marks the conversation incomplete); a gap in the turn
  numbers; ``conversation_turn`` differing from ``turn_number``; a pair id repeated inside a conversation;
  ``total_sentences`` differing from the analysed sentences; a client message without a reply that the next
  pair does not repeat.

:func:`validate_conversation_turns` is the strict check of what the generator and the exporter write
(every pair with a reply, turns numbered 1..n; ``allow_gaps`` for an imported conversation's pair numbers).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "ANNOTATION_BLOCKS",
    "GENERATION_REQUIRED",
    "ClientNeed",
    "CommunicationStyle",
    "ConsultantProfile",
    "ConversationBlock",
    "ConversationBlockMetadata",
    "ConversationDoc",
    "ConversationHistoryEntry",
    "ConversationMetadata",
    "DatasetMetadata",
    "DetectedEmotions",
    "DocumentError",
    "DocumentModel",
    "EmotionalContext",
    "ExpectedUserResponsePatterns",
    "HistoryEmotionalState",
    "Issue",
    "RedFlag",
    "ResponseBreakdown",
    "ResponseStrategy",
    "Scaffolding",
    "SeedFile",
    "SentenceAnalysis",
    "Severity",
    "SpecificTechnique",
    "TrainingMetadata",
    "TrainingPair",
    "conversation_json_schema",
    "document_errors",
    "generation_gaps",
    "group_conversations",
    "json_path",
    "parse_seed_file",
    "seed_file_issues",
    "stored_turn_id",
    "validate_conversation_turns",
]

MAX_TURNS = 6
MAX_ID_LENGTH = 100
ID_PATTERN = r"^[A-Za-z0-9_.-]+$"
_ID_RE = re.compile(ID_PATTERN)
_INPUT_PREVIEW_CHARS = 80

# --------------------------------------------------------------------------------------------------
# Field types. Each one validates with a message that says how to fix the value, never converts
# between JSON types (lossless round trip) and publishes its own JSON schema for the LLM.
# --------------------------------------------------------------------------------------------------


def _json_type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_between(low: int, high: int, hint: str) -> Callable[[Any], int | float]:
    def check(value: Any) -> int | float:
        if not _is_number(value):
            raise PydanticCustomError(
                "number_type",
                "must be a number from {low} to {high}, not {got}; write it as a bare JSON number",
                {"low": low, "high": high, "got": _json_type_name(value)},
            )
        number: int | float = value
        if math.isnan(number) or not low <= number <= high:
            raise PydanticCustomError(
                "number_range",
                "must be between {low} and {high} (got {value}); {hint}",
                {"low": low, "high": high, "value": number, "hint": hint},
            )
        return number

    return check


def _whole_number_between(low: int, high: int | None, hint: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise PydanticCustomError(
                "integer_type",
                "must be a whole JSON number, not {got}; {hint}",
                {"got": _json_type_name(value), "hint": hint},
            )
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise PydanticCustomError(
                "integer_range",
                "must be a whole number {bounds} (got {value}); {hint}",
                {"bounds": bounds, "value": value, "hint": hint},
            )
        return value

    return check


def _integer_schema(low: int, high: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return schema


Score = Annotated[
    int | float,
    PlainValidator(_number_between(1, 5, "scores use the 1-5 rubric (5 is best); rescale other scales to 1-5")),
    WithJsonSchema({"type": "number", "minimum": 1, "maximum": 5}),
]
"""A rubric score within 1–5 (int or float, kept as given)."""

UnitInterval = Annotated[
    int | float,
    PlainValidator(_number_between(0, 1, "write confidences and intensities as fractions, e.g. 0.8 rather than 80")),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
"""A confidence or intensity within 0–1 (int or float, kept as given)."""

TurnNumber = Annotated[
    int,
    PlainValidator(
        _whole_number_between(
            1, MAX_TURNS, f"number the turns of a conversation 1, 2, 3, ... (at most {MAX_TURNS} turns)"
        )
    ),
    WithJsonSchema(_integer_schema(1, MAX_TURNS)),
]

PositiveInt = Annotated[
    int,
    PlainValidator(_whole_number_between(1, None, "counting starts at 1")),
    WithJsonSchema(_integer_schema(1)),
]

Count = Annotated[
    int,
    PlainValidator(_whole_number_between(0, None, "write a count as a whole number >= 0")),
    WithJsonSchema(_integer_schema(0)),
]


def _keep_claim(value: Any) -> Any:
    return value


DeclaredCount = Annotated[Any, PlainValidator(_keep_claim), WithJsonSchema(_integer_schema(0))]
"""A total a file declares about itself: kept verbatim whatever it holds, compared with the content only
when it is a whole number (a disagreement is a warning, never a reason to refuse the file)."""


def _check_identifier(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "identifier_type",
            "must be a string identifier such as conv_001, not {got}",
            {"got": _json_type_name(value)},
        )
    if not value:
        raise PydanticCustomError("identifier_empty", "must not be empty; use an identifier such as conv_001", {})
    if len(value) > MAX_ID_LENGTH:
        raise PydanticCustomError(
            "identifier_too_long",
            "is {length} characters long; identifiers may have at most {limit} characters, shorten it",
            {"length": len(value), "limit": MAX_ID_LENGTH},
        )
    if not _ID_RE.fullmatch(value):
        bad = "".join(sorted({ch for ch in value if not _ID_RE.fullmatch(ch)}))
        raise PydanticCustomError(
            "identifier_pattern",
            "may contain only letters, digits, '_', '.' and '-' (found {bad}); replace the other characters with '_'",
            {"bad": json.dumps(bad, ensure_ascii=False)},
        )
    return value


Identifier = Annotated[
    str,
    PlainValidator(_check_identifier),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": ID_PATTERN}),
]


def _check_non_empty_text(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("text_type", "must be a string, not {got}", {"got": _json_type_name(value)})
    if not value.strip():
        raise PydanticCustomError("text_empty", "must not be empty or blank; write the text for this field", {})
    return value


NonEmptyText = Annotated[
    str,
    PlainValidator(_check_non_empty_text),
    WithJsonSchema({"type": "string", "minLength": 1}),
]


def _check_optional_reply(value: Any) -> str | None:
    # null, "" and blank are all kept as given: they mark a half pair (a client message without its reply),
    # which the grouping merges with the next pair or keeps as the conversation's open ending.
    if value is None or isinstance(value, str):
        return value
    raise PydanticCustomError(
        "text_type",
        "must be a string (or null for a client message without a reply), not {got}",
        {"got": _json_type_name(value)},
    )


OptionalReply = Annotated[
    str | None,
    PlainValidator(_check_optional_reply),
    # The generator is always asked for a reply; only imported files may hold half pairs.
    WithJsonSchema({"type": "string", "minLength": 1}),
]


def _check_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise PydanticCustomError(
            "flag_type",
            "must be true or false (JSON booleans), not {got}",
            {"got": _json_type_name(value)},
        )
    return value


Flag = Annotated[bool, PlainValidator(_check_flag), WithJsonSchema({"type": "boolean"})]

Scalar = str | bool | int | float


def _check_scalar(value: Any) -> Scalar:
    if isinstance(value, str | bool | int | float):
        return value
    raise PydanticCustomError(
        "scalar_type",
        "must be a string, number or boolean, not {got}",
        {"got": _json_type_name(value)},
    )


ScalarValue = Annotated[
    Scalar,
    PlainValidator(_check_scalar),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}),
]


def _check_phrases(value: Any) -> list[str] | str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise PydanticCustomError(
        "phrases_type",
        "must be an array of quoted phrases from the user's message (or one string), not {got}",
        {"got": _json_type_name(value)},
    )


IndicatorPhrases = Annotated[
    list[str] | str,
    PlainValidator(_check_phrases),
    # The schema asks for the canonical list form; the validator also accepts the single-string form
    # that a few upstream turns use.
    WithJsonSchema({"type": "array", "items": {"type": "string"}}),
]

# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class DocumentModel(BaseModel):
    """Base of every document model: unknown keys are kept (``extra="allow"``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """Dump as JSON-ready data: only the keys that were set, unknown keys included."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class DatasetMetadata(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    dataset_name: str | None = None
    version: str | None = None
    created_date: str | None = None
    vertical: str | None = None
    consultant_persona: str | None = None
    target_use: str | None = None
    conversation_source: str | None = None
    quality_tier: str | None = None
    total_conversations: DeclaredCount = None
    total_turns: DeclaredCount = None
    notes: str | None = None


class CommunicationStyle(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    tone: str | None = None
    techniques: list[str] | None = None
    avoid: list[str] | None = None


class ConsultantProfile(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: NonEmptyText
    business: str | None = None
    expertise: str | None = None
    years_experience: Count | None = None
    core_philosophy: dict[str, str] | None = Field(
        default=None, description="Free-form principle keys (principle_1, principle_2, ...) to text."
    )
    communication_style: CommunicationStyle | None = None


class ConversationMetadata(DocumentModel):
    """The per-turn ``conversation_metadata`` of a training pair (who the client is, which phase)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    client_persona: str | None = Field(
        default=None, description="Client name and archetype, e.g. 'Name - The Anxious Planner'."
    )
    client_background: str | None = None
    session_context: str | None = None
    conversation_phase: str | None = None
    expected_outcome: str | None = None
    persona_archetype: str | None = None
    emotional_arc: str | None = None
    emotional_arc_key: str | None = None
    training_topic: str | None = None
    training_topic_key: str | None = None


class HistoryEmotionalState(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    primary: str
    secondary: str | None = None
    tertiary: str | None = None
    intensity: UnitInterval


class ConversationHistoryEntry(DocumentModel):
    """One earlier turn, often a short summary (``content`` may be abbreviated with ellipses)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    turn: PositiveInt
    role: Literal["user", "assistant"] | None = None
    content: str | None = None
    assistant: str | None = Field(
        default=None, description="Legacy form: a summary of the assistant's reply in that turn."
    )
    emotional_state: HistoryEmotionalState | None = None
    strategy_applied: str | None = None
    outcome: str | None = None

    @model_validator(mode="after")
    def _has_text(self) -> Self:
        if self.content is None and self.assistant is None:
            raise PydanticCustomError(
                "history_text_missing",
                "a conversation_history entry needs 'content' (what was said, may be summarised)",
                {},
            )
        return self


class DetectedEmotions(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    primary: NonEmptyText
    primary_confidence: UnitInterval | None = None
    secondary: str | None = None
    secondary_confidence: UnitInterval | None = None
    tertiary: str | None = None
    tertiary_confidence: UnitInterval | None = None
    intensity: UnitInterval | None = None
    valence: NonEmptyText | None = Field(
        default=None, description="Free text: positive, negative, mixed or a nuanced label such as mixed_improving."
    )


class ClientNeed(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    need: str
    priority: PositiveInt
    rationale: str


class RedFlag(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    flag: str
    implication: str
    handling: str


class EmotionalContext(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    detected_emotions: DetectedEmotions | None = None
    emotional_progression: dict[str, ScalarValue] | None = Field(
        default=None,
        description=(
            "From turn 2: previous_turn_primary/previous_turn_intensity/current_turn_primary/"
            "current_turn_intensity/trajectory/interpretation, or a turn_1..turn_n summary."
        ),
    )
    emotional_indicators: dict[str, IndicatorPhrases] | None = Field(
        default=None, description="Free-form category -> phrases quoted from the user's message."
    )
    positive_signals: dict[str, ScalarValue] | None = None
    breakthrough_signals: dict[str, ScalarValue] | None = None
    transformation_indicators: dict[str, ScalarValue] | None = None
    positive_shifts: dict[str, str] | None = None
    psychological_insights: dict[str, str] | None = None
    behavioral_assessment: dict[str, str] | None = Field(
        default=None, description="Free-form assessment keys (risk_level, trust_level, ...) to short labels."
    )
    client_needs_hierarchy: list[ClientNeed] | None = None
    red_flags: list[RedFlag] | None = None

    @field_validator("emotional_progression")
    @classmethod
    def _intensities_in_range(cls, value: dict[str, Scalar] | None) -> dict[str, Scalar] | None:
        for key, item in (value or {}).items():
            if not key.endswith("_intensity"):
                continue
            if isinstance(item, bool) or not isinstance(item, int | float) or not 0 <= item <= 1:
                raise PydanticCustomError(
                    "number_range",
                    "{key} must be a number between 0 and 1 (got {value}); write intensities as fractions, e.g. 0.65",
                    {"key": key, "value": json.dumps(item)},
                )
        return value


class SpecificTechnique(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    technique: str
    application: str
    purpose: str


class ResponseStrategy(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    primary_strategy: str
    primary_rationale: str
    secondary_strategies: list[str]
    tone_selection: str
    tone_rationale: str
    pacing: NonEmptyText = Field(description="Free text, e.g. slow_foundational or moderate_educational.")
    tactical_choices: dict[str, Flag] = Field(description="Free-form tactic name -> whether it is used.")
    avoid_tactics: list[str]
    specific_techniques: list[SpecificTechnique] | None = None


class SentenceAnalysis(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    sentence_number: PositiveInt
    text: NonEmptyText
    function: str
    emotional_purpose: str
    technique: str
    teaches_model: str
    word_choice_rationale: dict[str, str] = Field(
        description="Phrase from the sentence -> why it was chosen; at least 1 entry, 3-6 is typical."
    )
    psychological_principle: str | None = None
    stylistic_note: str | None = None

    @field_validator("word_choice_rationale")
    @classmethod
    def _has_rationale(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise PydanticCustomError(
                "rationale_empty",
                "needs at least one entry: map a word or phrase of the sentence to why it was chosen "
                "(3-6 entries is typical)",
                {},
            )
        return value


class ResponseBreakdown(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    total_sentences: Count = Field(description="Number of sentences in target_response.")
    structure_type: str = Field(description="Free text, e.g. 'validate -> normalize -> educate -> ask'.")
    sentences: list[SentenceAnalysis] = Field(
        description="Analysed sentences, numbered 1..n in order (key sentences may be analysed only)."
    )

    @field_validator("sentences")
    @classmethod
    def _numbered_in_order(cls, value: list[SentenceAnalysis]) -> list[SentenceAnalysis]:
        if not value:
            raise PydanticCustomError("sentences_empty", "needs at least one analysed sentence (sentence_number 1)", {})
        for index, sentence in enumerate(value):
            if sentence.sentence_number != index + 1:
                raise PydanticCustomError(
                    "sentence_numbering",
                    "sentences[{index}] has sentence_number {got} but should be {expected}; number the "
                    "analysed sentences 1..{count} in order",
                    {
                        "index": index,
                        "got": sentence.sentence_number,
                        "expected": index + 1,
                        "count": len(value),
                    },
                )
        return value


class ExpectedUserResponsePatterns(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    positive_indicators: list[str]
    neutral_indicators: list[str]
    negative_indicators: list[str]


class TrainingMetadata(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    difficulty_level: str | None = None
    key_learning_objective: str | None = None
    demonstrates_skills: list[str] | None = None
    conversation_turn: PositiveInt | None = Field(default=None, description="Equals turn_number.")
    emotional_progression_target: str | None = None
    quality_score: Score | None = None
    quality_criteria: dict[str, Score] | None = Field(
        default=None, description="Free-form criterion (empathy_score, clarity_score, ...) -> score 1-5."
    )
    human_reviewed: Flag | None = None
    reviewer_notes: str | None = None
    use_as_seed_example: Flag | None = None
    generate_variations_count: Count | None = None
    variation_guidance: str | None = None


class TrainingPair(DocumentModel):
    """One pair: the user's message, its annotation and the target (assistant) response.

    The annotation blocks are optional (the user's later pipeline writes lean pairs): what is absent stays
    absent. A pair whose ``target_response`` is null or blank is a half pair (see :func:`group_conversations`);
    a stored turn always has a reply (:attr:`reply`). ``turn_number`` is the pair's number in the source,
    which counts half pairs too; the stored exchange number is the position in ``ConversationDoc.pairs``.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: Identifier = Field(description="Pair id, e.g. <conversation_id>_turn1.")
    conversation_id: Identifier = Field(description="Shared by all turns of one conversation.")
    turn_number: PositiveInt
    conversation_metadata: ConversationMetadata | None = None
    system_prompt: NonEmptyText
    conversation_history: list[ConversationHistoryEntry] = Field(
        default_factory=list, description="Earlier turns of this conversation (empty for turn 1)."
    )
    current_user_input: NonEmptyText
    emotional_context: EmotionalContext | None = None
    response_strategy: ResponseStrategy | None = None
    target_response: OptionalReply = None
    response_breakdown: ResponseBreakdown | None = None
    expected_user_response_patterns: ExpectedUserResponsePatterns | None = None
    training_metadata: TrainingMetadata | None = None

    @property
    def has_reply(self) -> bool:
        return bool(self.target_response and self.target_response.strip())

    @property
    def reply(self) -> str:
        """The consultant's reply; only pairs with one become stored turns."""
        if not self.has_reply:
            raise ValueError(f"pair {self.id!r} has no target_response (a half pair is never a stored turn)")
        return cast(str, self.target_response)

    @property
    def detected_emotions(self) -> DetectedEmotions | None:
        return self.emotional_context.detected_emotions if self.emotional_context else None

    def missing_blocks(self) -> list[str]:
        """The annotation blocks of the full layout that this pair does not carry at all (an empty block is
        present: the completeness checks judge what it holds)."""
        context = self.emotional_context
        present = {
            "emotional_context.detected_emotions": context is not None and context.detected_emotions is not None,
            "emotional_context.emotional_indicators": context is not None and context.emotional_indicators is not None,
            "emotional_context.behavioral_assessment": context is not None
            and context.behavioral_assessment is not None,
            "emotional_context.client_needs_hierarchy": (
                context is not None and context.client_needs_hierarchy is not None
            ),
            "response_strategy": self.response_strategy is not None,
            "response_breakdown": self.response_breakdown is not None,
            "expected_user_response_patterns": self.expected_user_response_patterns is not None,
            "training_metadata": self.training_metadata is not None,
        }
        return [name for name, ok in present.items() if not ok]


ANNOTATION_BLOCKS = (
    "emotional_context.detected_emotions",
    "emotional_context.emotional_indicators",
    "emotional_context.behavioral_assessment",
    "emotional_context.client_needs_hierarchy",
    "response_strategy",
    "response_breakdown",
    "expected_user_response_patterns",
    "training_metadata",
)


class Scaffolding(DocumentModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    persona_key: str | None = None
    persona_name: str | None = None
    emotional_arc_key: str | None = None
    emotional_arc: str | None = None
    training_topic_key: str | None = None
    training_topic: str | None = None


class ConversationBlockMetadata(DocumentModel):
    """The block-level ``conversation_metadata`` of the multi layout."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    conversation_id: Identifier | None = None
    source_file: str | None = None
    created_date: str | None = None
    batch_id: str | None = None
    total_turns: DeclaredCount = None
    quality_tier: str | None = None
    scaffolding: Scaffolding | None = None


def _require_pairs(value: list[TrainingPair] | None) -> list[TrainingPair] | None:
    if value is not None and not value:
        raise PydanticCustomError(
            "pairs_empty", "is empty; a conversation needs at least one training pair (turn 1)", {}
        )
    return value


class ConversationBlock(DocumentModel):
    """One conversation: its metadata and its ordered training pairs (what the generator produces)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    conversation_metadata: ConversationBlockMetadata
    training_pairs: list[TrainingPair] = Field(description="The turns in order, turn_number 1..n.")

    @field_validator("training_pairs")
    @classmethod
    def _not_empty(cls, value: list[TrainingPair]) -> list[TrainingPair]:
        _require_pairs(value)
        return value


class SeedFile(DocumentModel):
    """A whole seed file in either layout."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    dataset_metadata: DatasetMetadata | None = None
    consultant_profile: ConsultantProfile | None = None
    training_pairs: list[TrainingPair] | None = None
    conversations: list[ConversationBlock] | None = None

    @field_validator("training_pairs")
    @classmethod
    def _pairs_not_empty(cls, value: list[TrainingPair] | None) -> list[TrainingPair] | None:
        return _require_pairs(value)

    @field_validator("conversations")
    @classmethod
    def _blocks_not_empty(cls, value: list[ConversationBlock] | None) -> list[ConversationBlock] | None:
        if value is not None and not value:
            raise PydanticCustomError(
                "conversations_empty",
                "is empty; add at least one conversation block with conversation_metadata and training_pairs",
                {},
            )
        return value

    @model_validator(mode="after")
    def _one_layout(self) -> Self:
        if (self.training_pairs is None) == (self.conversations is None):
            which = "both" if self.training_pairs is not None else "neither"
            raise PydanticCustomError(
                "layout",
                "a seed file needs exactly one of 'training_pairs' (one conversation) or 'conversations' "
                "(several), but has {which}",
                {"which": which},
            )
        return self

    @property
    def layout(self) -> Literal["single", "multi", "training_file"]:
        if self.training_pairs is not None:
            return "single"
        return "training_file" if "training_file_metadata" in (self.model_extra or {}) else "multi"


# --------------------------------------------------------------------------------------------------
# Errors with JSON paths
# --------------------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(loc: Sequence[int | str]) -> str:
    """``('training_pairs', 2, 'id')`` -> ``$.training_pairs[2].id``; odd keys use ``["..."]``."""
    parts = ["$"]
    for segment in loc:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif _PLAIN_KEY.fullmatch(segment):
            parts.append(f".{segment}")
        else:
            parts.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(parts)


def _preview(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except ValueError:  # circular structures
        text = repr(value)
    if len(text) > _INPUT_PREVIEW_CHARS:
        text = text[: _INPUT_PREVIEW_CHARS - 1] + "…"
    return text


@dataclass(frozen=True, slots=True)
class DocumentError:
    """One validation error: where (JSON path), what is wrong, and a preview of the offending value."""

    path: str
    message: str
    input: str | None
    type: str

    def as_issue(self) -> Issue:
        return Issue(Severity.ERROR, self.type, self.path, self.message)


_FRIENDLY: dict[str, str] = {
    "string_type": "must be a string, not {got}",
    "list_type": "must be a JSON array, not {got}",
    "dict_type": "must be a JSON object, not {got}",
    "model_type": "must be a JSON object, not {got}",
    "model_attributes_type": "must be a JSON object, not {got}",
}


def document_errors(exc: ValidationError) -> list[DocumentError]:
    """Turn a pydantic ``ValidationError`` into errors with JSONPath-like locations."""
    result: list[DocumentError] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        value = error.get("input")
        if kind == "missing":
            name = loc[-1] if loc else "field"
            message = f"is required but missing; add the '{name}' key"
            shown: str | None = None
        else:
            template = _FRIENDLY.get(kind)
            message = template.format(got=_json_type_name(value)) if template else str(error["msg"])
            message = message.removeprefix("Value error, ")
            shown = _preview(value)
        result.append(DocumentError(path=json_path(loc), message=message, input=shown, type=kind))
    return result


def parse_seed_file(data: Any) -> tuple[SeedFile | None, list[DocumentError]]:
    """Validate parsed JSON as a seed file; returns the model or the errors with JSON paths."""
    try:
        return SeedFile.model_validate(data), []
    except ValidationError as exc:
        return None, document_errors(exc)


# --------------------------------------------------------------------------------------------------
# Conversation-level checks
# --------------------------------------------------------------------------------------------------


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """A finding of a conversation-level check (see the module docstring for error vs warning)."""

    severity: Severity
    code: str
    path: str
    message: str


def validate_conversation_turns(
    pairs: Sequence[TrainingPair],
    *,
    pair_paths: Sequence[str] | None = None,
    declared_turns: int | None = None,
    declared_turns_path: str = "$.dataset_metadata.total_turns",
    allow_gaps: bool = False,
) -> list[Issue]:
    """Check the turns of ONE conversation as the generator and the exporter write it (strict: every pair
    has a reply and the turns are numbered 1..n), in document order. ``allow_gaps``: the numbers only have
    to increase (an imported conversation's exchanges keep their pair numbers, which count half pairs).

    ``pair_paths`` gives each pair's JSON path (default ``$.training_pairs[i]``); ``declared_turns`` is a
    turn count declared elsewhere in the document, compared with the number of pairs. Imported files are
    checked more tolerantly by :meth:`ConversationDoc.issues`.
    """
    paths = list(pair_paths) if pair_paths is not None else [f"$.training_pairs[{i}]" for i in range(len(pairs))]
    if len(paths) != len(pairs):
        raise ValueError("pair_paths must have one path per pair")
    issues: list[Issue] = []
    count = len(pairs)
    if not pairs:
        return [Issue(Severity.ERROR, "empty_conversation", "$", "the conversation has no training pairs")]

    conversation_id = pairs[0].conversation_id
    for pair, path in zip(pairs, paths, strict=True):
        if pair.conversation_id != conversation_id:
            issues.append(
                Issue(
                    Severity.ERROR,
                    "conversation_id_mismatch",
                    f"{path}.conversation_id",
                    f"conversation_id is {pair.conversation_id!r} but the conversation's first pair has "
                    f"{conversation_id!r}; all turns of one conversation share one conversation_id",
                )
            )
        if not pair.has_reply:
            issues.append(
                Issue(
                    Severity.ERROR,
                    "reply_missing",
                    f"{path}.target_response",
                    "target_response is missing or empty; every turn needs the consultant's reply",
                )
            )

    numbers = [pair.turn_number for pair in pairs]
    for index, (number, path) in enumerate(zip(numbers, paths, strict=True)):
        in_order = number > (numbers[index - 1] if index else 0) if allow_gaps else number == index + 1
        if not in_order:
            repeated = numbers.count(number)
            detail = f" (turn {number} appears {repeated} times)" if repeated > 1 else ""
            issues.append(
                Issue(
                    Severity.ERROR,
                    "turn_numbering",
                    f"{path}.turn_number",
                    f"turn_number is {number} but this is pair {index + 1} of {count}{detail}; number the "
                    f"turns 1..{count} in order without gaps or duplicates",
                )
            )
    if count > MAX_TURNS and not allow_gaps:  # the generator's limit; an imported conversation may be longer
        issues.append(_too_many_turns(count, paths[MAX_TURNS]))

    seen_ids: dict[str, str] = {}
    for pair, path in zip(pairs, paths, strict=True):
        if pair.id in seen_ids:
            issues.append(
                Issue(
                    Severity.ERROR,
                    "duplicate_pair_id",
                    f"{path}.id",
                    f"id {pair.id!r} is also used by {seen_ids[pair.id]}; give every pair its own id",
                )
            )
        else:
            seen_ids[pair.id] = path

    for pair, path in zip(pairs, paths, strict=True):
        declared_turn = pair.training_metadata.conversation_turn if pair.training_metadata else None
        if declared_turn is not None and declared_turn != pair.turn_number:
            issues.append(
                Issue(
                    Severity.ERROR,
                    "conversation_turn_mismatch",
                    f"{path}.training_metadata.conversation_turn",
                    f"training_metadata.conversation_turn is {declared_turn} but turn_number is "
                    f"{pair.turn_number}; make them equal",
                )
            )
        issues.extend(_sentence_count_issues(pair, path))

    if declared_turns is not None and declared_turns != count:
        issues.append(
            Issue(
                Severity.ERROR,
                "declared_turns_mismatch",
                declared_turns_path,
                f"declares {declared_turns} turns but the conversation has {count} training pairs; set it "
                f"to {count} or add the missing turns",
            )
        )
    return issues


def _too_many_turns(count: int, path: str) -> Issue:
    return Issue(
        Severity.ERROR,
        "too_many_turns",
        path,
        f"the conversation has {count} exchanges; a stored conversation holds at most {MAX_TURNS}: split it "
        "into two conversations",
    )


def _sentence_count_issues(pair: TrainingPair, path: str) -> list[Issue]:
    breakdown = pair.response_breakdown
    if breakdown is None or breakdown.total_sentences == len(breakdown.sentences):
        return []
    return [
        Issue(
            Severity.WARNING,
            "total_sentences_mismatch",
            f"{path}.response_breakdown.total_sentences",
            f"total_sentences declares {breakdown.total_sentences} but {len(breakdown.sentences)} sentences are "
            "analysed; correct the count or analyse the missing sentences",
        )
    ]


# --------------------------------------------------------------------------------------------------
# Grouping into conversations, and half pairs into exchanges
# --------------------------------------------------------------------------------------------------

_PAIR_CONTAINERS = ("training_pairs", "conversations")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TURN_ID_LIMIT = 150
SCAFFOLDING_KEYS = (
    "persona_key",
    "persona_name",
    "emotional_arc_key",
    "emotional_arc",
    "training_topic_key",
    "training_topic",
)
# Where the same facts live in a pair's own conversation_metadata and in input_parameters.
_PAIR_SCAFFOLDING = {
    "persona_key": "persona_archetype",
    "persona_name": "client_persona",
    "emotional_arc_key": "emotional_arc_key",
    "emotional_arc": "emotional_arc",
    "training_topic_key": "training_topic_key",
    "training_topic": "training_topic",
}
_INPUT_SCAFFOLDING = {
    "persona_key": "persona_key",
    "persona_name": "persona_name",
    "emotional_arc_key": "emotional_arc_key",
    "emotional_arc": "emotional_arc_name",
    "training_topic_key": "training_topic_key",
    "training_topic": "training_topic_name",
}


def _same_message(first: str, second: str) -> bool:
    return " ".join(first.split()) == " ".join(second.split())


def stored_turn_id(conversation_id: str, pair_id: str) -> str:
    """The dataset-wide id of a stored turn. Pair ids of the user's later layouts repeat across
    conversations (``therapeutic_turn1`` in several), so a pair id that does not already start with its
    conversation's id is qualified by it; ids of files 01-10 (``fp_marcus_002_turn1``) stay as they are."""
    if pair_id.startswith(conversation_id):
        return pair_id
    qualified = f"{conversation_id}/{pair_id}"
    if len(qualified) <= TURN_ID_LIMIT:
        return qualified
    return f"{hashlib.sha1(conversation_id.encode()).hexdigest()[:16]}/{pair_id}"


@dataclass(slots=True)
class ConversationDoc:
    """One conversation of a seed file, in any layout, with what it needs to stand alone.

    ``source_pairs`` are the conversation's pairs as the file holds them (``source_paths`` their JSON
    paths). ``pairs`` are its exchanges, the pairs that carry a reply: a half pair (null or blank
    ``target_response``) is merged into the exchange after it, whose pair repeats its client message and
    carries the reply and the annotations; half pairs after the last reply are the conversation's open
    ending (the client spoke last). ``envelope`` holds the file's top-level keys other than
    ``training_pairs``/``conversations`` (plus, for the multi layouts, the block's keys).
    """

    conversation_id: str
    envelope: dict[str, Any]
    source_pairs: list[TrainingPair]
    source_paths: list[str]
    declared_turns: Any = None
    declared_turns_path: str | None = None
    block_index: int | None = None
    pairs: list[TrainingPair] = field(default_factory=list)
    pair_paths: list[str] = field(default_factory=list)
    # Per exchange, the half pairs (as JSON) that came before it in the file.
    half_pairs: list[list[dict[str, Any]]] = field(default_factory=list)
    # Half pairs after the last reply, as JSON (the conversation ends on a client message).
    open_ending: list[dict[str, Any]] = field(default_factory=list)
    pairs_merged: int = 0
    grouping_issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._split_exchanges()

    def _split_exchanges(self) -> None:
        waiting: list[tuple[TrainingPair, str]] = []
        for pair, path in zip(self.source_pairs, self.source_paths, strict=True):
            if not pair.has_reply:
                waiting.append((pair, path))
                continue
            for half, half_path in waiting:
                if _same_message(half.current_user_input, pair.current_user_input):
                    self.pairs_merged += 1
                else:
                    self.grouping_issues.append(
                        Issue(
                            Severity.WARNING,
                            "unanswered_message",
                            f"{half_path}.target_response",
                            "has no reply and the next pair does not repeat its client message: it is kept for "
                            "the round trip but is not a training turn",
                        )
                    )
            self.half_pairs.append([half.to_json_dict() for half, _ in waiting])
            self.pairs.append(pair)
            self.pair_paths.append(path)
            waiting = []
        self.open_ending = [half.to_json_dict() for half, _ in waiting]

    @property
    def open_message(self) -> str | None:
        """The client's last message when the conversation ends on one (never a training target)."""
        if not self.open_ending:
            return None
        message = self.open_ending[-1].get("current_user_input")
        return message if isinstance(message, str) else None

    @property
    def incomplete(self) -> bool:
        """Fewer pairs than the file declares for this conversation: generation can complete it later."""
        declared = self.declared_turns
        return _is_whole(declared) and declared > len(self.source_pairs)

    def turn_ids(self) -> list[str]:
        """One dataset-wide id per exchange (see :func:`stored_turn_id`), unique within the conversation
        even when the file repeats a pair id."""
        ids: list[str] = []
        for number, pair in enumerate(self.pairs, start=1):
            turn_id = stored_turn_id(self.conversation_id, pair.id)
            if turn_id in ids:
                turn_id = f"{turn_id[: TURN_ID_LIMIT - 4]}~{number}"
            ids.append(turn_id)
        return ids

    def scaffolding(self) -> dict[str, str]:
        """persona / emotional arc / topic keys and names: the block's ``scaffolding``, else the file's
        ``input_parameters``, else the first pair's own ``conversation_metadata``."""
        found: dict[str, str] = {}
        metadata = self.envelope.get("conversation_metadata")
        block = metadata.get("scaffolding") if isinstance(metadata, dict) else None
        inputs = self.envelope.get("input_parameters")
        first = self.source_pairs[0].conversation_metadata if self.source_pairs else None
        pair_data = first.to_json_dict() if first is not None else {}
        sources: list[tuple[Any, dict[str, str]]] = [
            (block, {key: key for key in SCAFFOLDING_KEYS}),
            (inputs, _INPUT_SCAFFOLDING),
            (pair_data, _PAIR_SCAFFOLDING),
        ]
        for source, names in sources:
            if not isinstance(source, dict):
                continue
            for key, name in names.items():
                value = source.get(name)
                if key not in found and isinstance(value, str) and value.strip():
                    found[key] = value
        return found

    def source_pairs_json(self) -> list[dict[str, Any]]:
        """The pairs as the file held them: each exchange's half pairs, then the exchange, then the open
        ending."""
        result: list[dict[str, Any]] = []
        for halves, pair in zip(self.half_pairs, self.pairs, strict=True):
            result.extend(copy.deepcopy(halves))
            result.append(pair.to_json_dict())
        result.extend(copy.deepcopy(self.open_ending))
        return result

    def to_single_file_dict(self) -> dict[str, Any]:
        """The single-conversation layout ``{**envelope, "training_pairs": [...]}`` as JSON data."""
        return {**copy.deepcopy(self.envelope), "training_pairs": self.source_pairs_json()}

    def to_seed_file(self) -> SeedFile:
        return SeedFile.model_validate(self.to_single_file_dict())

    def missing_blocks(self) -> list[str]:
        """Annotation blocks absent from at least one exchange (a lean conversation), in a fixed order."""
        missing = {name for pair in self.pairs for name in pair.missing_blocks()}
        return [name for name in ANNOTATION_BLOCKS if name in missing]

    def issues(self) -> list[Issue]:
        """Checks of an imported conversation: errors only for what would make a training example wrong;
        the file's claims about itself (declared counts, numbering gaps) are warnings."""
        issues = list(self.grouping_issues)
        if not self.pairs:
            where = self.source_paths[0] if self.source_paths else "$"
            return [
                Issue(
                    Severity.ERROR,
                    "no_reply",
                    f"{where}.target_response",
                    "the conversation has no consultant reply (every target_response is null or empty): there "
                    "is no training example in it; add the replies or leave the conversation out",
                )
            ]
        issues.extend(self._numbering_issues())
        seen: dict[str, str] = {}
        for pair, path in zip(self.source_pairs, self.source_paths, strict=True):
            if pair.id in seen:
                issues.append(
                    Issue(
                        Severity.WARNING,
                        "duplicate_pair_id",
                        f"{path}.id",
                        f"id {pair.id!r} is also used by {seen[pair.id]}; the stored turn gets a suffix to stay unique",
                    )
                )
            seen.setdefault(pair.id, path)
            declared_turn = pair.training_metadata.conversation_turn if pair.training_metadata else None
            if declared_turn is not None and declared_turn != pair.turn_number:
                issues.append(
                    Issue(
                        Severity.WARNING,
                        "conversation_turn_mismatch",
                        f"{path}.training_metadata.conversation_turn",
                        f"training_metadata.conversation_turn is {declared_turn} but turn_number is "
                        f"{pair.turn_number}; kept as written",
                    )
                )
            issues.extend(_sentence_count_issues(pair, path))
        declared = self.declared_turns
        present = len(self.source_pairs)
        if _is_whole(declared) and declared != present:
            exchanges = len(self.pairs)
            outcome = (
                "imported as incomplete (generation can complete it)"
                if declared > present
                else "the stored counts are the real ones"
            )
            issues.append(
                Issue(
                    Severity.WARNING,
                    "declared_turns_mismatch",
                    self.declared_turns_path or "$",
                    f"declares {declared} turns but the conversation has {present} training pairs "
                    f"({exchanges} exchange{'s' if exchanges != 1 else ''}); the declared value is kept as "
                    f"written and {outcome}",
                )
            )
        return issues

    def _numbering_issues(self) -> list[Issue]:
        """Pairs must come in order (a pair out of order or repeated would pair a reply with the wrong
        message); a conversation that does not start at 1 or skips a number is only reported."""
        issues: list[Issue] = []
        previous = 0
        for pair, path in zip(self.source_pairs, self.source_paths, strict=True):
            number = pair.turn_number
            if number <= previous:
                issues.append(
                    Issue(
                        Severity.ERROR,
                        "turn_numbering",
                        f"{path}.turn_number",
                        f"turn_number is {number} after turn {previous}; put the pairs of a conversation in "
                        "order, each number once",
                    )
                )
            elif number != previous + 1:
                issues.append(
                    Issue(
                        Severity.WARNING,
                        "turn_gap",
                        f"{path}.turn_number",
                        f"turn_number is {number} after {previous or 'the start'}: turn(s) "
                        f"{', '.join(str(n) for n in range(previous + 1, number))} are not in this file",
                    )
                )
            previous = max(previous, number)
        return issues


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _group_by_id(pairs: Sequence[TrainingPair]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        groups.setdefault(pair.conversation_id, []).append(index)
    return groups


def _rescope_counts(envelope: dict[str, Any], turns: int) -> None:
    """In an envelope split off a file holding several conversations, make counts describe one."""
    dataset = envelope.get("dataset_metadata")
    if isinstance(dataset, dict):
        if "total_conversations" in dataset:
            dataset["total_conversations"] = 1
        if "total_turns" in dataset:
            dataset["total_turns"] = turns
    file_metadata = envelope.get("training_file_metadata")
    if isinstance(file_metadata, dict):
        if "total_conversations" in file_metadata:
            file_metadata["total_conversations"] = 1
        if "total_training_pairs" in file_metadata:
            file_metadata["total_training_pairs"] = turns


def generated_conversation_id(seed_file: SeedFile) -> str | None:
    """The id of a conversation the user's generator wrote (``input_parameters`` present): the UUID in its
    ``dataset_name`` (``fp_conversation_<uuid>``), the same id a training file gives that conversation.
    Its pairs' ``conversation_id`` is a topic word shared by many conversations, so it cannot be the key."""
    if "input_parameters" not in (seed_file.model_extra or {}) or seed_file.dataset_metadata is None:
        return None
    match = _UUID.search(seed_file.dataset_metadata.dataset_name or "")
    return match.group().lower() if match else None


def group_conversations(seed_file: SeedFile) -> list[ConversationDoc]:
    """One :class:`ConversationDoc` per conversation, in document order, for every layout.

    Single layout and JSON Lines: pairs grouped by ``conversation_id`` (a generated file keyed by the UUID
    of its ``dataset_name``, see :func:`generated_conversation_id`). Multi layouts: one conversation per
    block, keyed by the block's own ``conversation_metadata.conversation_id`` (the v4 UUID) when it has
    one, else by its pairs' ``conversation_id``. Pairs keep their document order. When the file holds
    more than one conversation, the envelope's ``total_conversations`` / ``total_turns`` (and v4
    ``total_training_pairs``) are rescoped to the one conversation; a file with a single conversation is
    copied verbatim, so its ``to_single_file_dict()`` deep-equals the source.
    """
    data = seed_file.to_json_dict()
    top_envelope = {key: value for key, value in data.items() if key not in _PAIR_CONTAINERS}
    docs: list[ConversationDoc] = []

    if seed_file.training_pairs is not None:
        pairs = seed_file.training_pairs
        groups = _group_by_id(pairs)
        several = len(groups) > 1
        total_turns = seed_file.dataset_metadata.total_turns if seed_file.dataset_metadata else None
        own_id = None if several else generated_conversation_id(seed_file)
        for conversation_id, indexes in groups.items():
            envelope = copy.deepcopy(top_envelope)
            if several:
                _rescope_counts(envelope, len(indexes))
            docs.append(
                ConversationDoc(
                    conversation_id=own_id or conversation_id,
                    envelope=envelope,
                    source_pairs=[pairs[i] for i in indexes],
                    source_paths=[f"$.training_pairs[{i}]" for i in indexes],
                    declared_turns=None if several else total_turns,
                    declared_turns_path=None if several else "$.dataset_metadata.total_turns",
                )
            )
        return docs

    for block_index, block in enumerate(seed_file.conversations or []):
        block_data = block.to_json_dict()
        block_envelope = {key: value for key, value in block_data.items() if key != "training_pairs"}
        base = f"$.conversations[{block_index}]"
        block_id = block.conversation_metadata.conversation_id
        groups = (
            {block_id: list(range(len(block.training_pairs)))}
            if block_id is not None
            else _group_by_id(block.training_pairs)
        )
        mixed = len(groups) > 1
        for conversation_id, indexes in groups.items():
            envelope = {**copy.deepcopy(top_envelope), **copy.deepcopy(block_envelope)}
            _rescope_counts(envelope, len(indexes))
            docs.append(
                ConversationDoc(
                    conversation_id=conversation_id,
                    envelope=envelope,
                    source_pairs=[block.training_pairs[i] for i in indexes],
                    source_paths=[f"{base}.training_pairs[{i}]" for i in indexes],
                    declared_turns=None if mixed else block.conversation_metadata.total_turns,
                    declared_turns_path=None if mixed else f"{base}.conversation_metadata.total_turns",
                    block_index=block_index,
                )
            )
    return docs


def _declared_count_issue(declared: object, present: int, path: str, noun: str) -> list[Issue]:
    if not _is_whole(declared) or declared == present:
        return []
    return [
        Issue(
            Severity.WARNING,
            "declared_count_mismatch",
            path,
            f"declares {declared} {noun} but the file holds {present}; the declared value is kept as written and "
            "the stored counts are the real ones",
        )
    ]


def seed_file_issues(seed_file: SeedFile, docs: Sequence[ConversationDoc] | None = None) -> list[Issue]:
    """All conversation-level and file-level checks of a validated seed file (``docs``: its grouping,
    when the caller has it already)."""
    docs = list(docs) if docs is not None else group_conversations(seed_file)
    issues: list[Issue] = []
    for doc in docs:
        issues.extend(doc.issues())

    pair_total = sum(len(doc.source_pairs) for doc in docs)
    dataset = seed_file.dataset_metadata
    if seed_file.conversations is not None:
        conversation_total = len(seed_file.conversations)
        for block_index, block in enumerate(seed_file.conversations):
            base = f"$.conversations[{block_index}]"
            ids = _group_by_id(block.training_pairs)
            block_id = block.conversation_metadata.conversation_id
            if len(ids) > 1 and block_id is None:
                issues.append(
                    Issue(
                        Severity.ERROR,
                        "conversation_id_mismatch",
                        f"{base}.training_pairs",
                        f"one conversation block mixes conversation ids {sorted(ids)} and has no "
                        "conversation_metadata.conversation_id; split it into one block per conversation",
                    )
                )
                issues.extend(
                    _declared_count_issue(
                        block.conversation_metadata.total_turns,
                        len(block.training_pairs),
                        f"{base}.conversation_metadata.total_turns",
                        "turns",
                    )
                )
        file_metadata = (seed_file.model_extra or {}).get("training_file_metadata")
        if isinstance(file_metadata, dict):
            issues.extend(
                _declared_count_issue(
                    file_metadata.get("total_conversations"),
                    conversation_total,
                    "$.training_file_metadata.total_conversations",
                    "conversations",
                )
            )
            issues.extend(
                _declared_count_issue(
                    file_metadata.get("total_training_pairs"),
                    pair_total,
                    "$.training_file_metadata.total_training_pairs",
                    "training pairs",
                )
            )
    else:
        conversation_total = len(docs)

    if dataset is not None:
        issues.extend(
            _declared_count_issue(
                dataset.total_conversations,
                conversation_total,
                "$.dataset_metadata.total_conversations",
                "conversations",
            )
        )
        single_conversation = seed_file.training_pairs is not None and len(docs) == 1
        if not single_conversation:  # a lone conversation's total_turns is checked by doc.issues()
            issues.extend(
                _declared_count_issue(dataset.total_turns, pair_total, "$.dataset_metadata.total_turns", "turns")
            )

    places: dict[str, str] = {}
    for doc in docs:
        first = doc.source_paths[0] if doc.source_paths else "$"
        if doc.conversation_id in places:
            issues.append(
                Issue(
                    Severity.ERROR,
                    "duplicate_conversation",
                    first,
                    f"conversation {doc.conversation_id!r} appears twice in this file (also at "
                    f"{places[doc.conversation_id]}); keep one of them",
                )
            )
        places.setdefault(doc.conversation_id, first)

    owners: dict[str, str] = {}
    for doc in docs:
        for turn_id, path in zip(doc.turn_ids(), doc.pair_paths, strict=True):
            owner = owners.setdefault(turn_id, doc.conversation_id)
            if owner != doc.conversation_id:
                issues.append(
                    Issue(
                        Severity.ERROR,
                        "duplicate_pair_id",
                        f"{path}.id",
                        f"id {turn_id!r} is also used in conversation {owner!r}; give every pair its own id",
                    )
                )
    return issues


# --------------------------------------------------------------------------------------------------
# JSON schema of one conversation, for structured output
# --------------------------------------------------------------------------------------------------


def _inline_refs(node: Any, defs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(item, defs, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.removeprefix("#/$defs/")
        if name not in defs:
            raise ValueError(f"unresolvable $ref {ref!r} in the conversation schema")
        if name in stack:
            raise ValueError(f"recursive model {name!r} cannot be inlined for structured output")
        resolved = _inline_refs(defs[name], defs, (*stack, name))
        siblings = {key: _inline_refs(value, defs, stack) for key, value in node.items() if key != "$ref"}
        return {**resolved, **siblings}
    return {key: _inline_refs(value, defs, stack) for key, value in node.items()}


# Imported files may be lean; the generator is always asked for the full annotation (model -> fields that
# the structured-output schema requires although the model lets them be absent).
GENERATION_REQUIRED: dict[str, tuple[str, ...]] = {
    "TrainingPair": (
        "conversation_metadata",
        "conversation_history",
        "emotional_context",
        "response_strategy",
        "target_response",
        "response_breakdown",
        "expected_user_response_patterns",
        "training_metadata",
    ),
    "ConversationMetadata": ("client_persona", "session_context", "conversation_phase", "expected_outcome"),
    "EmotionalContext": (
        "detected_emotions",
        "emotional_indicators",
        "behavioral_assessment",
        "client_needs_hierarchy",
    ),
    "DetectedEmotions": ("primary_confidence", "intensity", "valence"),
    "TrainingMetadata": (
        "difficulty_level",
        "key_learning_objective",
        "demonstrates_skills",
        "emotional_progression_target",
        "quality_score",
        "quality_criteria",
    ),
}


# Where each model of GENERATION_REQUIRED sits inside a training pair (None: the pair itself).
_GENERATION_PLACES: dict[str, tuple[str, ...]] = {
    "TrainingPair": (),
    "ConversationMetadata": ("conversation_metadata",),
    "EmotionalContext": ("emotional_context",),
    "DetectedEmotions": ("emotional_context", "detected_emotions"),
    "TrainingMetadata": ("training_metadata",),
}


def generation_gaps(data: Any) -> list[DocumentError]:
    """The fields a generated conversation must have although the model lets imported files omit them
    (:data:`GENERATION_REQUIRED`): one ``missing`` error per absent, null or blank one, with its path."""
    pairs = data.get("training_pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, list):
        return []
    gaps: list[DocumentError] = []
    for index, pair in enumerate(pairs):
        for model, place in _GENERATION_PLACES.items():
            node: Any = pair
            for key in place:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue  # the enclosing block is missing: reported once, at its own path
            for name in GENERATION_REQUIRED[model]:
                value = node.get(name)
                path = json_path(("training_pairs", index, *place, name))
                if value is None:
                    gaps.append(DocumentError(path, f"is required but missing; add the '{name}' key", None, "missing"))
                elif isinstance(value, str) and not value.strip():
                    message = "must not be empty or blank; write the text for this field"
                    gaps.append(DocumentError(path, message, json.dumps(value), "text_empty"))
    return gaps


def _require(model_schema: dict[str, Any], names: Sequence[str]) -> None:
    """Make optional properties required and drop their ``null`` alternative and default."""
    properties = model_schema["properties"]
    required: list[str] = model_schema.setdefault("required", [])
    for name in names:
        prop = properties[name]
        options = prop.get("anyOf")
        if isinstance(options, list):
            kept = [option for option in options if option.get("type") != "null"]
            prop.pop("anyOf")
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
        prop.pop("default", None)
        if name not in required:
            required.append(name)


def conversation_json_schema() -> dict[str, Any]:
    """JSON schema of ONE conversation ``{conversation_metadata, training_pairs: [TrainingPair, ...]}``.

    Derived from :class:`ConversationBlock` (validation mode) with every ``$defs`` reference inlined, so
    it is self-contained and free of ``$ref`` for structured-output APIs.
    """
    schema = ConversationBlock.model_json_schema(mode="validation")
    defs = schema.pop("$defs", {})
    for name, required in GENERATION_REQUIRED.items():
        _require(defs[name], required)
    defs["TrainingPair"]["properties"]["turn_number"]["maximum"] = MAX_TURNS
    inlined: dict[str, Any] = _inline_refs(schema, defs, ())
    inlined["title"] = "Conversation"
    inlined["description"] = (
        "One annotated conversation: block metadata and its training pairs (turns) in order, turn_number 1..n."
    )
    return inlined
