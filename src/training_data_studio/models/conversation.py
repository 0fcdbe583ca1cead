"""A conversation and everything annotated under it: turns, emotional context, response strategy,
sentence breakdowns, and its computed quality metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Computed, ForeignKey, Numeric, String
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, updated_at, uuid_pk

Score = Numeric(2, 1)
Unit = Numeric(3, 2)


class TrainingConversation(Base):
    __tablename__ = "training_conversations"

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[str] = mapped_column(String(100), unique=True)
    conversation_number: Mapped[int] = mapped_column(unique=True)
    persona_type: Mapped[str] = mapped_column(String(50))
    persona_name: Mapped[str] = mapped_column(String(100))
    persona_description: Mapped[str | None]
    topic_category: Mapped[str]
    topic_description: Mapped[str | None]
    tier: Mapped[str] = mapped_column(String(20))
    tier_template: Mapped[str | None] = mapped_column(String(100))
    tier_batch: Mapped[int | None]
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversation_templates.id", ondelete="SET NULL"))
    template_version: Mapped[int | None]
    starting_emotion: Mapped[str | None] = mapped_column(String(50))
    starting_emotion_intensity: Mapped[Decimal | None] = mapped_column(Unit)
    ending_emotion: Mapped[str | None] = mapped_column(String(50))
    ending_emotion_intensity: Mapped[Decimal | None] = mapped_column(Unit)
    emotional_arc_description: Mapped[str | None]
    turn_count_target: Mapped[int | None]
    turn_count: Mapped[int] = mapped_column(server_default="0")
    total_sentences: Mapped[int | None]
    total_word_count: Mapped[int | None]
    session_context: Mapped[str | None]
    conversation_phase: Mapped[str | None]
    expected_outcome: Mapped[str | None]
    quality_score: Mapped[Decimal | None] = mapped_column(Score)
    empathy_score: Mapped[Decimal | None] = mapped_column(Score)
    clarity_score: Mapped[Decimal | None] = mapped_column(Score)
    appropriateness_score: Mapped[Decimal | None] = mapped_column(Score)
    brand_voice_score: Mapped[Decimal | None] = mapped_column(Score)
    domain_specific_score: Mapped[Decimal | None] = mapped_column(Score)
    generation_status: Mapped[str] = mapped_column(String(20), server_default="planned")
    generation_method: Mapped[str | None] = mapped_column(String(50))
    generation_model: Mapped[str | None] = mapped_column(String(100))
    generation_date: Mapped[datetime | None]
    generation_duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    generation_cost_cents: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    generation_attempts: Mapped[int] = mapped_column(server_default="0")
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    cache_read_tokens: Mapped[int | None]
    cache_write_tokens: Mapped[int | None]
    generation_error: Mapped[str | None]
    is_seed_example: Mapped[bool] = mapped_column(server_default="false")
    use_for_variations: Mapped[bool] = mapped_column(server_default="false")
    variation_count_target: Mapped[int | None]
    human_reviewed: Mapped[bool] = mapped_column(server_default="false")
    reviewer_notes: Mapped[str | None]
    review_date: Mapped[datetime | None]
    reviewed_by: Mapped[str | None]
    source_envelope: Mapped[dict[str, Any] | None]
    open_ending: Mapped[list[Any] | None]
    source_conversation_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    source_file: Mapped[str | None]
    scaffolding: Mapped[dict[str, Any] | None]
    import_run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    created_by: Mapped[str | None]
    updated_by: Mapped[str | None]

    turns: Mapped[list[TrainingTurn]] = relationship(
        back_populates="conversation", lazy="raise", order_by="TrainingTurn.turn_number", passive_deletes=True
    )
    quality_metrics: Mapped[QualityMetrics | None] = relationship(lazy="raise", passive_deletes=True)


class TrainingTurn(Base):
    __tablename__ = "training_turns"

    id: Mapped[uuid.UUID] = uuid_pk()
    turn_id: Mapped[str] = mapped_column(String(150), unique=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    turn_number: Mapped[int]
    system_prompt: Mapped[str]
    user_input: Mapped[str]
    user_intent: Mapped[str | None]
    target_response: Mapped[str]
    target_response_word_count: Mapped[int | None]
    target_response_sentence_count: Mapped[int | None]
    response_structure_type: Mapped[str | None]
    positive_indicators: Mapped[list[Any] | None]
    neutral_indicators: Mapped[list[Any] | None]
    negative_indicators: Mapped[list[Any] | None]
    difficulty_level: Mapped[str | None]
    key_learning_objective: Mapped[str | None]
    demonstrates_skills: Mapped[list[Any] | None]
    emotional_progression_target: Mapped[str | None]
    conversation_history: Mapped[list[Any] | None]
    source_json: Mapped[dict[str, Any]]
    source_half_pairs: Mapped[list[Any] | None]
    content_tsv: Mapped[str | None] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('english', coalesce(user_input, '') || ' ' || coalesce(target_response, ''))"),
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    conversation: Mapped[TrainingConversation] = relationship(back_populates="turns", lazy="raise")
    emotional_context: Mapped[EmotionalContext | None] = relationship(lazy="raise", passive_deletes=True)
    response_strategy: Mapped[ResponseStrategy | None] = relationship(lazy="raise", passive_deletes=True)
    sentences: Mapped[list[ResponseBreakdown]] = relationship(
        lazy="raise", order_by="ResponseBreakdown.sentence_number", passive_deletes=True
    )


class EmotionalContext(Base):
    __tablename__ = "emotional_context"

    id: Mapped[uuid.UUID] = uuid_pk()
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_turns.id", ondelete="CASCADE"), unique=True)
    primary_emotion: Mapped[str] = mapped_column(String(100))
    primary_confidence: Mapped[Decimal | None] = mapped_column(Unit)
    secondary_emotion: Mapped[str | None] = mapped_column(String(100))
    secondary_confidence: Mapped[Decimal | None] = mapped_column(Unit)
    tertiary_emotion: Mapped[str | None] = mapped_column(String(100))
    tertiary_confidence: Mapped[Decimal | None] = mapped_column(Unit)
    intensity: Mapped[Decimal | None] = mapped_column(Unit)
    valence: Mapped[str | None] = mapped_column(String(20))
    valence_original: Mapped[str | None]
    explicit_emotion_words: Mapped[list[Any] | None]
    uncertainty_language: Mapped[list[Any] | None]
    self_deprecation: Mapped[list[Any] | None]
    time_pressure: Mapped[list[Any] | None]
    social_comparison: Mapped[list[Any] | None]
    decision_paralysis: Mapped[list[Any] | None]
    vulnerability: Mapped[list[Any] | None]
    enthusiasm: Mapped[list[Any] | None]
    emotional_indicators: Mapped[dict[str, Any] | None]
    previous_turn_emotion: Mapped[str | None] = mapped_column(String(100))
    current_turn_emotion: Mapped[str | None] = mapped_column(String(100))
    progression_description: Mapped[str | None]
    intensity_change: Mapped[Decimal | None] = mapped_column(Unit)
    emotional_progression: Mapped[dict[str, Any] | None]
    risk_level: Mapped[str | None]
    engagement_readiness: Mapped[str | None]
    knowledge_level: Mapped[str | None]
    trust_level: Mapped[str | None]
    behavioral_assessment: Mapped[dict[str, Any] | None]
    client_needs: Mapped[list[Any] | None]
    red_flags: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = created_at()


class ResponseStrategy(Base):
    __tablename__ = "response_strategies"

    id: Mapped[uuid.UUID] = uuid_pk()
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_turns.id", ondelete="CASCADE"), unique=True)
    primary_strategy: Mapped[str]
    primary_rationale: Mapped[str]
    secondary_strategies: Mapped[list[Any] | None]
    tone_selection: Mapped[str]
    tone_rationale: Mapped[str | None]
    pacing: Mapped[str] = mapped_column(String(20))
    pacing_original: Mapped[str]
    tactical_choices: Mapped[dict[str, Any]]
    avoid_tactics: Mapped[list[Any] | None]
    specific_techniques: Mapped[list[Any]]
    created_at: Mapped[datetime] = created_at()


class ResponseBreakdown(Base):
    __tablename__ = "response_breakdowns"

    id: Mapped[uuid.UUID] = uuid_pk()
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_turns.id", ondelete="CASCADE"))
    sentence_number: Mapped[int]
    sentence_text: Mapped[str]
    function: Mapped[str]
    emotional_purpose: Mapped[str]
    technique: Mapped[str]
    teaches_model: Mapped[str]
    word_choice_rationale: Mapped[dict[str, Any]]
    psychological_principle: Mapped[str | None]
    stylistic_note: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()


class QualityMetrics(Base):
    __tablename__ = "quality_metrics"

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_conversations.id", ondelete="CASCADE"), unique=True
    )
    total_turns: Mapped[int]
    total_sentences: Mapped[int]
    total_word_count: Mapped[int]
    average_words_per_sentence: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    overall_quality_score: Mapped[Decimal | None] = mapped_column(Score)
    empathy_score: Mapped[Decimal | None] = mapped_column(Score)
    clarity_score: Mapped[Decimal | None] = mapped_column(Score)
    appropriateness_score: Mapped[Decimal | None] = mapped_column(Score)
    brand_voice_alignment: Mapped[Decimal | None] = mapped_column(Score)
    computed_score: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    checks: Mapped[list[Any] | None]
    issues: Mapped[list[Any] | None]
    has_complete_emotional_context: Mapped[bool] = mapped_column(server_default="false")
    has_emotional_progression: Mapped[bool] = mapped_column(server_default="false")
    emotional_indicator_count: Mapped[int | None]
    has_primary_strategy: Mapped[bool] = mapped_column(server_default="false")
    has_strategy_rationale: Mapped[bool] = mapped_column(server_default="false")
    technique_count: Mapped[int | None]
    sentences_analyzed: Mapped[int | None]
    sentences_with_word_rationale: Mapped[int | None]
    word_choice_rationale_completeness: Mapped[Decimal | None] = mapped_column(Unit)
    all_required_fields_complete: Mapped[bool] = mapped_column(server_default="false")
    ready_for_training: Mapped[bool] = mapped_column(server_default="false")
    needs_review: Mapped[bool] = mapped_column(server_default="false")
    reviewer_approved: Mapped[bool] = mapped_column(server_default="false")
    reviewer_notes: Mapped[str | None]
    review_date: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
