"""Invented files of the user's later layouts (no text from the upstream files): lean pairs, half pairs,
v4 training files with UUID conversation ids and scaffolding, JSON Lines with a ``_meta`` line, generated
files with ``input_parameters``, and declared totals that disagree with the content."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.helpers.documents import make_envelope

SCAFFOLDING = {
    "persona_key": "careful_saver",
    "persona_name": "Robin Vale - The Careful Saver",
    "emotional_arc_key": "doubt_to_resolve",
    "emotional_arc": "Doubt → Resolve",
    "training_topic_key": "rainy_day_fund",
    "training_topic": "Building a Rainy-Day Fund",
}


def fresh_id() -> str:
    return str(uuid.uuid4())


def message(exchange: int) -> str:
    return f"Invented client message number {exchange}: I keep putting off the savings plan and it worries me."


def reply(exchange: int) -> str:
    return (
        f"Invented consultant reply number {exchange}. Putting it off is common and it says nothing bad about you. "
        "What would a first small step look like this week?"
    )


def make_lean_pair(
    topic: str,
    turn_number: int,
    *,
    user_input: str,
    target: str | None,
    history: list[dict[str, Any]] | None = None,
    conversation_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One pair as the later pipeline writes it: only detected emotions, per-pair metadata, float scores."""
    pair: dict[str, Any] = {
        "id": f"{topic}_turn{turn_number}",
        "conversation_id": conversation_id or topic,
        "turn_number": turn_number,
        "conversation_metadata": {
            "client_persona": SCAFFOLDING["persona_name"],
            "persona_archetype": SCAFFOLDING["persona_key"],
            "client_background": "Invented background for tests",
            "emotional_arc": SCAFFOLDING["emotional_arc"],
            "emotional_arc_key": SCAFFOLDING["emotional_arc_key"],
            "training_topic": SCAFFOLDING["training_topic"],
            "training_topic_key": SCAFFOLDING["training_topic_key"],
            "session_context": "Invented session context",
            "conversation_phase": "invented_phase",
            "expected_outcome": "Invented outcome",
        },
        "system_prompt": "You are an invented test consultant. Be warm and concrete.",
        "conversation_history": history or [],
        "current_user_input": user_input,
        "emotional_context": {
            "detected_emotions": {
                "primary": "doubt",
                "primary_confidence": 0.8,
                "secondary": "hope",
                "secondary_confidence": 0.6,
                "intensity": 0.7,
                "valence": "mixed",
            }
        },
        "target_response": target,
        "training_metadata": {
            "difficulty_level": f"intermediate_conversation_turn_{turn_number}",
            "key_learning_objective": "invented_objective",
            "demonstrates_skills": ["invented_skill"],
            "conversation_turn": turn_number,
            "emotional_progression_target": "doubt(0.7) → resolve(0.6)",
            "quality_score": 3,
            "quality_criteria": {"empathy_score": 2.8, "clarity_score": 3.2},
            "human_reviewed": False,
            "reviewer_notes": None,
        },
    }
    pair.update(overrides)
    return pair


def make_half_pair_conversation(
    topic: str, exchanges: int, *, open_ending: bool = False, conversation_id: str | None = None
) -> list[dict[str, Any]]:
    """2 pairs per exchange: a half pair (the client message, null target), then the same message again with
    the consultant's reply; ``open_ending`` adds a last client message that gets no reply."""
    pairs: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    number = 0
    for exchange in range(1, exchanges + 1):
        text = message(exchange)
        number += 1
        pairs.append(
            make_lean_pair(
                topic, number, user_input=text, target=None, history=list(history), conversation_id=conversation_id
            )
        )
        history.append({"turn": number, "role": "user", "content": text})
        number += 1
        pairs.append(
            make_lean_pair(
                topic,
                number,
                user_input=text,
                target=reply(exchange),
                history=list(history),
                conversation_id=conversation_id,
            )
        )
        history.append({"turn": number, "role": "assistant", "content": reply(exchange)})
    if open_ending:
        number += 1
        text = "Invented last client message that the file leaves without a reply."
        pairs.append(
            make_lean_pair(
                topic, number, user_input=text, target=None, history=list(history), conversation_id=conversation_id
            )
        )
    return pairs


def make_block(
    pairs: list[dict[str, Any]], *, conversation_id: str | None = None, declared_turns: int | None = None
) -> dict[str, Any]:
    conversation_id = conversation_id or fresh_id()
    return {
        "conversation_metadata": {
            "conversation_id": conversation_id,
            "source_file": f"invented_{conversation_id}.json",
            "created_date": "2026-01-01",
            "batch_id": "invented-batch",
            "total_turns": len(pairs) if declared_turns is None else declared_turns,
            "quality_tier": "experimental",
            "scaffolding": dict(SCAFFOLDING),
        },
        "training_pairs": pairs,
    }


def make_training_file(
    blocks: list[dict[str, Any]],
    *,
    declared_conversations: int | None = None,
    declared_pairs: int | None = None,
) -> dict[str, Any]:
    """A v4 training file ``{training_file_metadata, consultant_profile, conversations}``."""
    pairs = sum(len(block["training_pairs"]) for block in blocks)
    return {
        "training_file_metadata": {
            "file_name": "invented_training_file",
            "version": "4.0.0",
            "format_spec": "invented-v4",
            "total_conversations": len(blocks) if declared_conversations is None else declared_conversations,
            "total_training_pairs": pairs if declared_pairs is None else declared_pairs,
            "an_unknown_key": {"kept": True},
        },
        "consultant_profile": make_envelope()["consultant_profile"],
        "conversations": blocks,
    }


def make_generated_file(pairs: list[dict[str, Any]], conversation_id: str) -> dict[str, Any]:
    """One generated conversation: ``{dataset_metadata, consultant_profile, training_pairs, input_parameters}``,
    named by its UUID in ``dataset_name`` while its pairs carry a topic word as conversation_id."""
    envelope = make_envelope(total_turns=len(pairs))
    envelope["dataset_metadata"]["dataset_name"] = f"fp_conversation_{conversation_id}"
    return {
        **envelope,
        "training_pairs": pairs,
        "input_parameters": {
            "persona_id": fresh_id(),
            "persona_key": SCAFFOLDING["persona_key"],
            "persona_name": "Robin Vale",
            "emotional_arc_key": SCAFFOLDING["emotional_arc_key"],
            "emotional_arc_name": SCAFFOLDING["emotional_arc"],
            "training_topic_key": SCAFFOLDING["training_topic_key"],
            "training_topic_name": SCAFFOLDING["training_topic"],
        },
    }


def make_jsonl(pairs: list[dict[str, Any]], *, meta: dict[str, Any] | None = None) -> str:
    lines = [json.dumps({"_meta": meta}, ensure_ascii=False)] if meta is not None else []
    lines += [json.dumps(pair, ensure_ascii=False) for pair in pairs]
    return "\n".join(lines) + "\n"
