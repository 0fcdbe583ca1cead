"""The "copies its example" check: long runs of words shared with the examples the prompt showed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from training_data_studio.conversations.document import TrainingPair
from training_data_studio.plan.service import SAMPLES_DIR
from training_data_studio.quality.checks.copying import MIN_COPIED_RUN_WORDS, copies_example, words_of


@pytest.fixture(scope="module")
def samples() -> list[list[dict[str, Any]]]:
    return [
        json.loads(path.read_text(encoding="utf-8"))["training_pairs"] for path in sorted(SAMPLES_DIR.glob("*.json"))
    ]


def texts_of(pairs: list[dict[str, Any]]) -> list[str]:
    return [text for pair in pairs for text in (pair["current_user_input"], pair["target_response"])]


def test_a_different_conversation_does_not_copy(samples: list[list[dict[str, Any]]]) -> None:
    pairs = [TrainingPair.model_validate(pair) for pair in samples[0]]
    result = copies_example(pairs, texts_of(samples[1]) + texts_of(samples[2]))
    assert result.passed is True
    assert result.issues == ()


def test_a_copied_sentence_is_flagged_with_the_overlap(samples: list[list[dict[str, Any]]]) -> None:
    example = samples[1][0]["target_response"]
    copied = " ".join(example.split()[:20])  # twenty words lifted from the example, the rest its own
    raw = dict(samples[0][1])
    raw["target_response"] = raw["target_response"] + " " + copied.upper() + "."
    pairs = [TrainingPair.model_validate(samples[0][0]), TrainingPair.model_validate(raw)]
    result = copies_example(pairs, texts_of(samples[1]))
    assert result.passed is False
    [issue] = result.issues
    assert issue.turn == 2
    assert issue.message.startswith("Turn 2 copies its example: its reply shares 20 words in a row with it")
    total = len(words_of(raw["target_response"]))
    assert f"{20 / total:.0%} of the reply is copied" in issue.message


def test_a_run_just_under_the_threshold_is_not_copying(samples: list[list[dict[str, Any]]]) -> None:
    example = samples[1][0]["target_response"]
    raw = dict(samples[0][0])
    raw["target_response"] += " " + " ".join(example.split()[: MIN_COPIED_RUN_WORDS - 1]) + "."
    assert copies_example([TrainingPair.model_validate(raw)], texts_of(samples[1])).passed is True


def test_without_examples_the_check_does_not_apply(samples: list[list[dict[str, Any]]]) -> None:
    result = copies_example([TrainingPair.model_validate(samples[0][0])], [])
    assert result.passed is None
    assert result.note == "no example was shown"
