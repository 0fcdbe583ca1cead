"""Counts of a turn's text that the conversation row stores and the quality metrics share."""

from __future__ import annotations

import re

from .document import SentenceAnalysis, TrainingPair

# A sentence ends at . ! or ? (repeated, maybe followed by a closing quote or bracket) before white space or
# the end; the rest of the text after the last end is one more sentence.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")


def word_count(text: str) -> int:
    return len(text.split())


def reply_sentence_count(text: str) -> int:
    """Sentences of a reply that has no sentence analysis (a lean pair): a plain count of sentence ends."""
    stripped = text.strip()
    if not stripped:
        return 0
    ends = list(_SENTENCE_END.finditer(stripped))
    trailing = bool(ends) and ends[-1].end() < len(stripped)
    return len(ends) + int(trailing or not ends)


def turn_sentence_count(pair: TrainingPair) -> int:
    """The declared sentence count, but never fewer than the sentences actually analysed (a declaration
    below the analysed count is plainly wrong); a pair without a breakdown counts its reply's sentences."""
    breakdown = pair.response_breakdown
    if breakdown is None:
        return reply_sentence_count(pair.reply)
    return max(breakdown.total_sentences, len(breakdown.sentences))


def analysed_sentences(pair: TrainingPair) -> list[SentenceAnalysis]:
    """The pair's sentence analyses; none for a lean pair."""
    return pair.response_breakdown.sentences if pair.response_breakdown is not None else []
