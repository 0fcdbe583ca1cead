"""Quality metrics computed from a conversation document alone (no database, no clock).

:func:`measure` is what the conversation writer (``conversations/store.py``) is handed by the importer and the
generator: it stores these in ``quality_metrics`` with every quality check, and copies the counts and
self-reported scores onto the conversation row.

Definitions
-----------
* words: whitespace-separated tokens of each ``target_response``;
* sentences of a turn: ``response_breakdown.total_sentences`` as declared, but never fewer than the sentences
  actually analysed (a declaration below the analysed count is plainly wrong: 2 of the real turns do this);
* sentences analysed: the ``response_breakdown.sentences`` entries (one ``response_breakdowns`` row each);
* scores: the document's own ``training_metadata`` scores, averaged over the turns that have them and rounded
  to one decimal (half up); NULL when no turn has one. Never invented.
* complete: every turn has full emotional context (detected emotions, indicators, behavioural assessment,
  client needs), every turn after the first tracks emotional progression, every turn names a primary
  strategy with a rationale, and every analysed sentence has word-choice rationale. A complete
  conversation is ``ready_for_training``; any other ``needs_review``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..conversations.counting import analysed_sentences, turn_sentence_count, word_count
from ..conversations.document import TrainingPair

# The spec's guidance: a sentence's word-choice rationale should explain 3 to 6 words or phrases.
RATIONALE_MIN, RATIONALE_MAX = 3, 6

_ONE_DECIMAL = Decimal("0.1")
_TWO_DECIMALS = Decimal("0.01")


def _average(values: Sequence[float], quantum: Decimal) -> Decimal | None:
    if not values:
        return None
    total = sum((Decimal(str(v)) for v in values), Decimal(0))
    return (total / len(values)).quantize(quantum, rounding=ROUND_HALF_UP)


def _criteria(pair: TrainingPair) -> dict[str, int | float]:
    training = pair.training_metadata
    return training.quality_criteria or {} if training is not None else {}


def _criterion(pairs: Sequence[TrainingPair], key: str) -> Decimal | None:
    values = [_criteria(p)[key] for p in pairs if key in _criteria(p)]
    return _average(values, _ONE_DECIMAL)


def _indicator_phrases(pair: TrainingPair) -> int:
    indicators = (pair.emotional_context.emotional_indicators if pair.emotional_context else None) or {}
    return sum(1 if isinstance(v, str) else len(v) for v in indicators.values())


def _has_complete_emotional_context(pair: TrainingPair) -> bool:
    context = pair.emotional_context
    emotions = context.detected_emotions if context else None
    return (
        context is not None
        and emotions is not None
        and bool(emotions.primary.strip())
        and bool((emotions.valence or "").strip())
        and _indicator_phrases(pair) > 0
        and bool(context.behavioral_assessment)
        and bool(context.client_needs_hierarchy)
    )


def _strategy_text(pair: TrainingPair, name: str) -> str:
    strategy = pair.response_strategy
    return str(getattr(strategy, name) or "") if strategy is not None else ""


@dataclass(frozen=True)
class ConversationMetrics:
    """The ``quality_metrics`` columns this module owns, named as the columns are."""

    total_turns: int
    total_sentences: int
    total_word_count: int
    average_words_per_sentence: Decimal | None
    overall_quality_score: Decimal | None
    empathy_score: Decimal | None
    clarity_score: Decimal | None
    appropriateness_score: Decimal | None
    brand_voice_alignment: Decimal | None
    has_complete_emotional_context: bool
    has_emotional_progression: bool
    emotional_indicator_count: int
    has_primary_strategy: bool
    has_strategy_rationale: bool
    technique_count: int
    sentences_analyzed: int
    sentences_with_word_rationale: int
    word_choice_rationale_completeness: Decimal | None
    all_required_fields_complete: bool
    ready_for_training: bool
    needs_review: bool

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def compute_metrics(pairs: Sequence[TrainingPair]) -> ConversationMetrics:
    """Counts, completeness and the document's own scores for one conversation's pairs (in turn order)."""
    sentences = [s for p in pairs for s in analysed_sentences(p)]
    total_sentences = sum(turn_sentence_count(p) for p in pairs)
    total_words = sum(word_count(p.reply) for p in pairs)
    with_rationale = sum(1 for s in sentences if s.word_choice_rationale)
    in_range = sum(1 for s in sentences if RATIONALE_MIN <= len(s.word_choice_rationale) <= RATIONALE_MAX)

    complete_context = bool(pairs) and all(_has_complete_emotional_context(p) for p in pairs)
    progression = all(bool(p.emotional_context and p.emotional_context.emotional_progression) for p in pairs[1:])
    primary_strategy = bool(pairs) and all(_strategy_text(p, "primary_strategy").strip() for p in pairs)
    rationale = bool(pairs) and all(_strategy_text(p, "primary_rationale").strip() for p in pairs)
    sentences_explained = bool(sentences) and with_rationale == len(sentences)
    complete = complete_context and progression and primary_strategy and rationale and sentences_explained

    average_words = (
        (Decimal(total_words) / Decimal(total_sentences)).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)
        if total_sentences
        else None
    )
    completeness = (
        (Decimal(in_range) / Decimal(len(sentences))).quantize(_TWO_DECIMALS, rounding=ROUND_HALF_UP)
        if sentences
        else None
    )
    return ConversationMetrics(
        total_turns=len(pairs),
        total_sentences=total_sentences,
        total_word_count=total_words,
        average_words_per_sentence=average_words,
        overall_quality_score=_average(
            [
                p.training_metadata.quality_score
                for p in pairs
                if p.training_metadata and p.training_metadata.quality_score
            ],
            _ONE_DECIMAL,
        ),
        empathy_score=_criterion(pairs, "empathy_score"),
        clarity_score=_criterion(pairs, "clarity_score"),
        appropriateness_score=_criterion(pairs, "appropriateness_score"),
        brand_voice_alignment=_criterion(pairs, "brand_voice_alignment"),
        has_complete_emotional_context=complete_context,
        has_emotional_progression=progression,
        emotional_indicator_count=sum(_indicator_phrases(p) for p in pairs),
        has_primary_strategy=primary_strategy,
        has_strategy_rationale=rationale,
        technique_count=sum(len(p.response_strategy.specific_techniques or []) for p in pairs if p.response_strategy),
        sentences_analyzed=len(sentences),
        sentences_with_word_rationale=with_rationale,
        word_choice_rationale_completeness=completeness,
        all_required_fields_complete=complete,
        ready_for_training=complete,
        needs_review=not complete,
    )
