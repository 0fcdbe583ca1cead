"""The one writer of a conversation: a conversation document into the tables (one conversation row, and per
turn a training_turns row, its emotional_context, its response_strategy and one response_breakdowns row per
analysed sentence, plus the conversation's quality_metrics row), and the row snapshots that undo a write.

:func:`save_conversation` is the one way a conversation document is written, for the importer (status
``approved``, method ``seed_import``) and the generator (status ``generated``). It knows nothing of files,
runs or jobs: the caller decides whether a row is new, a plan row to fill, or a row whose content it cleared.
What the quality feature measures (counts, self-reported scores, every check) is handed in as a
:class:`Measure`, so this module depends on no other feature. Children are written with one multi-row INSERT
per table, never row by row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol, cast

import psycopg
from psycopg.types.json import Jsonb
from pydantic_core import to_json
from sqlalchemy import JSON, Table, delete, func, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from ..core.errors import AppError
from ..models import (
    Base,
    EmotionalContext,
    QualityMetrics,
    ResponseBreakdown,
    ResponseStrategy,
    TrainingConversation,
    TrainingTurn,
)
from .canonical import canonical_pacing, canonical_valence
from .counting import analysed_sentences, turn_sentence_count, word_count
from .document import MAX_TURNS, TURN_ID_LIMIT, ConversationBlock, ConversationDoc, Issue, Severity, TrainingPair

SEED_IMPORT_METHOD = "seed_import"
KNOWN_PERSONAS = ("Marcus", "Jennifer", "David")
MIXED_PERSONA = "Mixed"
# The archetype keys of the user's later files, for a client whose name is not one of ours.
PERSONA_ARCHETYPES = {"overwhelmed_avoider": "Marcus", "anxious_planner": "Jennifer", "pragmatic_optimist": "David"}
DEFAULT_TIER = "tier1_template"
# The spec's eight indicator columns, filled when the document uses exactly these keys.
INDICATOR_COLUMNS = (
    "explicit_emotion_words",
    "uncertainty_language",
    "self_deprecation",
    "time_pressure",
    "social_comparison",
    "decision_paralysis",
    "vulnerability",
    "enthusiasm",
)
PROGRESSION_COLUMNS = (
    ("previous_turn_primary", "previous_turn_emotion"),
    ("current_turn_primary", "current_turn_emotion"),
)
BEHAVIOUR_COLUMNS = ("risk_level", "engagement_readiness", "knowledge_level", "trust_level")
# Any constant: taken for the rest of the transaction by whoever numbers a new conversation, so two
# concurrent imports cannot both pick max + 1.
NUMBERING_LOCK_ID = 7_302_114_552
TOPIC_MAX_WORDS = 10
TOPIC_MAX_CHARS = 80

_FIRST_WORD = re.compile(r"[A-Za-z]+")


# --------------------------------------------------------------------------------------------------
# Columns that must fit: VARCHAR limits on values taken verbatim from the document
# --------------------------------------------------------------------------------------------------


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _limit(table: Table, column: str) -> int | None:
    length = getattr(table.c[column].type, "length", None)
    return int(length) if length else None


def column_issues(doc: ConversationDoc) -> list[Issue]:
    """Values that would not fit their column. Reported as errors rather than silently cut."""
    issues: list[Issue] = []

    def check(value: str | None, table: Table, column: str, path: str) -> None:
        limit = _limit(table, column)
        if value is not None and limit is not None and len(value) > limit:
            issues.append(
                Issue(
                    Severity.ERROR,
                    "too_long_for_column",
                    path,
                    f"is {len(value)} characters long; {table.name}.{column} holds at most {limit}: shorten it",
                )
            )

    conversations, contexts = table_of(TrainingConversation), table_of(EmotionalContext)
    for index, (pair, path) in enumerate(zip(doc.pairs, doc.pair_paths, strict=True)):
        emotions = pair.detected_emotions
        if emotions is None or pair.emotional_context is None:
            continue
        base = f"{path}.emotional_context.detected_emotions"
        if index == 0:
            check(emotions.primary, conversations, "starting_emotion", f"{base}.primary")
        if index == len(doc.pairs) - 1:
            check(emotions.primary, conversations, "ending_emotion", f"{base}.primary")
        check(emotions.primary, contexts, "primary_emotion", f"{base}.primary")
        check(emotions.secondary, contexts, "secondary_emotion", f"{base}.secondary")
        check(emotions.tertiary, contexts, "tertiary_emotion", f"{base}.tertiary")
        progression = pair.emotional_context.emotional_progression or {}
        for key, column in (
            ("previous_turn_primary", "previous_turn_emotion"),
            ("current_turn_primary", "current_turn_emotion"),
        ):
            value = progression.get(key)
            if isinstance(value, str):
                check(value, contexts, column, f"{path}.emotional_context.emotional_progression.{key}")
    return issues


# --------------------------------------------------------------------------------------------------
# Conversation columns
# --------------------------------------------------------------------------------------------------


def _first_sentence_words(text: str) -> str:
    words = text.split()[:TOPIC_MAX_WORDS]
    topic = " ".join(words)
    if len(topic) > TOPIC_MAX_CHARS:
        topic = topic[:TOPIC_MAX_CHARS].rsplit(" ", 1)[0]
    return topic.rstrip(" ,;:.-") or text[:TOPIC_MAX_CHARS]


def persona_type_of(persona: str, persona_key: str | None = None) -> str:
    """One of our three personas by the first word of the client's name ("David Chen - The Pragmatic
    Optimist" -> David) or by the archetype key of the user's later files, else 'Mixed'."""
    first = _FIRST_WORD.match(persona.strip())
    if first and first.group() in KNOWN_PERSONAS:
        return first.group()
    return PERSONA_ARCHETYPES.get(persona_key or "", MIXED_PERSONA)


def persona_fields(pair: TrainingPair, scaffolding: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Persona of a conversation that is not in the plan, from ``client_persona`` (or the scaffolding's
    persona name).

    ``persona_type`` see :func:`persona_type_of`; ``persona_name`` is the text before " - " or the first
    comma ("Marcus Thompson - The Overwhelmed Avoider" -> "Marcus Thompson").
    """
    scaffolding = scaffolding or {}
    metadata = pair.conversation_metadata
    persona = ((metadata.client_persona if metadata else None) or scaffolding.get("persona_name") or "").strip()
    name = re.split(r" - | – | — |,", persona, maxsplit=1)[0].strip() or persona or "Unknown client"
    name_limit = _limit(table_of(TrainingConversation), "persona_name") or 100
    return {
        "persona_type": persona_type_of(persona, scaffolding.get("persona_key")),
        "persona_name": name[:name_limit],
        "persona_description": (metadata.client_background if metadata else None) or persona or None,
    }


def topic_fields(pair: TrainingPair, scaffolding: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Topic of a conversation that is not in the plan: ``training_topic`` when the metadata (or the
    scaffolding) has one, else the first words of ``session_context`` (at most 10 words / 80 characters);
    the full session context becomes the topic description."""
    metadata = pair.conversation_metadata
    context = ((metadata.session_context if metadata else None) or "").strip()
    named = (metadata.training_topic if metadata else None) or (scaffolding or {}).get("training_topic") or ""
    topic = named.strip() or _first_sentence_words(context) or "Imported conversation"
    return {"topic_category": topic, "topic_description": context or None}


def new_row_fields(doc: ConversationDoc, *, source_file: str | None = None) -> dict[str, Any]:
    """Identity columns of a conversation that has no plan row: an extra conversation outside the plan,
    tagged with the file it came from and the persona / arc / topic its file gave it."""
    first = doc.pairs[0]
    scaffolding = doc.scaffolding()
    arc_limit = _limit(table_of(TrainingConversation), "tier_template") or 100
    arc_key = scaffolding.get("emotional_arc_key")
    return {
        **persona_fields(first, scaffolding),
        **topic_fields(first, scaffolding),
        "tier": DEFAULT_TIER,
        "tier_template": arc_key[:arc_limit] if arc_key else None,
        "emotional_arc_description": scaffolding.get("emotional_arc"),
        "turn_count_target": max(len(doc.pairs), _declared_exchanges(doc)),
        "source_file": source_file,
        "scaffolding": scaffolding or None,
    }


def _declared_exchanges(doc: ConversationDoc) -> int:
    """The exchanges an incomplete conversation should have: its declared pairs, halved when half of its
    pairs are half pairs (the file counts both halves of an exchange)."""
    declared = doc.declared_turns
    if not doc.incomplete or not isinstance(declared, int):
        return 0
    if doc.pairs_merged:
        return min(MAX_TURNS, -(-declared // 2))
    return min(MAX_TURNS, declared)


def _decimal(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class Measured:
    """What the quality feature measured in a document: the counts and self-reported scores the conversation
    row carries (``turn_count``, ``total_sentences``, ``quality_score``, ...) and the ``quality_metrics`` row
    (every column but ``id`` and ``conversation_id``)."""

    conversation_columns: Mapping[str, Any]
    quality_row: Mapping[str, Any]


class Measure(Protocol):
    """Measures a document as it will be stored (``quality.measure.measure_document`` is the one in use)."""

    def __call__(self, doc: ConversationDoc, *, tier: str, status: str, is_seed: bool) -> Measured: ...


def is_seed_document(doc: ConversationDoc) -> bool:
    return any(pair.training_metadata and pair.training_metadata.use_as_seed_example is True for pair in doc.pairs)


def content_fields(doc: ConversationDoc) -> dict[str, Any]:
    """Columns that describe the conversation's content (set on new rows and on filled plan rows alike)."""
    first, last = doc.pairs[0], doc.pairs[-1]
    metadata = first.conversation_metadata
    training = [pair.training_metadata for pair in doc.pairs if pair.training_metadata is not None]
    variation_counts = [t.generate_variations_count for t in training if t.generate_variations_count is not None]
    seed = is_seed_document(doc)
    starting, ending = first.detected_emotions, last.detected_emotions
    return {
        "session_context": metadata.session_context if metadata else None,
        "conversation_phase": metadata.conversation_phase if metadata else None,
        "expected_outcome": metadata.expected_outcome if metadata else None,
        "starting_emotion": starting.primary if starting else None,
        "starting_emotion_intensity": _decimal(starting.intensity) if starting else None,
        "ending_emotion": ending.primary if ending else None,
        "ending_emotion_intensity": _decimal(ending.intensity) if ending else None,
        "is_seed_example": seed,
        "use_for_variations": seed,
        "human_reviewed": bool(training) and all(t.human_reviewed is True for t in training),
        "variation_count_target": max(variation_counts) if variation_counts else None,
        "source_envelope": doc.envelope,
        "open_ending": doc.open_ending or None,
    }


# --------------------------------------------------------------------------------------------------
# Turn rows
# --------------------------------------------------------------------------------------------------


@dataclass
class ContentRows:
    turns: list[dict[str, Any]] = field(default_factory=list)
    contexts: list[dict[str, Any]] = field(default_factory=list)
    strategies: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[dict[str, Any]] = field(default_factory=list)


def _as_phrases(value: list[str] | str) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _progression_description(progression: Mapping[str, Any]) -> str | None:
    parts = [str(progression[key]) for key in ("trajectory", "interpretation") if progression.get(key) is not None]
    return "; ".join(parts) or None


def _intensity_change(progression: Mapping[str, Any]) -> Decimal | None:
    previous, current = progression.get("previous_turn_intensity"), progression.get("current_turn_intensity")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (previous, current))
    if not numbers:
        return None
    return Decimal(str(current)) - Decimal(str(previous))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def content_rows(
    doc: ConversationDoc,
    conversation_row_id: uuid.UUID,
    *,
    start: int = 0,
    turn_ids: Sequence[str] | None = None,
) -> ContentRows:
    """The rows of a conversation's exchanges. A block the pair does not carry gets no row (or NULL
    columns): nothing is invented. Each turn keeps its pair's source JSON, and the half pairs merged into
    it, for the lossless export. ``start``: the exchanges before it are stored already (a completion adds
    the rest), and ``turn_ids`` the ids of all exchanges when the caller chose them."""
    rows = ContentRows()
    exchanges = zip(doc.pairs, turn_ids or doc.turn_ids(), doc.half_pairs, strict=True)
    for number, (pair, turn_key, halves) in enumerate(exchanges, 1):
        if number <= start:
            continue
        turn_id = uuid.uuid4()
        # One dump per pair; the JSON columns below are parts of it (dumping each part again costs time).
        source = pair.to_json_dict()
        breakdown = pair.response_breakdown
        patterns = pair.expected_user_response_patterns
        training = pair.training_metadata
        rows.turns.append(
            {
                "id": turn_id,
                "turn_id": turn_key,
                "conversation_id": conversation_row_id,
                "turn_number": number,
                "system_prompt": pair.system_prompt,
                "user_input": pair.current_user_input,
                "user_intent": None,
                "target_response": pair.reply,
                "target_response_word_count": word_count(pair.reply),
                "target_response_sentence_count": turn_sentence_count(pair),
                "response_structure_type": breakdown.structure_type if breakdown else None,
                "positive_indicators": patterns.positive_indicators if patterns else None,
                "neutral_indicators": patterns.neutral_indicators if patterns else None,
                "negative_indicators": patterns.negative_indicators if patterns else None,
                "difficulty_level": training.difficulty_level if training else None,
                "key_learning_objective": training.key_learning_objective if training else None,
                "demonstrates_skills": training.demonstrates_skills if training else None,
                "emotional_progression_target": training.emotional_progression_target if training else None,
                "conversation_history": source.get("conversation_history", []),
                "source_json": source,
                "source_half_pairs": halves or None,
            }
        )
        context_row = _context_row(pair, source, turn_id)
        if context_row is not None:
            rows.contexts.append(context_row)
        strategy = pair.response_strategy
        if strategy is not None:
            rows.strategies.append(
                {
                    "id": uuid.uuid4(),
                    "turn_id": turn_id,
                    "primary_strategy": strategy.primary_strategy,
                    "primary_rationale": strategy.primary_rationale,
                    "secondary_strategies": strategy.secondary_strategies,
                    "tone_selection": strategy.tone_selection,
                    "tone_rationale": strategy.tone_rationale,
                    "pacing": canonical_pacing(strategy.pacing),
                    "pacing_original": strategy.pacing,
                    "tactical_choices": dict(strategy.tactical_choices),
                    "avoid_tactics": strategy.avoid_tactics,
                    "specific_techniques": source["response_strategy"].get("specific_techniques") or [],
                }
            )
        for sentence in analysed_sentences(pair):
            rows.sentences.append(
                {
                    "id": uuid.uuid4(),
                    "turn_id": turn_id,
                    "sentence_number": sentence.sentence_number,
                    "sentence_text": sentence.text,
                    "function": sentence.function,
                    "emotional_purpose": sentence.emotional_purpose,
                    "technique": sentence.technique,
                    "teaches_model": sentence.teaches_model,
                    "word_choice_rationale": dict(sentence.word_choice_rationale),
                    "psychological_principle": sentence.psychological_principle,
                    "stylistic_note": sentence.stylistic_note,
                }
            )
    return rows


def _context_row(pair: TrainingPair, source: Mapping[str, Any], turn_id: uuid.UUID) -> dict[str, Any] | None:
    """The emotional_context row of a pair that names its client's emotion; None when it names none."""
    context = pair.emotional_context
    emotions = pair.detected_emotions
    if context is None or emotions is None:
        return None
    indicators = context.emotional_indicators
    progression = context.emotional_progression or {}
    assessment = context.behavioral_assessment
    return {
        "id": uuid.uuid4(),
        "turn_id": turn_id,
        "primary_emotion": emotions.primary,
        "primary_confidence": _decimal(emotions.primary_confidence),
        "secondary_emotion": emotions.secondary,
        "secondary_confidence": _decimal(emotions.secondary_confidence),
        "tertiary_emotion": emotions.tertiary,
        "tertiary_confidence": _decimal(emotions.tertiary_confidence),
        "intensity": _decimal(emotions.intensity),
        "valence": canonical_valence(emotions.valence) if emotions.valence is not None else None,
        "valence_original": emotions.valence,
        **{
            name: _as_phrases(indicators[name]) if indicators and name in indicators else None
            for name in INDICATOR_COLUMNS
        },
        "emotional_indicators": dict(indicators) if indicators is not None else None,
        "previous_turn_emotion": _str_or_none(progression.get("previous_turn_primary")),
        "current_turn_emotion": _str_or_none(progression.get("current_turn_primary")),
        "progression_description": _progression_description(progression),
        "intensity_change": _intensity_change(progression),
        "emotional_progression": dict(progression) if context.emotional_progression is not None else None,
        **{name: (assessment or {}).get(name) for name in BEHAVIOUR_COLUMNS},
        "behavioral_assessment": dict(assessment) if assessment is not None else None,
        "client_needs": source["emotional_context"].get("client_needs_hierarchy"),
        "red_flags": source["emotional_context"].get("red_flags"),
    }


# Bind parameters per INSERT statement, well below PostgreSQL's limit of 65,535.
MAX_PARAMETERS = 30_000
# About how many bytes of parameters one INSERT carries. In a psycopg 3.3 pipeline over the embedded
# server's unix socket, one message of 500 KB or more never finishes sending: the client waits for results
# while the server waits for the rest of the statement (measured: 16 x 250 KB pass, 8 x 500 KB hang). The
# later layouts' training files are written in statements of at most this size (a single row larger than it
# is still sent alone: no real pair is near that size).
MAX_STATEMENT_BYTES = 128 * 1024


@lru_cache(maxsize=512)
def _values_insert(table: Table, names: tuple[str, ...], count: int) -> bytes:
    width = len(names)
    rows = ("(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")" for row in range(count))
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES {', '.join(rows)}".encode()


@lru_cache(maxsize=64)
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(column.name for column in table.columns if isinstance(column.type, JSON))


Batches = Sequence[tuple[Table, Sequence[Mapping[str, Any]]]]


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The session's own psycopg connection (inside its transaction, under its role: row-level security
    applies to what is sent on it)."""
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, psycopg.Connection):
        raise TypeError("the import writes through a psycopg 3 connection")
    return connection


def bulk_insert(session: Session, batches: Batches) -> None:
    """Insert each batch of rows with one multi-row ``INSERT ... VALUES (...), (...)``, and send all the
    statements in one round trip (a psycopg pipeline).

    Rows are never sent one statement at a time, and a conversation with all its turns and annotations
    costs one round trip: this, not the ORM's unit of work, is what makes the import fast (see
    docs/benchmarks.md). It runs on the session's own connection: inside the current transaction or
    savepoint, under the same role (row-level security applies).
    """
    connection = driver_connection(session)
    with connection.pipeline(), psycopg.RawCursor(connection) as cursor:
        send_inserts(cursor, batches)


def send_inserts(cursor: psycopg.RawCursor[Any], batches: Batches) -> None:
    """Send the multi-row INSERTs of ``batches`` on ``cursor`` (in pipeline mode they are queued, not
    waited for). The SQL text depends only on the table, the columns and the row count, so psycopg
    prepares each shape once. A RawCursor takes PostgreSQL's own ``$n`` placeholders: psycopg does not
    re-parse a long statement for ``%s`` placeholders on every call (it caches that work only for
    statements of up to 50 parameters). JSON values are serialised by pydantic-core (several times faster
    than ``json.dumps``); a None in a JSONB column is SQL NULL. Rows of one batch must have the same keys.
    """
    for table, rows in batches:
        if not rows:
            continue
        names = tuple(rows[0].keys())
        json_columns = _json_columns(table)
        wrap = [name in json_columns for name in names]
        per_statement = max(1, MAX_PARAMETERS // len(names))
        params: list[Any] = []
        count = size = 0
        for row in rows:
            row_params, row_size = _row_params(row, names, wrap)
            if count and (count >= per_statement or size + row_size > MAX_STATEMENT_BYTES):
                cursor.execute(_values_insert(table, names, count), params)
                params, count, size = [], 0, 0
            params.extend(row_params)
            count += 1
            size += row_size
        if count:
            cursor.execute(_values_insert(table, names, count), params)


def _dumped(data: bytes) -> bytes:
    return data


def _row_params(row: Mapping[str, Any], names: Sequence[str], wrap: Sequence[bool]) -> tuple[list[Any], int]:
    """A row's parameters (JSON dumped once, here) and about how many bytes they take on the wire."""
    params: list[Any] = []
    size = 0
    for name, is_json in zip(names, wrap, strict=True):
        value = row[name]
        if is_json and value is not None:
            data = to_json(value)
            size += len(data)
            params.append(Jsonb(data, _dumped))
            continue
        size += len(value) if isinstance(value, str) else 16
        params.append(value)
    return params, size


# --------------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------------


def next_conversation_number(session: Session) -> int:
    """max + 1, after taking the numbering lock for the rest of the transaction (so a concurrent import
    cannot pick the same number); the max is read in a later statement than the lock, so it sees every
    number committed before the lock was granted."""
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": NUMBERING_LOCK_ID})
    current = session.execute(select(func.max(TrainingConversation.conversation_number))).scalar_one()
    return int(current or 0) + 1


def clear_conversation_content(session: Session, conversation_row_id: uuid.UUID) -> None:
    """Delete a conversation's turns (their annotations cascade) and its quality metrics."""
    session.execute(delete(TrainingTurn).where(TrainingTurn.conversation_id == conversation_row_id))
    session.execute(delete(QualityMetrics).where(QualityMetrics.conversation_id == conversation_row_id))


@dataclass(frozen=True)
class SavedCounts:
    turns: int
    sentences: int


def _refuse_what_does_not_fit(doc: ConversationDoc) -> None:
    problems = column_issues(doc)
    if problems:
        raise AppError(
            "invalid_conversation",
            "; ".join(f"{p.path}: {p.message}" for p in problems),
            status=422,
            fields={p.path: p.message for p in problems},
        )


@dataclass
class ConversationRows:
    """Every row of one conversation document, built in memory and not yet sent: the conversation row (new
    conversations only), then its content and its quality_metrics row."""

    conversation: dict[str, Any] | None
    content: ContentRows
    quality: dict[str, Any]

    def batches(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        return rows_by_table([self])


def rows_by_table(documents: Sequence[ConversationRows]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The rows of several conversations as one batch per table, parents first (one INSERT per table)."""
    return [
        (table_of(TrainingConversation), [d.conversation for d in documents if d.conversation is not None]),
        (table_of(TrainingTurn), [row for d in documents for row in d.content.turns]),
        (table_of(EmotionalContext), [row for d in documents for row in d.content.contexts]),
        (table_of(ResponseStrategy), [row for d in documents for row in d.content.strategies]),
        (table_of(ResponseBreakdown), [row for d in documents for row in d.content.sentences]),
        (table_of(QualityMetrics), [d.quality for d in documents]),
    ]


def _conversation_values(
    doc: ConversationDoc,
    measured: Measured,
    *,
    user: str | None,
    status: str,
    generation_method: str | None,
    import_run_id: uuid.UUID | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        **content_fields(doc),
        **measured.conversation_columns,
        "generation_status": status,
        "generation_method": generation_method,
        "import_run_id": import_run_id,
        "updated_by": user,
        **(extra or {}),
    }


def _quality_row(measured: Measured, conversation_row_id: uuid.UUID) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "conversation_id": conversation_row_id, **measured.quality_row}


def new_conversation_rows(
    doc: ConversationDoc,
    *,
    measure: Measure,
    user: str | None,
    status: str,
    generation_method: str,
    import_run_id: uuid.UUID | None = None,
    conversation_number: int | None = None,
    extra: Mapping[str, Any] | None = None,
    source_file: str | None = None,
) -> ConversationRows:
    """All the rows of a conversation that has no row yet, without touching the database (pure, so an
    importer can build them while the database writes the previous file). ``conversation_number`` may be
    left None and set on ``conversation`` before sending. The caller has checked :func:`column_issues`."""
    identity = new_row_fields(doc, source_file=source_file)
    tier = str((extra or {}).get("tier", identity["tier"]))
    measured = measure(doc, tier=tier, status=status, is_seed=is_seed_document(doc))
    values = _conversation_values(
        doc,
        measured,
        user=user,
        status=status,
        generation_method=generation_method,
        import_run_id=import_run_id,
        extra=extra,
    )
    conversation = {
        "id": uuid.uuid4(),
        "conversation_id": doc.conversation_id,
        "conversation_number": conversation_number,
        "created_by": user,
        **identity,
        **values,
    }
    return ConversationRows(
        conversation=conversation,
        content=content_rows(doc, conversation["id"]),
        quality=_quality_row(measured, conversation["id"]),
    )


def save_conversation(
    session: Session,
    doc: ConversationDoc,
    *,
    measure: Measure,
    user: str | None,
    status: str,
    generation_method: str,
    plan_row: TrainingConversation | None = None,
    import_run_id: uuid.UUID | None = None,
    conversation_number: int | None = None,
    extra: Mapping[str, Any] | None = None,
    source_file: str | None = None,
) -> TrainingConversation:
    """Write one conversation document and return its row (written, not committed).

    ``plan_row``: an existing row without turns (a planned row, or one whose content the caller cleared
    with :func:`clear_conversation_content`) is filled in place and keeps its number, persona, topic, tier
    and template; without it a new row is inserted with ``conversation_number`` (a caller numbering many
    rows holds the numbering lock, see :func:`next_conversation_number`) or else the next free number.
    ``extra`` sets further conversation columns (the generator's model, tokens, cost, ...).
    Raises AppError (422) when a value does not fit its column.
    """
    _refuse_what_does_not_fit(doc)
    if plan_row is None:
        rows = new_conversation_rows(
            doc,
            measure=measure,
            user=user,
            status=status,
            generation_method=generation_method,
            import_run_id=import_run_id,
            conversation_number=conversation_number or next_conversation_number(session),
            extra=extra,
            source_file=source_file,
        )
        assert rows.conversation is not None
        bulk_insert(session, rows.batches())
        # The row was inserted together with its turns (one round trip); the ORM object is attached as
        # already persistent, and the columns the database filled in load on first access.
        row = TrainingConversation(**rows.conversation)
        make_transient_to_detached(row)
        session.add(row)
        return row

    measured = measure(doc, tier=plan_row.tier, status=status, is_seed=is_seed_document(doc))
    values = _conversation_values(
        doc,
        measured,
        user=user,
        status=status,
        generation_method=generation_method,
        import_run_id=import_run_id,
        extra=extra,
    )
    for key, value in values.items():
        setattr(plan_row, key, value)
    session.flush()
    filled = ConversationRows(
        conversation=None,
        content=content_rows(doc, plan_row.id),
        quality=_quality_row(measured, plan_row.id),
    )
    bulk_insert(session, filled.batches())
    return plan_row


# --------------------------------------------------------------------------------------------------
# Completing a conversation: exchanges written after the stored ones
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredExchanges:
    """A conversation as a completion continues it: its exchanges renumbered 1..n (the next turn's
    history), the pairs as its file held them (half pairs and open ending included), its turns' ids, and
    the client's last message when the conversation ends on one."""

    pairs: list[TrainingPair]
    source_pairs: list[dict[str, Any]]
    turn_ids: list[str]
    open_message: str | None


def stored_exchanges(session: Session, conversation: TrainingConversation) -> StoredExchanges:
    rows = session.execute(
        select(TrainingTurn.source_json, TrainingTurn.source_half_pairs, TrainingTurn.turn_id)
        .where(TrainingTurn.conversation_id == conversation.id)
        .order_by(TrainingTurn.turn_number)
    ).all()
    pairs: list[TrainingPair] = []
    source: list[dict[str, Any]] = []
    for number, (pair_json, halves, _) in enumerate(rows, 1):
        source.extend(halves or [])
        source.append(pair_json)
        # The file's own numbering may have gaps (merged half pairs): the history counts exchanges.
        pairs.append(TrainingPair.model_validate(pair_json).model_copy(update={"turn_number": number}))
    open_ending = list(conversation.open_ending or [])
    source.extend(open_ending)
    message = open_ending[-1].get("current_user_input") if open_ending else None
    return StoredExchanges(
        pairs=pairs,
        source_pairs=source,
        turn_ids=[turn_id for _, _, turn_id in rows],
        open_message=message if isinstance(message, str) and message.strip() else None,
    )


def _continued_turn_ids(doc: ConversationDoc, stored: Sequence[str]) -> list[str]:
    """The stored turns keep their ids; a new one that repeats one of them gets a suffix (ids are unique)."""
    ids = list(stored)
    for number, turn_id in enumerate(doc.turn_ids()[len(stored) :], start=len(stored) + 1):
        if turn_id in ids:
            turn_id = f"{turn_id[: TURN_ID_LIMIT - 4]}~{number}"
        ids.append(turn_id)
    return ids


def append_exchanges(
    session: Session,
    conversation: TrainingConversation,
    new_pairs: Sequence[TrainingPair],
    *,
    measure: Measure,
    user: str | None,
    status: str,
    extra: Mapping[str, Any] | None = None,
) -> TrainingConversation:
    """Complete a conversation: write ``new_pairs`` after its stored turns, which stay exactly as they are
    (rows, ids, per-turn reviews). The conversation row and its quality metrics are measured again over all
    its exchanges. A first new pair that answers the open ending takes that half pair along, as the import
    merges a half pair, so the export gives back the file's pairs and then the new ones.
    Raises AppError (422) when a value does not fit its column or a new pair is not an exchange."""
    stored = stored_exchanges(session, conversation)
    source = [*stored.source_pairs, *(pair.to_json_dict() for pair in new_pairs)]
    doc = ConversationDoc(
        conversation_id=conversation.conversation_id,
        envelope=dict(conversation.source_envelope or {}),
        source_pairs=[TrainingPair.model_validate(item) for item in source],
        source_paths=[f"$.training_pairs[{index}]" for index in range(len(source))],
    )
    if len(doc.pairs) != len(stored.pairs) + len(new_pairs):
        raise AppError(
            "invalid_completion",
            f"{conversation.conversation_id}: {len(new_pairs)} new pairs made "
            f"{len(doc.pairs) - len(stored.pairs)} exchanges after the {len(stored.pairs)} stored ones; "
            "every new pair needs a consultant reply",
            status=422,
        )
    _refuse_what_does_not_fit(doc)
    turn_ids = _continued_turn_ids(doc, stored.turn_ids)
    measured = measure(doc, tier=conversation.tier, status=status, is_seed=conversation.is_seed_example)
    values = _conversation_values(
        doc,
        measured,
        user=user,
        status=status,
        generation_method=conversation.generation_method,
        import_run_id=conversation.import_run_id,
        extra=extra,
    )
    for key, value in values.items():
        setattr(conversation, key, value)
    session.execute(delete(QualityMetrics).where(QualityMetrics.conversation_id == conversation.id))
    session.flush()
    rows = ConversationRows(
        conversation=None,
        content=content_rows(doc, conversation.id, start=len(stored.pairs), turn_ids=turn_ids),
        quality=_quality_row(measured, conversation.id),
    )
    bulk_insert(session, rows.batches())
    return conversation


def document_of_block(block: ConversationBlock, envelope: dict[str, Any]) -> ConversationDoc:
    """A validated conversation block (the generator's output) with the file-level keys it is stored with,
    as the writer takes it: no round trip through JSON and no second validation."""
    pairs = list(block.training_pairs)
    return ConversationDoc(
        conversation_id=pairs[0].conversation_id,
        envelope=envelope,
        source_pairs=pairs,
        source_paths=[f"$.training_pairs[{index}]" for index in range(len(pairs))],
    )


def saved_counts(doc: ConversationDoc) -> SavedCounts:
    return SavedCounts(turns=len(doc.pairs), sentences=sum(len(analysed_sentences(p)) for p in doc.pairs))


# --------------------------------------------------------------------------------------------------
# Row snapshots (JSON-safe): what an import rollback or a kept revision restores from
# --------------------------------------------------------------------------------------------------


def row_snapshot(row: Any) -> dict[str, Any]:
    """Every column of an ORM row as JSON values (what a rollback or a kept revision restores from)."""
    table = cast(Table, type(row).__table__)
    return row_to_json(table, {column.name: getattr(row, column.key) for column in table.columns})


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def row_to_json(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    computed = {c.name for c in table.columns if c.computed is not None}
    return {name: _jsonable(value) for name, value in values.items() if name not in computed}


def row_from_json(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    """Column values back from :func:`row_to_json` (uuids, decimals and timestamps re-typed)."""
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in table.c:
            continue  # a column dropped since the snapshot
        column = table.c[name]
        if value is None or isinstance(column.type, JSON):
            values[name] = value
            continue
        python_type = column.type.python_type
        if python_type is uuid.UUID:
            values[name] = uuid.UUID(value)
        elif python_type is Decimal:
            values[name] = Decimal(value)
        elif python_type is datetime:
            values[name] = datetime.fromisoformat(value)
        else:
            values[name] = value
    return values
