"""What a check receives and returns.

A check is a pure function of one conversation (:class:`ConversationView`: its training pairs, its tier and
each reply split into sentences once) that returns a :class:`CheckResult`: passed, failed or not
applicable, and for a failure one :class:`QualityIssue` per offending turn or sentence, each naming where to
look and what to do ("Missing emotional indicators" -> "Review turn 2").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from ...conversations.document import TrainingPair
from ..metrics import ConversationMetrics, compute_metrics
from .text import (
    LESSON_DEFINITION,
    LESSON_OPENER,
    LESSON_OPENER_HINTS,
    Sentence,
    is_plain,
    normalise_spaces,
    split_sentences,
    word_count,
)

# One check reports at most this many issues (the rest are counted), so one broken conversation cannot
# flood the dashboard or the quality_metrics row.
MAX_ISSUES_PER_CHECK = 10


class Group(StrEnum):
    COMPLETENESS = "completeness"
    COUNTS = "counts"
    VOICE = "voice"


class Severity(StrEnum):
    FAIL = "fail"  # a failed check
    WARNING = "warning"  # worth a look, not a check (a low self-reported score)


@dataclass(frozen=True, slots=True)
class QualityIssue:
    """A problem and what to do about it, located by turn (and sentence) when it has a place."""

    check: str
    message: str
    action: str
    turn: int | None = None
    sentence: int | None = None
    severity: Severity = Severity.FAIL

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "turn": self.turn,
            "sentence": self.sentence,
            "message": self.message,
            "action": self.action,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """``passed`` is None when the check does not apply to this conversation (``note`` says why)."""

    key: str
    group: Group
    label: str
    passed: bool | None
    issues: tuple[QualityIssue, ...] = ()
    note: str | None = None
    more_issues: int = 0

    @property
    def applicable(self) -> bool:
        return self.passed is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group.value,
            "label": self.label,
            "passed": self.passed,
            "issue_count": len(self.issues) + self.more_issues,
            "note": self.note,
        }


class TurnView:
    """One turn: its pair, and its reply in the forms the checks read (sentences, lower case, word counts,
    the text the sentence analysis is compared with), each computed once, on first use, and shared by
    every check that reads it."""

    def __init__(self, pair: TrainingPair, number: int | None = None) -> None:
        self.pair = pair
        # The exchange's place in the conversation (a file's pair numbers also count its half pairs).
        self.number = pair.turn_number if number is None else number
        self.response = pair.reply
        self.user_input = pair.current_user_input

    @cached_property
    def sentences(self) -> list[Sentence]:
        return split_sentences(self.response)

    @cached_property
    def sentence_lowers(self) -> list[str]:
        """Each sentence's text in lower case (what the lexicons search)."""
        return [sentence.text.lower() for sentence in self.sentences]

    @cached_property
    def sentence_words(self) -> list[int]:
        return [word_count(sentence.text) for sentence in self.sentences]

    @cached_property
    def lower(self) -> str:
        return self.response.lower()

    @cached_property
    def words(self) -> int:
        return word_count(self.response)

    @cached_property
    def analysed_text(self) -> str:
        """The reply as the sentence analysis is compared with it: white space normalised (a double space
        or a line break in the reply is not a difference), the reply itself when that changes nothing."""
        return self.response if is_plain(self.response) else normalise_spaces(self.response)

    @cached_property
    def analysed_sentences(self) -> list[Sentence]:
        """The sentences of :attr:`analysed_text` (a line break ends a sentence of the reply, not of this)."""
        text = self.analysed_text
        return self.sentences if text is self.response else split_sentences(text)

    @cached_property
    def metrics(self) -> ConversationMetrics:
        """The importer's measures of this turn alone (its completeness rules, defined once)."""
        return compute_metrics([self.pair])

    @cached_property
    def lesson_offset(self) -> int | None:
        """Where the reply starts teaching, or None when it does not teach (see voice.py for the rule)."""
        for sentence, lower in zip(self.sentences, self.sentence_lowers, strict=True):
            if LESSON_DEFINITION.match(sentence.text):
                return sentence.start
            for hint in LESSON_OPENER_HINTS:
                if hint in lower:
                    opener = LESSON_OPENER.search(sentence.text, lower)
                    if opener:
                        return sentence.start + opener.start()
                    break
        return None

    def sentence_at(self, offset: int) -> Sentence | None:
        for sentence in self.sentences:
            if sentence.start <= offset < sentence.end:
                return sentence
        return None


@dataclass
class ConversationView:
    """A conversation as the checks see it. ``tier`` is None when unknown (tier rules then do not apply);
    ``metrics`` are the importer's measures of the whole conversation (computed when not given)."""

    pairs: Sequence[TrainingPair]
    tier: str | None = None
    metrics: ConversationMetrics | None = None
    turns: list[TurnView] = field(init=False)

    def __post_init__(self) -> None:
        self.turns = [TurnView(pair, number) for number, pair in enumerate(self.pairs, start=1)]
        if self.metrics is None:
            self.metrics = compute_metrics(self.pairs)

    @property
    def measured(self) -> ConversationMetrics:
        assert self.metrics is not None
        return self.metrics


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check function reports for one offending place; :class:`Check` turns it into an issue."""

    message: str
    action: str
    turn: int | None = None
    sentence: int | None = None


@dataclass(frozen=True, slots=True)
class NotApplicable:
    reason: str


CheckFunction = Callable[[ConversationView], "list[Finding] | NotApplicable"]


@dataclass(frozen=True, slots=True)
class Check:
    """A named check: calling it runs the function and wraps its findings into a :class:`CheckResult`."""

    key: str
    group: Group
    label: str
    run: CheckFunction

    def __call__(self, view: ConversationView) -> CheckResult:
        outcome = self.run(view)
        if isinstance(outcome, NotApplicable):
            return CheckResult(self.key, self.group, self.label, None, note=outcome.reason)
        issues = tuple(
            QualityIssue(self.key, f.message, f.action, turn=f.turn, sentence=f.sentence)
            for f in outcome[:MAX_ISSUES_PER_CHECK]
        )
        return CheckResult(
            self.key,
            self.group,
            self.label,
            not outcome,
            issues,
            more_issues=max(0, len(outcome) - MAX_ISSUES_PER_CHECK),
        )


def quoted(text: str, limit: int = 60) -> str:
    """A short quotation of ``text`` for an issue message."""
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1].rstrip() + '…'}”"
