"""Small, invented seed documents for tests (no text from the upstream files)."""

from __future__ import annotations

import copy
from typing import Any


def make_sentence(number: int, text: str | None = None) -> dict[str, Any]:
    return {
        "sentence_number": number,
        "text": text or f"Test sentence number {number} of the coaching reply.",
        "function": "test_function",
        "emotional_purpose": "test_emotional_purpose",
        "technique": "test_technique",
        "teaches_model": "test_teaching_point",
        "word_choice_rationale": {"test sentence": "placeholder rationale", "reply": "second rationale"},
    }


def make_pair(
    conversation_id: str = "test_conv_001",
    turn_number: int = 1,
    *,
    sentences: int = 2,
    **overrides: Any,
) -> dict[str, Any]:
    """One training pair as parsed JSON; keyword overrides replace top-level keys of the pair."""
    history = [{"turn": number, "content": f"...summary of turn {number}..."} for number in range(1, turn_number)]
    pair: dict[str, Any] = {
        "id": f"{conversation_id}_turn{turn_number}",
        "conversation_id": conversation_id,
        "turn_number": turn_number,
        "conversation_metadata": {
            "client_persona": "Test Client - The Careful Saver",
            "session_context": "Invented session for unit tests",
            "conversation_phase": "test_phase",
            "expected_outcome": "the test passes",
        },
        "system_prompt": "You are a test budgeting coach. Be kind and concrete.",
        "conversation_history": history,
        "current_user_input": f"Test user message for turn {turn_number}.",
        "emotional_context": {
            "detected_emotions": {
                "primary": "worry",
                "primary_confidence": 0.7,
                "secondary": "hope",
                "secondary_confidence": 0.4,
                "intensity": 0.6,
                "valence": "mixed",
            },
            "emotional_indicators": {"worry_words": ["not sure", "scared"]},
            "behavioral_assessment": {"risk_level": "low"},
            "client_needs_hierarchy": [{"need": "clarity", "priority": 1, "rationale": "test rationale"}],
        },
        "response_strategy": {
            "primary_strategy": "test_strategy",
            "primary_rationale": "Because the test says so.",
            "secondary_strategies": ["validate"],
            "tone_selection": "warm",
            "tone_rationale": "Test tone rationale.",
            "pacing": "moderate",
            "tactical_choices": {"ask_question": True},
            "avoid_tactics": ["jargon"],
        },
        "target_response": " ".join(make_sentence(n)["text"] for n in range(1, sentences + 1)),
        "response_breakdown": {
            "total_sentences": sentences,
            "structure_type": "validate -> explain -> ask",
            "sentences": [make_sentence(n) for n in range(1, sentences + 1)],
        },
        "expected_user_response_patterns": {
            "positive_indicators": ["says thanks"],
            "neutral_indicators": ["asks for detail"],
            "negative_indicators": ["goes quiet"],
        },
        "training_metadata": {
            "difficulty_level": "beginner",
            "key_learning_objective": "test_objective",
            "demonstrates_skills": ["testing"],
            "conversation_turn": turn_number,
            "emotional_progression_target": "worry(0.6) -> calm(0.4)",
            "quality_score": 4,
            "quality_criteria": {"empathy_score": 4, "clarity_score": 5},
            "human_reviewed": False,
            "reviewer_notes": None,
            "use_as_seed_example": False,
            "generate_variations_count": 0,
        },
    }
    pair.update(overrides)
    return pair


def make_conversation(conversation_id: str = "test_conv_001", turns: int = 2) -> list[dict[str, Any]]:
    return [make_pair(conversation_id, number) for number in range(1, turns + 1)]


def make_envelope(*, total_conversations: int = 1, total_turns: int = 2) -> dict[str, Any]:
    return {
        "dataset_metadata": {
            "dataset_name": "unit_test_dataset",
            "version": "0.0.1",
            "total_conversations": total_conversations,
            "total_turns": total_turns,
        },
        "consultant_profile": {
            "name": "Test Coach",
            "business": "Test Budgeting Practice",
            "years_experience": 3,
            "core_philosophy": {"principle_1": "Be kind in tests"},
            "communication_style": {"tone": "warm", "techniques": ["ask"], "avoid": ["jargon"]},
        },
    }


def make_single_file(pairs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    pairs = pairs if pairs is not None else make_conversation()
    conversation_ids = {pair["conversation_id"] for pair in pairs}
    return {
        **make_envelope(total_conversations=len(conversation_ids), total_turns=len(pairs)),
        "training_pairs": pairs,
    }


def make_multi_file(conversations: list[list[dict[str, Any]]]) -> dict[str, Any]:
    blocks = [
        {
            "conversation_metadata": {
                "conversation_id": pairs[0]["conversation_id"],
                "total_turns": len(pairs),
                "quality_tier": "experimental",
            },
            "training_pairs": pairs,
        }
        for pairs in conversations
    ]
    return {
        **make_envelope(
            total_conversations=len(conversations),
            total_turns=sum(len(pairs) for pairs in conversations),
        ),
        "conversations": blocks,
    }


def with_value(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the value at ``path`` replaced (or added)."""
    result = copy.deepcopy(document)
    node: Any = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


def without_key(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    """A deep copy of ``document`` with the key at ``path`` removed."""
    result = copy.deepcopy(document)
    node: Any = result
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return result


def json_identical(left: Any, right: Any) -> bool:
    """Deep equality that also compares JSON types: ``5 != 5.0`` and ``1 != True`` here."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_identical(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(json_identical(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)
