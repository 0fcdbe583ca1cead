"""When a conversation may go into a training set: one rule, used by the quality metrics, the review
workflow and the status changes alike."""

from __future__ import annotations

from ..models.enums import ConversationStatus


def is_ready_for_training(*, complete: bool, status: str, is_seed: bool) -> bool:
    """Complete annotation, and approved or a seed example, and not flagged by a reviewer."""
    return complete and status != ConversationStatus.FLAGGED and (status == ConversationStatus.APPROVED or is_seed)
