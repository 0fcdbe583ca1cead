"""Test rows inserted directly with SQLAlchemy core: conversations, turns and their annotations.

Every value is invented. Each factory takes keyword overrides for any column and returns the new row's id.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from training_data_studio.models import (
    EmotionalContext,
    QualityMetrics,
    ResponseBreakdown,
    ResponseStrategy,
    TrainingConversation,
    TrainingTurn,
)


def _next_number(session: Session) -> int:
    current = session.execute(select(func.max(TrainingConversation.conversation_number))).scalar_one()
    return (current or 0) + 1


def insert_conversation(session: Session, **overrides: Any) -> uuid.UUID:
    """A planned conversation (no turns) unless overridden; numbers and ids follow the last one."""
    number = overrides.pop("conversation_number", None) or _next_number(session)
    values: dict[str, Any] = {
        "conversation_number": number,
        "conversation_id": f"test_conv_{number:03d}",
        "persona_type": "Marcus",
        "persona_name": "Test Client",
        "persona_description": "An invented client for tests.",
        "topic_category": f"Invented topic {number}",
        "topic_description": f"An invented description for conversation {number}.",
        "tier": "tier1_template",
        "tier_template": "confusion_to_clarity",
        "tier_batch": 1,
        "starting_emotion": "Confusion",
        "starting_emotion_intensity": 0.8,
        "ending_emotion": "Clarity",
        "ending_emotion_intensity": 0.7,
        "emotional_arc_description": "From invented confusion to invented clarity.",
        "turn_count_target": 3,
        "session_context": "An invented first session.",
        "generation_status": "planned",
    }
    values.update(overrides)
    return session.execute(
        insert(TrainingConversation).values(**values).returning(TrainingConversation.id)
    ).scalar_one()


def insert_turn(
    session: Session,
    conversation: uuid.UUID,
    turn_number: int,
    *,
    annotations: bool = True,
    sentences: int = 2,
    **overrides: Any,
) -> uuid.UUID:
    """A turn with (by default) its emotional context, response strategy and sentence breakdown."""
    conversation_id = session.execute(
        select(TrainingConversation.conversation_id).where(TrainingConversation.id == conversation)
    ).scalar_one()
    values: dict[str, Any] = {
        "turn_id": f"{conversation_id}_turn{turn_number}",
        "conversation_id": conversation,
        "turn_number": turn_number,
        "system_prompt": "You are an invented test coach.",
        "user_input": f"Invented client message for turn {turn_number}.",
        "user_intent": "seek_reassurance",
        "target_response": f"Invented coaching reply for turn {turn_number}. A second sentence follows.",
        "target_response_word_count": 11,
        "target_response_sentence_count": sentences,
        "difficulty_level": "beginner",
        "source_json": {"turn_number": turn_number},
    }
    values.update(overrides)
    turn = session.execute(insert(TrainingTurn).values(**values).returning(TrainingTurn.id)).scalar_one()
    if annotations:
        session.execute(
            insert(EmotionalContext).values(
                turn_id=turn,
                primary_emotion="worry",
                primary_confidence=0.7,
                secondary_emotion="hope",
                secondary_confidence=0.4,
                intensity=0.6,
                valence="mixed",
                valence_original="mixed",
                emotional_indicators={"worry_words": ["not sure", "scared"]},
                risk_level="low",
                client_needs=[{"need": "clarity", "priority": 1}],
            )
        )
        session.execute(
            insert(ResponseStrategy).values(
                turn_id=turn,
                primary_strategy="validate_then_explain",
                primary_rationale="Invented rationale.",
                secondary_strategies=["normalise"],
                tone_selection="warm",
                pacing="moderate",
                pacing_original="moderate",
                tactical_choices={"ask_question": True},
                avoid_tactics=["jargon"],
                specific_techniques=[{"technique": "reflect", "application": "invented"}],
            )
        )
        for number in range(1, sentences + 1):
            session.execute(
                insert(ResponseBreakdown).values(
                    turn_id=turn,
                    sentence_number=number,
                    sentence_text=f"Invented sentence {number}.",
                    function="test_function",
                    emotional_purpose="test_purpose",
                    technique="test_technique",
                    teaches_model="test_teaching",
                    word_choice_rationale={"invented": "because tests"},
                )
            )
    return turn


def insert_generated_conversation(
    session: Session,
    *,
    turns: int = 2,
    turn_texts: list[tuple[str, str]] | None = None,
    **overrides: Any,
) -> uuid.UUID:
    """A generated conversation with `turns` annotated turns (texts as (user_input, target_response) pairs)."""
    texts = turn_texts or []
    count = max(turns, len(texts))
    values = {"generation_status": "generated", "turn_count": count, "quality_score": 4.0} | overrides
    conversation = insert_conversation(session, **values)
    for number in range(1, count + 1):
        extra: dict[str, Any] = {}
        if number <= len(texts):
            extra = {"user_input": texts[number - 1][0], "target_response": texts[number - 1][1]}
        insert_turn(session, conversation, number, **extra)
    return conversation


def insert_quality_metrics(session: Session, conversation: uuid.UUID, **overrides: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "conversation_id": conversation,
        "total_turns": 2,
        "total_sentences": 4,
        "total_word_count": 40,
        "overall_quality_score": 4.0,
        "empathy_score": 4.5,
        "clarity_score": 4.0,
        "has_complete_emotional_context": True,
        "has_primary_strategy": True,
    }
    values.update(overrides)
    return session.execute(insert(QualityMetrics).values(**values).returning(QualityMetrics.id)).scalar_one()


def set_status(session: Session, conversation: uuid.UUID, status: str) -> None:
    session.execute(
        update(TrainingConversation).where(TrainingConversation.id == conversation).values(generation_status=status)
    )
