"""Which conversations a command names: by id or number, or every remaining planned one in process-all
order (Tier 1, 2, 3, then by number)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..core.errors import AppError
from ..models import TrainingConversation
from ..models.enums import ConversationStatus

TIER_ORDER = {"tier1_template": 1, "tier2_scenario": 2, "tier3_edge": 3}
MAX_CONVERSATION_NUMBER = 2**31 - 1  # conversation_number is an int4


def tier_rank() -> Any:
    return case(TIER_ORDER, value=TrainingConversation.tier, else_=9)


def _as_number(ident: str) -> int | None:
    """A conversation number (a positive PostgreSQL integer) written in ASCII digits, else None."""
    if not (ident.isascii() and ident.isdigit() and len(ident) <= 10):
        return None
    number = int(ident)
    return number if number <= MAX_CONVERSATION_NUMBER else None


def resolve_conversations(session: Session, idents: Sequence[str]) -> list[TrainingConversation]:
    """Conversations by conversation_id or number, in the order given; unknown ones are an error."""
    numbers = [n for n in map(_as_number, idents) if n is not None]
    # Text PostgreSQL cannot hold (U+0000) names no conversation: it is left out of the query, reported unknown.
    names = [i for i in idents if _as_number(i) is None and "\x00" not in i]
    rows = session.scalars(
        select(TrainingConversation).where(
            TrainingConversation.conversation_id.in_(names) | TrainingConversation.conversation_number.in_(numbers)
        )
    ).all()
    by_key: dict[str, TrainingConversation] = {}
    for row in rows:
        by_key[row.conversation_id] = row
        by_key[str(row.conversation_number)] = row
    missing = [i for i in idents if i not in by_key]
    if missing:
        raise AppError(
            "unknown_conversation",
            f"No conversation with id or number {', '.join(missing[:10])}.",
            status=404,
            fields={"conversation_ids": "unknown: " + ", ".join(missing[:10])},
        )
    return [by_key[i] for i in idents]


def remaining_conversations(session: Session, *, include_seed_slots: bool = False) -> list[TrainingConversation]:
    """Planned conversations in process-all order: Tier 1, 2, 3, then by number. Seed slots (planned rows the
    plan reserves for the user's own seed files) are left out unless asked for: importing the file fills them."""
    conditions = [TrainingConversation.generation_status == ConversationStatus.PLANNED]
    if not include_seed_slots:
        conditions.append(TrainingConversation.is_seed_example.is_(False))
    return list(
        session.scalars(
            select(TrainingConversation)
            .where(*conditions)
            .order_by(tier_rank(), TrainingConversation.conversation_number)
        )
    )


def seed_slot_count(session: Session) -> int:
    """Planned seed rows: each waits for its seed file to be imported, or for the user to generate it."""
    count = session.scalar(
        select(func.count())
        .select_from(TrainingConversation)
        .where(
            TrainingConversation.generation_status == ConversationStatus.PLANNED,
            TrainingConversation.is_seed_example.is_(True),
        )
    )
    return int(count or 0)


def failed_conversations(session: Session) -> list[TrainingConversation]:
    """Every conversation whose last generation failed, by number: what "retry all failed" generates again."""
    return list(
        session.scalars(
            select(TrainingConversation)
            .where(TrainingConversation.generation_status == ConversationStatus.FAILED)
            .order_by(TrainingConversation.conversation_number)
        )
    )
