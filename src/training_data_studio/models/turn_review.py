"""A reviewer's note and flag on one turn (migration 20261202150100_turn_reviews.sql): append-only, the
latest row of a turn is its current state, the earlier ones its audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, uuid_pk


class TurnReview(Base):
    __tablename__ = "turn_reviews"

    id: Mapped[uuid.UUID] = uuid_pk()
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_turns.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_conversations.id", ondelete="CASCADE"))
    turn_number: Mapped[int]
    flagged: Mapped[bool] = mapped_column(server_default="false")
    note: Mapped[str | None]
    reviewer: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
