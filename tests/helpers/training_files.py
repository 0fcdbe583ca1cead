"""Conversations complete enough for the v4 layout (long system prompt, the four quality criteria), invented."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tests.helpers.documents import make_envelope
from tests.helpers.export_factories import insert_conversation, make_pairs
from training_data_studio.conversations.document import TrainingPair
from training_data_studio.exports.formats import ExportConversation
from training_data_studio.exports.formats.v4 import V4Conversation
from training_data_studio.exports.training_file import v4_conversation as to_v4

SYSTEM_PROMPT = (
    "You are a test budgeting coach in an invented practice. Be kind, concrete and brief; name the client's "
    "feeling first, then give one clear next step."
)
CRITERIA = {"empathy_score": 4, "clarity_score": 5, "appropriateness_score": 4, "brand_voice_alignment": 4.5}
# Scaffolding in the vocabulary of the user's own v4 schema (its enums), for checks against that schema.
USER_VOCABULARY = {
    "persona_key": "anxious_planner",
    "persona_name": "Test Client - The Anxious Planner",
    "emotional_arc_key": "fear_to_confidence",
    "emotional_arc": "Fear → Confidence",
    "training_topic_key": "emergency_fund_basics",
    "training_topic": "Emergency fund basics",
}
USER_PHASES = ("initial_crisis_disclosure", "exploring_deeper_concern", "practical_implementation")


def v4_pairs(
    conversation_id: str, turns: int = 2, *, quality: float = 4, phases: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    pairs = make_pairs(conversation_id, turns, system_prompt=SYSTEM_PROMPT)
    for index, pair in enumerate(pairs):
        pair["training_metadata"] = {
            **pair["training_metadata"],
            "quality_score": quality,
            "quality_criteria": CRITERIA,
        }
        if phases:
            pair["conversation_metadata"] = {
                **pair["conversation_metadata"],
                "conversation_phase": phases[index % len(phases)],
            }
    return pairs


def insert_v4_conversation(
    session: Session, conversation_id: str, *, number: int, turns: int = 2, quality: float = 4, **fields: Any
) -> uuid.UUID:
    return insert_conversation(
        session, conversation_id, number=number, pairs=v4_pairs(conversation_id, turns, quality=quality), **fields
    )


def v4_conversation(
    conversation_id: str,
    *,
    number: int = 1,
    turns: int = 2,
    scaffolding: dict[str, str] | None = None,
    phases: tuple[str, ...] = (),
    status: str = "approved",
    is_seed: bool = False,
) -> V4Conversation:
    """An in-memory conversation as the v4 writer sees it (full pairs, as the export loader reads them)."""
    envelope = make_envelope(total_turns=turns)
    if scaffolding is not None:
        envelope["conversation_metadata"] = {"conversation_id": conversation_id, "scaffolding": scaffolding}
    return to_v4(
        ExportConversation(
            conversation_id=conversation_id,
            conversation_number=number,
            persona_type="Marcus",
            tier="tier1_template",
            status=status,
            is_seed_example=is_seed,
            template_id=None,
            template_version=None,
            generation_model=None,
            envelope=envelope,
            pairs=[TrainingPair.model_validate(p) for p in v4_pairs(conversation_id, turns, phases=phases)],
            row_id=uuid.uuid5(uuid.NAMESPACE_URL, conversation_id),
            persona_name="Marcus Tester",
            persona_description="An invented client for tests.",
            tier_template="confusion_to_clarity",
            starting_emotion="Confusion",
            ending_emotion="Clarity",
            topic_category="Invented topic about budgets",
            created_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        )
    )
