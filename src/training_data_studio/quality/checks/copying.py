"""Does a generated conversation copy its few-shot example? Long runs of words shared with the example.

The prompt shows one or two approved seeds "for their format and voice, never their words"; a model that
lifts whole sentences from them produces a near-duplicate that teaches the fine-tuned model to recite. A
turn fails this check when one of its messages (client or consultant) shares a run of at least
:data:`MIN_COPIED_RUN_WORDS` consecutive words with any message of the examples. The issue says how long
the longest run is, where it starts, and how much of the turn's text such runs cover (the overlap).

Words are compared case-folded with their surrounding punctuation removed, so a copied sentence with a
changed comma or capital still counts. The run length is the evidence: short common phrases ("I hear how
stressful this has been") stay well under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...conversations.document import TrainingPair
from .base import CheckResult, Group, QualityIssue, quoted

KEY = "copies_example"
LABEL = "Does not copy its example"
# Twelve words in a row is a copied sentence, not a shared idiom: measured over our 3 sample seeds and the
# user's 9 approved seeds, two different conversations share at most 8 words in a row.
MIN_COPIED_RUN_WORDS = 12
_STRIP = "\"'“”‘’()[]{}.,;:!?…—–-*_"


def _tokens(text: str) -> list[tuple[str, str]]:
    """(as written, as compared) for every word of ``text`` that is more than punctuation."""
    pairs = ((raw, raw.strip(_STRIP).casefold()) for raw in text.split())
    return [(raw, word) for raw, word in pairs if word]


def words_of(text: str) -> list[str]:
    return [word for _, word in _tokens(text)]


@dataclass(frozen=True, slots=True)
class SharedRun:
    """The longest run of a text found in the example, and how many of the text's words such runs cover."""

    length: int
    start: int
    covered: int
    total: int

    @property
    def overlap(self) -> float:
        return self.covered / self.total if self.total else 0.0


def shared_runs(text: str, example_grams: set[tuple[str, ...]], *, run: int = MIN_COPIED_RUN_WORDS) -> SharedRun:
    """Runs of ``text`` of at least ``run`` words that occur in the example (given as its ``run``-grams)."""
    words = words_of(text)
    covered = [False] * len(words)
    longest, longest_start, current = 0, 0, 0
    for index in range(len(words) - run + 1):
        if tuple(words[index : index + run]) in example_grams:
            covered[index : index + run] = [True] * run
            current += 1
            length = current + run - 1
            if length > longest:
                longest, longest_start = length, index - current + 1
        else:
            current = 0
    return SharedRun(longest, longest_start, sum(covered), len(words))


def example_grams(examples: Sequence[str], *, run: int = MIN_COPIED_RUN_WORDS) -> set[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for text in examples:
        words = words_of(text)
        grams.update(tuple(words[i : i + run]) for i in range(len(words) - run + 1))
    return grams


def copies_example(pairs: Sequence[TrainingPair], examples: Sequence[str]) -> CheckResult:
    """The check over a generated conversation and the texts of the examples its prompt showed (their
    client messages and replies). Not applicable without examples."""
    if not examples:
        return CheckResult(KEY, Group.VOICE, LABEL, None, note="no example was shown")
    grams = example_grams(examples)
    issues: list[QualityIssue] = []
    for pair in pairs:
        for field, text in (("client message", pair.current_user_input), ("reply", pair.reply)):
            found = shared_runs(text, grams)
            if found.length < MIN_COPIED_RUN_WORDS:
                continue
            raw = [written for written, _ in _tokens(text)]
            copied = " ".join(raw[found.start : found.start + found.length])
            issues.append(
                QualityIssue(
                    KEY,
                    f"Turn {pair.turn_number} copies its example: its {field} shares {found.length} words in a "
                    f"row with it ({quoted(copied)}); {found.overlap:.0%} of the {field} is copied",
                    f"Review turn {pair.turn_number}: rewrite it in its own words or regenerate the conversation",
                    turn=pair.turn_number,
                )
            )
    return CheckResult(KEY, Group.VOICE, LABEL, not issues, tuple(issues))
