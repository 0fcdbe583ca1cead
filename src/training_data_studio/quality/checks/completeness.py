"""Completeness: is every part of the annotation there, turn by turn?

The per-turn rules for the emotional context and the strategy are those of ``quality/metrics.py`` (one
definition, whose conversation-level booleans the importer stores): when the conversation falls short, each
turn is measured with ``compute_metrics([pair])`` (:attr:`TurnView.metrics`) and these checks add where the
gap is and what is missing. Two rules are stricter than the importer's and exist only here:

* every sentence of a reply is analysed: the breakdown's sentence texts, found in the reply in order,
  cover all of it (whitespace aside); a reply sentence none of them covers is "not analysed";
* each analysed sentence explains 3 to 6 words or phrases (``RATIONALE_MIN``..``RATIONALE_MAX``).
"""

from __future__ import annotations

import re

from ...conversations.document import TrainingPair
from ..metrics import RATIONALE_MAX, RATIONALE_MIN
from .base import Check, ConversationView, Finding, Group, TurnView, quoted
from .text import is_plain, normalise_spaces

# A word character that is not "_": exactly the characters for which str.isalnum() is true.
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def _missing_context_parts(pair: TrainingPair) -> list[str]:
    context = pair.emotional_context
    if context is None:
        return ["emotional context"]
    missing = []
    emotions = context.detected_emotions
    if emotions is None or not emotions.primary.strip() or not (emotions.valence or "").strip():
        missing.append("detected emotions")
    indicators = context.emotional_indicators or {}
    phrases = sum(1 if isinstance(v, str) and v.strip() else len(v) for v in indicators.values())
    if phrases == 0:
        missing.append("emotional indicators")
    if not context.behavioral_assessment:
        missing.append("behavioural assessment")
    if not context.client_needs_hierarchy:
        missing.append("client needs")
    return missing


def annotation_blocks_present(view: ConversationView) -> list[Finding]:
    """A lean conversation (the user's later pipeline writes only detected emotions) is imported as it is:
    this check names, turn by turn, the annotation blocks it lacks, so that it shows as lean and needs
    review instead of passing for a fully annotated one."""
    findings = []
    for turn in view.turns:
        missing = turn.pair.missing_blocks()
        if missing:
            findings.append(
                Finding(
                    f"Lean annotation on turn {turn.number}: no {', '.join(missing)}",
                    f"Annotate turn {turn.number}: add {', '.join(missing)} (or regenerate the conversation)",
                    turn=turn.number,
                )
            )
    return findings


def emotional_context_complete(view: ConversationView) -> list[Finding]:
    if view.measured.has_complete_emotional_context:  # every turn is: no need to measure them one by one
        return []
    findings = []
    for turn in view.turns:
        if turn.metrics.has_complete_emotional_context:
            continue
        parts = _missing_context_parts(turn.pair) or ["part of the emotional context"]
        findings.append(
            Finding(
                f"Missing {' and '.join(parts)} on turn {turn.number}",
                f"Review turn {turn.number}: name the emotions, quote the client's phrases that show them, "
                "assess behaviour and rank the client's needs",
                turn=turn.number,
            )
        )
    return findings


def emotional_progression_tracked(view: ConversationView) -> list[Finding]:
    return [
        Finding(
            f"Emotional progression not tracked on turn {turn.number}",
            f"Review turn {turn.number}: record the previous and current emotion with their intensities",
            turn=turn.number,
        )
        for turn in view.turns[1:]
        if turn.pair.emotional_context is None or not turn.pair.emotional_context.emotional_progression
    ]


def primary_strategy_with_rationale(view: ConversationView) -> list[Finding]:
    if view.measured.has_primary_strategy and view.measured.has_strategy_rationale:
        return []
    findings = []
    for turn in view.turns:
        metrics = turn.metrics
        if metrics.has_primary_strategy and metrics.has_strategy_rationale:
            continue
        missing = "primary strategy" if not metrics.has_primary_strategy else "strategy rationale"
        findings.append(
            Finding(
                f"Missing {missing} on turn {turn.number}",
                f"Review turn {turn.number}: name the primary strategy and say why it fits this moment",
                turn=turn.number,
            )
        )
    return findings


def _uncovered_letter(reply: str, covered: bytearray, start: int, end: int) -> bool:
    """Whether a letter or digit of ``reply[start:end]`` is not covered (``start`` is an uncovered position).
    Run by run of uncovered positions; the pattern is exactly ``str.isalnum``."""
    while start >= 0:
        stop = covered.find(1, start, end)
        if stop < 0:
            stop = end
        if _LETTER_OR_DIGIT.search(reply, start, stop):
            return True
        start = covered.find(0, stop, end)
    return False


def _coverage_findings(turn: TurnView) -> list[Finding]:
    number, pair = turn.number, turn.pair
    # Whitespace is normalised only where it would matter (a double space, a line break): the common case
    # of texts copied exactly is found as is.
    reply = turn.analysed_text
    covered = bytearray(len(reply))
    findings = []
    cursor = 0
    if pair.response_breakdown is None:
        return [
            Finding(
                f"Turn {number} has no sentence analysis",
                f"Analyze sentences: add the response_breakdown of turn {number}",
                turn=number,
            )
        ]
    for analysed in pair.response_breakdown.sentences:
        text = analysed.text if is_plain(analysed.text) else normalise_spaces(analysed.text)
        at = reply.find(text, cursor)
        if at < 0:
            at = reply.find(text)
        if at < 0:
            findings.append(
                Finding(
                    f"Analysed sentence {analysed.sentence_number} of turn {number} is not in the reply "
                    f"({quoted(text)})",
                    f"Correct sentence {analysed.sentence_number} of turn {number} to quote the reply exactly",
                    turn=number,
                    sentence=analysed.sentence_number,
                )
            )
            continue
        covered[at : at + len(text)] = b"\x01" * len(text)
        cursor = at + len(text)
    for sentence in turn.analysed_sentences:
        gap = covered.find(0, sentence.start, sentence.end)
        if gap >= 0 and _uncovered_letter(reply, covered, gap, sentence.end):
            findings.append(
                Finding(
                    f"Incomplete sentence analysis: sentence {sentence.number} of turn {number} is not analysed "
                    f"({quoted(sentence.text)})",
                    f"Analyze sentences: add sentence {sentence.number} of turn {number} to its breakdown",
                    turn=number,
                    sentence=sentence.number,
                )
            )
    return findings


def all_sentences_analysed(view: ConversationView) -> list[Finding]:
    return [finding for turn in view.turns for finding in _coverage_findings(turn)]


def word_choice_rationales(view: ConversationView) -> list[Finding]:
    findings = []
    for turn in view.turns:
        breakdown = turn.pair.response_breakdown
        for analysed in breakdown.sentences if breakdown else ():
            count = len(analysed.word_choice_rationale)
            if RATIONALE_MIN <= count <= RATIONALE_MAX:
                continue
            verb = "Add" if count < RATIONALE_MIN else "Keep the strongest"
            findings.append(
                Finding(
                    f"Sentence {analysed.sentence_number} of turn {turn.number} explains {count} word choices "
                    f"({RATIONALE_MIN}–{RATIONALE_MAX} expected)",
                    f"{verb} word-choice rationales for sentence {analysed.sentence_number} of turn {turn.number} "
                    f"({RATIONALE_MIN}–{RATIONALE_MAX})",
                    turn=turn.number,
                    sentence=analysed.sentence_number,
                )
            )
    return findings


CHECKS = (
    Check("annotation_blocks_present", Group.COMPLETENESS, "Annotation blocks present", annotation_blocks_present),
    Check("emotional_context_complete", Group.COMPLETENESS, "Complete emotional context", emotional_context_complete),
    Check(
        "emotional_progression_tracked",
        Group.COMPLETENESS,
        "Emotional progression tracked",
        emotional_progression_tracked,
    ),
    Check(
        "primary_strategy_with_rationale",
        Group.COMPLETENESS,
        "Primary strategy with rationale",
        primary_strategy_with_rationale,
    ),
    Check("all_sentences_analysed", Group.COMPLETENESS, "All sentences analysed", all_sentences_analysed),
    Check(
        "word_choice_rationales",
        Group.COMPLETENESS,
        f"Word choice rationales ({RATIONALE_MIN}–{RATIONALE_MAX} per sentence)",
        word_choice_rationales,
    ),
)
