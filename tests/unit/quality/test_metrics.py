"""Quality metrics: a pure function of the conversation document."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.helpers.documents import make_conversation, make_single_file
from tests.helpers.seed_files import UPSTREAM_GOOD
from training_data_studio.conversations.document import SeedFile, TrainingPair, group_conversations
from training_data_studio.quality.metrics import compute_metrics


def _pairs(pairs: list[dict[str, object]]) -> list[TrainingPair]:
    return SeedFile.model_validate(make_single_file(pairs)).training_pairs or []


def test_counts_and_averages() -> None:
    raw = make_conversation("conv_a", 3)
    raw[0]["training_metadata"]["quality_score"] = 5
    raw[1]["training_metadata"]["quality_score"] = 4
    raw[2]["training_metadata"]["quality_score"] = 4  # mean 4.333.. -> 4.3
    raw[0]["training_metadata"]["quality_criteria"] = {"empathy_score": 5, "brand_voice_alignment": 4}
    raw[1]["training_metadata"]["quality_criteria"] = {"empathy_score": 4}
    raw[2]["training_metadata"]["quality_criteria"] = {}
    metrics = compute_metrics(_pairs(raw))

    words_per_turn = len(raw[0]["target_response"].split())  # type: ignore[union-attr]
    assert metrics.total_turns == 3
    assert metrics.total_sentences == 6
    assert metrics.sentences_analyzed == 6
    assert metrics.total_word_count == 3 * words_per_turn
    assert metrics.average_words_per_sentence == (Decimal(3 * words_per_turn) / 6).quantize(Decimal("0.1"))
    assert metrics.overall_quality_score == Decimal("4.3")
    assert metrics.empathy_score == Decimal("4.5")  # averaged over the turns that have it
    assert metrics.brand_voice_alignment == Decimal("4.0")
    assert metrics.clarity_score is None  # no turn has it: never invented
    assert metrics.appropriateness_score is None


def test_half_up_rounding() -> None:
    raw = make_conversation("conv_a", 2)
    raw[0]["training_metadata"]["quality_score"] = 4
    raw[1]["training_metadata"]["quality_score"] = 4.5  # mean 4.25 -> 4.3
    assert compute_metrics(_pairs(raw)).overall_quality_score == Decimal("4.3")


def test_a_complete_conversation_is_ready_for_training() -> None:
    raw = make_conversation("conv_a", 2)
    raw[1]["emotional_context"]["emotional_progression"] = {"previous_turn_primary": "worry", "trajectory": "up"}
    metrics = compute_metrics(_pairs(raw))
    assert metrics.has_complete_emotional_context
    assert metrics.has_emotional_progression
    assert metrics.has_primary_strategy
    assert metrics.has_strategy_rationale
    assert metrics.all_required_fields_complete
    assert metrics.ready_for_training
    assert not metrics.needs_review


def test_missing_progression_after_turn_1_needs_review() -> None:
    metrics = compute_metrics(_pairs(make_conversation("conv_a", 2)))
    assert not metrics.has_emotional_progression
    assert metrics.needs_review
    assert not metrics.ready_for_training


def test_a_single_turn_needs_no_progression() -> None:
    assert compute_metrics(_pairs(make_conversation("conv_a", 1))).has_emotional_progression


def test_empty_indicators_make_the_context_incomplete() -> None:
    raw = make_conversation("conv_a", 1)
    raw[0]["emotional_context"]["emotional_indicators"] = {}
    metrics = compute_metrics(_pairs(raw))
    assert not metrics.has_complete_emotional_context
    assert metrics.emotional_indicator_count == 0
    assert metrics.needs_review


def test_rationale_completeness_is_the_share_of_sentences_with_3_to_6_entries() -> None:
    raw = make_conversation("conv_a", 1)
    sentences = raw[0]["response_breakdown"]["sentences"]
    sentences[0]["word_choice_rationale"] = {f"w{i}": "why" for i in range(3)}
    sentences[1]["word_choice_rationale"] = {f"w{i}": "why" for i in range(7)}
    metrics = compute_metrics(_pairs(raw))
    assert metrics.sentences_with_word_rationale == 2
    assert metrics.word_choice_rationale_completeness == Decimal("0.50")


def test_a_declared_sentence_count_below_the_analysed_count_is_not_believed() -> None:
    raw = make_conversation("conv_a", 1)
    raw[0]["response_breakdown"]["total_sentences"] = 1  # 2 are analysed
    assert compute_metrics(_pairs(raw)).total_sentences == 2
    raw[0]["response_breakdown"]["total_sentences"] = 9  # only key sentences analysed
    assert compute_metrics(_pairs(raw)).total_sentences == 9


def test_the_real_files_are_complete_and_score_5(upstream_seeds: Path) -> None:
    for name in UPSTREAM_GOOD:
        document = json.loads((upstream_seeds / name).read_text(encoding="utf-8"))
        (doc,) = group_conversations(SeedFile.model_validate(document))
        metrics = compute_metrics(doc.pairs)
        assert metrics.ready_for_training, name
        assert metrics.overall_quality_score == Decimal("5.0")
        assert metrics.sentences_analyzed == sum(len(p.response_breakdown.sentences) for p in doc.pairs)
