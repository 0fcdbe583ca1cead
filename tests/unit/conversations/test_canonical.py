"""Canonical valence and pacing: every value that occurs in the real and sample files, and the rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.seed_files import UPSTREAM_GOOD
from training_data_studio.conversations.canonical import canonical_pacing, canonical_valence

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"

# Every valence in upstream files 01-09 and our samples, with the canonical value it must get.
EXPECTED_VALENCE = {
    "concerned_but_rational": "negative",  # lexicon: first word
    "mixed_improving": "mixed",
    "mixed_leaning_positive": "mixed",
    "mixed_more_engaged": "mixed",
    "mixed_more_positive": "mixed",
    "mixed_negative_but_improving": "mixed",
    "mixed_positive": "mixed",
    "mixed_positive_and_anxious": "mixed",
    "negative": "negative",
    "negative_but_action_oriented": "negative",
    "negative_but_engaged": "negative",
    "negative_but_more_engaged": "negative",
    "negative_but_more_grounded": "negative",
    "negative_complex": "negative",
    "negative_defensive": "negative",
    "negative_with_emerging_engagement": "negative",
    "positive": "positive",
    "positive_planning": "positive",
    "positive_with_practical_anxiety": "positive",
    "positive_with_practical_concern": "positive",
    "positive_with_questions": "positive",
    "positive_with_realistic_concern": "positive",
    "positive_with_residual_caution": "positive",
    "positive_with_residual_worry": "positive",
}
EXPECTED_PACING = {
    "closing_positive_forward_momentum": "moderate",
    "confident_forward_momentum": "moderate",
    "efficient_celebratory": "fast",
    "efficient_closing": "fast",
    "forward_moving_with_closure": "moderate",
    "measured_one_concept_at_a_time": "moderate",
    "moderate": "moderate",
    "moderate_action_oriented": "moderate",
    "moderate_affirm_then_one_forward_step": "moderate",
    "moderate_building_structure": "moderate",
    "moderate_celebrate_then_teach": "moderate",
    "moderate_detailed": "moderate",
    "moderate_direct": "moderate",
    "moderate_educational": "moderate",
    "moderate_emotional_then_practical": "moderate",
    "moderate_forward_momentum": "moderate",
    "moderate_step_by_step": "moderate",
    "moderate_structured": "moderate",
    "moderate_teach_in_steps": "moderate",
    "moderate_with_clear_verdict": "moderate",
    "slow_emotional_first": "slow",
    "slow_emotional_first_then_structure": "slow",
    "slow_emotional_safety_first": "slow",
    "slow_foundational": "slow",
    "slow_gentle": "slow",
    "slow_trust_building": "slow",
}


def _values(files: list[Path]) -> tuple[set[str], set[str]]:
    valences, pacings = set(), set()
    for path in files:
        for pair in json.loads(path.read_text(encoding="utf-8"))["training_pairs"]:
            valences.add(pair["emotional_context"]["detected_emotions"]["valence"])
            pacings.add(pair["response_strategy"]["pacing"])
    return valences, pacings


@pytest.mark.parametrize(("text", "expected"), sorted(EXPECTED_VALENCE.items()))
def test_valence_of_every_value_in_the_files(text: str, expected: str) -> None:
    assert canonical_valence(text) == expected


@pytest.mark.parametrize(("text", "expected"), sorted(EXPECTED_PACING.items()))
def test_pacing_of_every_value_in_the_files(text: str, expected: str) -> None:
    assert canonical_pacing(text) == expected


def test_the_tables_cover_every_value_of_the_real_files(upstream_seeds: Path) -> None:
    valences, pacings = _values([upstream_seeds / name for name in UPSTREAM_GOOD])
    assert valences <= EXPECTED_VALENCE.keys()
    assert pacings <= EXPECTED_PACING.keys()


def test_the_tables_cover_every_value_of_our_samples() -> None:
    valences, pacings = _values(sorted(SAMPLES.glob("*.json")))
    assert valences <= EXPECTED_VALENCE.keys()
    assert pacings <= EXPECTED_PACING.keys()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mixed", "mixed"),
        ("very_positive", "positive"),
        ("positive_shift", "positive"),
        ("anxious_but_hopeful", "negative"),
        ("hopeful", "positive"),
        ("Relieved and calmer", "positive"),
        ("worried", "negative"),
        ("ashamed_and_stuck", "negative"),
        ("neutral", "mixed"),
        ("curious", "mixed"),
        ("", "mixed"),
    ],
)
def test_valence_rules(text: str, expected: str) -> None:
    assert canonical_valence(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SLOW", "slow"),
        ("slow_but_efficient", "slow"),
        ("quick_wrap_up", "fast"),
        ("fast", "fast"),
        ("efficient_warm_closing", "fast"),
        ("moderate_to_detailed", "moderate"),
        ("anything else", "moderate"),
    ],
)
def test_pacing_rules(text: str, expected: str) -> None:
    assert canonical_pacing(text) == expected
