"""The v4 training-file layout: ``{training_file_metadata, consultant_profile, conversations: [...]}``, and its
JSON Lines form (a ``{"_meta": ...}`` line, then one self-contained pair a line).

Everything in ``training_file_metadata`` is computed from the conversations written (totals, quality
summary, scaffolding distribution); nothing is typed in. Every pair written is one complete exchange: the
client's message and the consultant's reply. The user's own pipeline also wrote "half pairs" (a client
message with ``target_response: null``, repeated by the next pair); the Studio stores whole turns, so it
never has a half pair to write.

A pair stands alone: its ``conversation_history`` is the real earlier turns of the conversation (client
message and consultant reply, with that turn's detected emotion as the emotional state), not the
abbreviated summaries some seed files carry, so a trainer reading one JSONL line has the whole context.

The v4 pair is the lean layout of the user's later pipeline: the Studio's deeper annotations (response
strategy, sentence breakdown, expected response patterns) stay in the annotated export.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ...conversations.canonical import canonical_valence
from ...conversations.document import DetectedEmotions, TrainingPair
from . import Example, Message, dumps_document, dumps_line

FORMAT_SPEC = "brightrun-lora-v4"
LAYOUT_VERSION = "4.0.0"
VERTICAL = "financial_planning_consultant"
# The four criteria every v4 pair must score (the rest of a pair's criteria are kept as they are).
REQUIRED_CRITERIA = ("empathy_score", "clarity_score", "appropriateness_score", "brand_voice_alignment")
PRINCIPLES = 5
QUALITY_TIERS = ("seed_dataset", "production", "experimental", "rejected")
# Keys are used for counting, so they stay short and comparable.
KEY_MAX_CHARS = 64

_NOT_KEY = re.compile(r"[^a-z0-9]+")


def key_of(text: str) -> str:
    """A snake_case key from a label: 'Overwhelm' -> 'overwhelm', 'RSUs & options' -> 'rsus_options'."""
    key = _NOT_KEY.sub("_", text.lower()).strip("_")[:KEY_MAX_CHARS].rstrip("_")
    return key or "unknown"


class _Lean(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LeanEmotions(_Lean):
    primary: str
    primary_confidence: float
    secondary: str | None = None
    secondary_confidence: float | None = None
    intensity: float
    valence: str


class LeanContext(_Lean):
    detected_emotions: LeanEmotions


class LeanPairMetadata(_Lean):
    client_persona: str
    client_background: str | None = None
    session_context: str
    conversation_phase: str
    expected_outcome: str
    persona_archetype: str | None = None
    emotional_arc: str | None = None
    emotional_arc_key: str | None = None
    training_topic: str | None = None
    training_topic_key: str | None = None


class LeanTrainingMetadata(_Lean):
    difficulty_level: str
    key_learning_objective: str
    demonstrates_skills: list[str]
    emotional_progression_target: str
    quality_score: float
    quality_criteria: dict[str, float]
    human_reviewed: bool | None = None
    reviewer_notes: str | None = None
    use_as_seed_example: bool | None = None
    generate_variations_count: int | None = None


class V4Turn(_Lean):
    """The parts of a stored training pair the v4 layout writes (same names and nesting as the full pair),
    so a training file reads a fraction of each turn (``exports/service.py``: ``load_v4_conversations``)."""

    id: str
    turn_number: int
    system_prompt: str
    current_user_input: str
    target_response: str
    conversation_metadata: LeanPairMetadata
    emotional_context: LeanContext
    training_metadata: LeanTrainingMetadata


# What the writer reads from a turn: the lean form, or a full pair (same attribute names).
Turn = V4Turn | TrainingPair


@dataclass(frozen=True, slots=True)
class Scaffolding:
    """Which persona, emotional arc and training topic a conversation was built on (keys and labels)."""

    persona_key: str
    persona_name: str
    emotional_arc_key: str
    emotional_arc: str
    training_topic_key: str
    training_topic: str

    def as_dict(self) -> dict[str, str]:
        return {
            "persona_key": self.persona_key,
            "persona_name": self.persona_name,
            "emotional_arc_key": self.emotional_arc_key,
            "emotional_arc": self.emotional_arc,
            "training_topic_key": self.training_topic_key,
            "training_topic": self.training_topic,
        }


@dataclass(frozen=True, slots=True)
class V4Conversation:
    """One conversation as the v4 writer needs it."""

    row_id: uuid.UUID
    conversation_id: str
    source_file: str
    created_date: date
    quality_tier: str
    human_reviewed: bool
    is_seed_example: bool
    scaffolding: Scaffolding
    client_background: str | None
    consultant_profile: dict[str, Any] | None = None
    pairs: list[Turn] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class V4File:
    """What names a training file version: its file name, when the file began and when this version was made."""

    file_name: str
    created: datetime
    updated: datetime
    target_model: str | None = None


def _utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z; a naive time is taken as UTC already."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="seconds").replace("+00:00", "Z")


def _number(value: Any) -> int | float:
    """Scores as plain JSON numbers: 4.0 -> 4, 4.5 -> 4.5 (Decimals become floats)."""
    number = float(value)
    return int(number) if number.is_integer() else number


def profile_in_v4(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    """A seed file's consultant profile in the v4 shape, or None when it lacks what v4 requires.

    v4 numbers the principles (``principle_1`` ...); seed files often name them (``feelings_come_first``).
    The texts are kept in their order under numbered keys; a profile with fewer than five is not used.
    """
    if not isinstance(profile, dict):
        return None
    philosophy = profile.get("core_philosophy")
    style = profile.get("communication_style")
    needed = ("name", "business", "expertise", "years_experience")
    if not isinstance(philosophy, dict) or not isinstance(style, dict) or any(k not in profile for k in needed):
        return None
    principles = [text for text in philosophy.values() if isinstance(text, str) and text.strip()]
    if len(principles) < PRINCIPLES or not all(k in style for k in ("tone", "techniques", "avoid")):
        return None
    numbered = {f"principle_{i}": text for i, text in enumerate(principles, start=1)}
    return {
        **{k: profile[k] for k in needed},
        "core_philosophy": numbered,
        "communication_style": {k: style[k] for k in ("tone", "techniques", "avoid")},
    }


_T = TypeVar("_T")


class V4Incomplete(ValueError):
    """A turn lacks a block the v4 layout requires (an imported lean pair may): nothing is invented for it."""


def _missing(pair: Turn, block: str) -> V4Incomplete:
    return V4Incomplete(
        f"turn {pair.turn_number} ({pair.id}) has no {block}, which the v4 layout requires; annotate the turn "
        "or leave its conversation out of the training file"
    )


def _need(value: _T | None, pair: Turn, block: str) -> _T:
    if value is None:
        raise _missing(pair, block)
    return value


def _emotions(pair: Turn) -> LeanEmotions | DetectedEmotions:
    context = pair.emotional_context
    if context is None:
        raise _missing(pair, "emotional_context")
    if context.detected_emotions is None:
        raise _missing(pair, "emotional_context.detected_emotions")
    return context.detected_emotions


def _emotional_state(pair: Turn) -> dict[str, Any]:
    emotions = _emotions(pair)
    state: dict[str, Any] = {"primary": emotions.primary, "intensity": _number(emotions.intensity)}
    if emotions.secondary:
        state["secondary"] = emotions.secondary
    return state


def _history(earlier: list[Turn]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for pair in earlier:
        state = _emotional_state(pair)
        entries.append(
            {"turn": pair.turn_number, "role": "user", "content": pair.current_user_input, "emotional_state": state}
        )
        entries.append(
            {
                "turn": pair.turn_number,
                "role": "assistant",
                "content": pair.target_response,
                "emotional_state": dict(state),
            }
        )
    return entries


def _detected_emotions(pair: Turn) -> dict[str, Any]:
    emotions = _emotions(pair)
    found: dict[str, Any] = {
        "primary": emotions.primary,
        "primary_confidence": _number(_need(emotions.primary_confidence, pair, "detected_emotions.primary_confidence")),
        "intensity": _number(_need(emotions.intensity, pair, "detected_emotions.intensity")),
        # v4 allows positive / negative / mixed only; seed files often say more ("mixed_improving").
        "valence": canonical_valence(_need(emotions.valence, pair, "detected_emotions.valence")),
    }
    if emotions.secondary:
        found["secondary"] = emotions.secondary
    if emotions.secondary_confidence is not None:
        found["secondary_confidence"] = _number(emotions.secondary_confidence)
    return found


def _training_metadata(pair: Turn, conversation: V4Conversation) -> dict[str, Any]:
    metadata = pair.training_metadata
    if metadata is None:
        raise _missing(pair, "training_metadata")
    criteria = _need(metadata.quality_criteria, pair, "training_metadata.quality_criteria")
    return {
        "difficulty_level": metadata.difficulty_level,
        "key_learning_objective": metadata.key_learning_objective,
        "demonstrates_skills": list(_need(metadata.demonstrates_skills, pair, "training_metadata.demonstrates_skills")),
        "conversation_turn": pair.turn_number,
        "emotional_progression_target": metadata.emotional_progression_target,
        "quality_score": _number(_need(metadata.quality_score, pair, "training_metadata.quality_score")),
        "quality_criteria": {name: _number(score) for name, score in criteria.items()},
        "human_reviewed": bool(metadata.human_reviewed)
        if metadata.human_reviewed is not None
        else conversation.human_reviewed,
        "reviewer_notes": metadata.reviewer_notes,
        "use_as_seed_example": bool(metadata.use_as_seed_example)
        if metadata.use_as_seed_example is not None
        else conversation.is_seed_example,
        "generate_variations_count": int(metadata.generate_variations_count or 0),
    }


def _pair_metadata(pair: Turn, conversation: V4Conversation) -> dict[str, Any]:
    metadata = pair.conversation_metadata
    if metadata is None:
        raise _missing(pair, "conversation_metadata")
    scaffolding = conversation.scaffolding
    return {
        "client_persona": metadata.client_persona,
        "persona_archetype": scaffolding.persona_key,
        "client_background": metadata.client_background or conversation.client_background or "",
        "emotional_arc": scaffolding.emotional_arc,
        "emotional_arc_key": scaffolding.emotional_arc_key,
        "training_topic": scaffolding.training_topic,
        "training_topic_key": scaffolding.training_topic_key,
        "session_context": metadata.session_context,
        "conversation_phase": metadata.conversation_phase,
        "expected_outcome": metadata.expected_outcome,
    }


def v4_pairs(conversation: V4Conversation) -> list[dict[str, Any]]:
    """The conversation's pairs in v4, each one complete and self-contained."""
    pairs = sorted(conversation.pairs, key=lambda p: p.turn_number)
    return [
        {
            "id": pair.id,
            "conversation_id": str(conversation.row_id),
            "turn_number": pair.turn_number,
            "conversation_metadata": _pair_metadata(pair, conversation),
            "system_prompt": pair.system_prompt,
            "conversation_history": _history(pairs[:index]),
            "current_user_input": pair.current_user_input,
            "emotional_context": {"detected_emotions": _detected_emotions(pair)},
            "target_response": pair.target_response,
            "training_metadata": _training_metadata(pair, conversation),
        }
        for index, pair in enumerate(pairs)
    ]


def conversation_block(conversation: V4Conversation, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "conversation_metadata": {
            "conversation_id": str(conversation.row_id),
            "source_file": conversation.source_file,
            "created_date": conversation.created_date.isoformat(),
            "total_turns": len(pairs),
            "quality_tier": conversation.quality_tier,
            "scaffolding": conversation.scaffolding.as_dict(),
        },
        "training_pairs": pairs,
    }


def quality_summary(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Over every pair written: average, lowest and highest quality score, and how many a person reviewed."""
    scores = [float(p["training_metadata"]["quality_score"]) for p in pairs]
    reviewed = sum(1 for p in pairs if p["training_metadata"]["human_reviewed"])
    return {
        "avg_quality_score": round(sum(scores) / len(scores), 2) if scores else 0,
        "min_quality_score": _number(min(scores)) if scores else 0,
        "max_quality_score": _number(max(scores)) if scores else 0,
        "human_reviewed_count": reviewed,
        "human_reviewed_percentage": round(100 * reviewed / len(pairs), 1) if pairs else 0,
    }


def scaffolding_distribution(conversations: list[V4Conversation]) -> dict[str, dict[str, int]]:
    """Conversations counted by persona, emotional arc and training topic key (keys sorted)."""

    def count(keys: list[str]) -> dict[str, int]:
        return dict(sorted(Counter(keys).items()))

    return {
        "personas": count([c.scaffolding.persona_key for c in conversations]),
        "emotional_arcs": count([c.scaffolding.emotional_arc_key for c in conversations]),
        "training_topics": count([c.scaffolding.training_topic_key for c in conversations]),
    }


def build_document(
    conversations: list[V4Conversation], *, file: V4File, consultant_profile: dict[str, Any]
) -> dict[str, Any]:
    """The whole v4 training file for ``conversations`` (in the order given)."""
    blocks = []
    every_pair: list[dict[str, Any]] = []
    for conversation in conversations:
        pairs = v4_pairs(conversation)
        every_pair.extend(pairs)
        blocks.append(conversation_block(conversation, pairs))
    metadata: dict[str, Any] = {
        "file_name": file.file_name,
        "version": LAYOUT_VERSION,
        "created_date": _utc(file.created),
        "last_updated": _utc(file.updated),
        "format_spec": FORMAT_SPEC,
        "vertical": VERTICAL,
        "total_conversations": len(blocks),
        "total_training_pairs": len(every_pair),
        "quality_summary": quality_summary(every_pair),
        "scaffolding_distribution": scaffolding_distribution(conversations),
    }
    if file.target_model:
        metadata["target_model"] = file.target_model
    return {"training_file_metadata": metadata, "consultant_profile": consultant_profile, "conversations": blocks}


def render_json(document: dict[str, Any]) -> str:
    """The whole file as JSON: the metadata and profile indented, then one conversation a line.

    Python's fast (C) encoder only writes compact JSON; indenting all of a 1,000-conversation file takes
    the slow one and several seconds. A conversation a line keeps the file readable and diffable.
    """
    head = {k: v for k, v in document.items() if k != "conversations"}
    lines = dumps_document(head).rstrip("\n").rstrip("}").rstrip()
    blocks = ",\n".join("    " + dumps_line(block) for block in document["conversations"])
    return f'{lines},\n  "conversations": [\n{blocks}\n  ]\n}}\n'


def render_records(records: list[dict[str, Any]]) -> str:
    """A JSON array with one record a line (fast compact encoding, still one record per line to read)."""
    if not records:
        return "[]\n"
    return "[\n" + ",\n".join("  " + dumps_line(record) for record in records) + "\n]\n"


def render_jsonl(document: dict[str, Any]) -> str:
    """The ``_meta`` line, then every pair of every conversation, one a line."""
    metadata = document["training_file_metadata"]
    pairs = [pair for block in document["conversations"] for pair in block["training_pairs"]]
    meta = {
        "file_name": metadata["file_name"],
        "version": metadata["version"],
        "format_spec": metadata["format_spec"],
        "total_conversations": metadata["total_conversations"],
        "total_pairs": len(pairs),
        "created_date": metadata["created_date"],
        "last_updated": metadata["last_updated"],
    }
    lines = [dumps_line({"_meta": meta}), *(dumps_line(pair) for pair in pairs)]
    return "".join(line + "\n" for line in lines)


def chat_examples(document: dict[str, Any]) -> list[Example]:
    """One chat example per conversation of a v4 document: its system prompt, then every exchange in order
    (what the chat-JSONL and ShareGPT renderings of a training file version hold)."""
    examples = []
    for block in document["conversations"]:
        pairs = block["training_pairs"]
        messages = [Message("system", pairs[0]["system_prompt"])]
        for pair in pairs:
            messages.append(Message("user", pair["current_user_input"]))
            messages.append(Message("assistant", pair["target_response"]))
        conversation_id = block["conversation_metadata"]["conversation_id"]
        examples.append(Example(conversation_id, conversation_id, messages))
    return examples
