"""What the conversation writer is handed to measure a document: counts, self-reported scores and every
quality check, computed once, as the conversation row and its ``quality_metrics`` row store them."""

from __future__ import annotations

from ..conversations.document import ConversationDoc
from ..conversations.store import Measured
from .checks import QualityEvaluation, evaluate
from .metrics import ConversationMetrics, compute_metrics


def measure_document(doc: ConversationDoc, *, tier: str, status: str, is_seed: bool) -> Measured:
    """The :class:`~training_data_studio.conversations.store.Measure` that import and generation pass to
    ``save_conversation``."""
    metrics = compute_metrics(doc.pairs)
    return measured(metrics, evaluate(doc.pairs, tier=tier, status=status, is_seed=is_seed, metrics=metrics))


def measured(metrics: ConversationMetrics, evaluation: QualityEvaluation) -> Measured:
    """The conversation columns and the quality_metrics row of an evaluation."""
    return Measured(
        conversation_columns={
            "turn_count": metrics.total_turns,
            "total_sentences": metrics.total_sentences,
            "total_word_count": metrics.total_word_count,
            "quality_score": metrics.overall_quality_score,
            "empathy_score": metrics.empathy_score,
            "clarity_score": metrics.clarity_score,
            "appropriateness_score": metrics.appropriateness_score,
            "brand_voice_score": metrics.brand_voice_alignment,
        },
        quality_row=evaluation.as_row(),
    )
