"""Conversations for export, quality and template tests: in memory, or inserted with SQLAlchemy core."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tests.helpers.documents import make_envelope, make_pair
from training_data_studio.conversations.document import TrainingPair
from training_data_studio.exports.formats import ExportConversation
from training_data_studio.models import TrainingConversation, TrainingTurn

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "data" / "samples"


# Replies draw their words from this list, seeded by the conversation id: different conversations share few
# word runs, so the export's near-duplicate grouping sees them as distinct (as real conversations are).
VOCABULARY = tuple(f"w{n}" for n in range(400))


def make_pairs(conversation_id: str, turns: int = 2, **overrides: Any) -> list[dict[str, Any]]:
    """Turns of one conversation whose texts differ from every other conversation's."""
    pairs = []
    for number in range(1, turns + 1):
        pair = make_pair(conversation_id, number, **overrides)
        rng = random.Random(f"{conversation_id}:{number}")
        pair["current_user_input"] = f"{conversation_id} asks question {number} about their budget."
        pair["target_response"] = f"{conversation_id} gets answer {number}: " + " ".join(rng.choices(VOCABULARY, k=24))
        pairs.append(pair)
    return pairs


def export_conversation(
    conversation_id: str = "conv_001",
    *,
    number: int = 1,
    persona_type: str = "Marcus",
    tier: str = "tier1_template",
    status: str = "approved",
    is_seed: bool = False,
    turns: int = 2,
    template_id: str | None = "confusion_to_clarity",
    template_version: int | None = 1,
    generation_model: str | None = None,
    pairs: list[dict[str, Any]] | None = None,
) -> ExportConversation:
    """An in-memory conversation as the export service loads it."""
    data = pairs if pairs is not None else make_pairs(conversation_id, turns)
    return ExportConversation(
        conversation_id=conversation_id,
        conversation_number=number,
        persona_type=persona_type,
        tier=tier,
        status=status,
        is_seed_example=is_seed,
        template_id=template_id,
        template_version=template_version,
        generation_model=generation_model,
        envelope=make_envelope(total_conversations=1, total_turns=len(data)),
        pairs=[TrainingPair.model_validate(pair) for pair in data],
    )


def insert_conversation(
    session: Session,
    conversation_id: str = "conv_001",
    *,
    number: int = 1,
    persona_type: str = "Marcus",
    tier: str = "tier1_template",
    status: str = "approved",
    is_seed: bool = False,
    turns: int = 2,
    pairs: list[dict[str, Any]] | None = None,
    template_uuid: uuid.UUID | None = None,
    template_version: int | None = None,
    generation_model: str | None = None,
    envelope: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A conversation row plus its training_turns rows (source_json = each pair), flushed; returns its id."""
    data = pairs if pairs is not None else make_pairs(conversation_id, turns)
    row_id: uuid.UUID = session.execute(
        insert(TrainingConversation)
        .values(
            conversation_id=conversation_id,
            conversation_number=number,
            persona_type=persona_type,
            persona_name=f"{persona_type} Tester",
            topic_category="Test topic",
            topic_description="A topic invented for tests.",
            tier=tier,
            tier_template="confusion_to_clarity",
            generation_status=status,
            is_seed_example=is_seed,
            turn_count=len(data),
            template_id=template_uuid,
            template_version=template_version,
            generation_model=generation_model,
            source_envelope=envelope if envelope is not None else make_envelope(total_turns=len(data)),
        )
        .returning(TrainingConversation.id)
    ).scalar_one()
    if data:
        session.execute(
            insert(TrainingTurn),
            [
                {
                    "turn_id": pair["id"],
                    "conversation_id": row_id,
                    "turn_number": pair["turn_number"],
                    "system_prompt": pair["system_prompt"],
                    "user_input": pair["current_user_input"],
                    "target_response": pair["target_response"],
                    "source_json": pair,
                }
                for pair in data
            ],
        )
    session.flush()
    return row_id


def sample_documents() -> list[dict[str, Any]]:
    """The shipped sample seed conversations (single-conversation layout), sorted by file name."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SAMPLES_DIR.glob("*.json"))]


def insert_sample(session: Session, document: dict[str, Any], *, number: int, **fields: Any) -> uuid.UUID:
    """One sample document as a conversation: its envelope and its pairs exactly as shipped."""
    pairs = document["training_pairs"]
    envelope = {key: value for key, value in document.items() if key != "training_pairs"}
    return insert_conversation(
        session, pairs[0]["conversation_id"], number=number, pairs=pairs, envelope=envelope, **fields
    )
