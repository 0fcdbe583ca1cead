"""Canonical valence and pacing: the spec's three filterable values, derived from the free text of the seed
files (most real turns say things like ``mixed_positive_and_anxious`` or ``moderate_educational``). The
original wording is stored beside the canonical value, so nothing is lost.

Pure functions, no I/O: the importer and the generator both use them.
"""

from __future__ import annotations

import re
from typing import Literal

Valence = Literal["positive", "negative", "mixed"]
Pacing = Literal["slow", "moderate", "fast"]

# First words that carry a clear valence when the text names none of positive/negative/mixed.
NEGATIVE_WORDS = frozenset(
    {
        "afraid",
        "angry",
        "anxious",
        "apprehensive",
        "ashamed",
        "concerned",
        "confused",
        "defeated",
        "defensive",
        "desperate",
        "discouraged",
        "distressed",
        "embarrassed",
        "fearful",
        "frustrated",
        "guilty",
        "hopeless",
        "hurt",
        "insecure",
        "nervous",
        "overwhelmed",
        "panicked",
        "resentful",
        "sad",
        "scared",
        "skeptical",
        "stressed",
        "tense",
        "troubled",
        "uneasy",
        "upset",
        "worried",
    }
)
POSITIVE_WORDS = frozenset(
    {
        "calm",
        "cheerful",
        "confident",
        "content",
        "determined",
        "eager",
        "empowered",
        "encouraged",
        "energized",
        "enthusiastic",
        "excited",
        "grateful",
        "happy",
        "hopeful",
        "motivated",
        "optimistic",
        "proud",
        "reassured",
        "relieved",
        "satisfied",
        "thankful",
    }
)
_WORD = re.compile(r"[a-z]+")


def canonical_valence(text: str) -> Valence:
    """'mixed' if the text says mixed; else 'positive' / 'negative' if it says so (positive wins, as in
    ``positive_with_practical_anxiety``); else the first word looked up in a small lexicon; else 'mixed'."""
    lowered = text.lower()
    if "mixed" in lowered:
        return "mixed"
    if "positive" in lowered:
        return "positive"
    if "negative" in lowered:
        return "negative"
    first = _WORD.search(lowered)
    if first:
        if first.group() in NEGATIVE_WORDS:
            return "negative"
        if first.group() in POSITIVE_WORDS:
            return "positive"
    return "mixed"


def canonical_pacing(text: str) -> Pacing:
    """'slow' if the text says slow; 'fast' if it says fast, efficient or quick; else 'moderate'."""
    lowered = text.lower()
    if "slow" in lowered:
        return "slow"
    if any(word in lowered for word in ("fast", "efficient", "quick")):
        return "fast"
    return "moderate"
