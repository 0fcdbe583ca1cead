"""Counts of a turn's text that the conversation row stores and the quality metrics share."""

from __future__ import annotations

from .document import TrainingPair


def word_count(text: str) -> int:
    return len(text.split())


def turn_sentence_count(pair: TrainingPair) -> int:
    """The declared sentence count, but never fewer than the sentences actually analysed (a declaration
    below the analysed count is plainly wrong)."""
    breakdown = pair.response_breakdown
    return max(breakdown.total_sentences, len(breakdown.sentences))
