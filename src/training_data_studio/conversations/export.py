"""Lossless export of one conversation in the single-conversation seed layout.

The export is rebuilt from what the import kept verbatim: the conversation's ``source_envelope`` (the
file-level keys, or for a conversation from a multi-layout file the envelope the document model's
``ConversationDoc`` gives it) and every turn's ``source_json``, in turn order:
``{**source_envelope, "training_pairs": [source_json, ...]}``. For an imported single-conversation file
the result deep-equals the file (key order aside).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.errors import ConflictError, NotFoundError
from ..models import TrainingConversation, TrainingTurn


def find_conversation(*, session: Session, ident: str | uuid.UUID) -> TrainingConversation:
    """A conversation by its row uuid or its conversation_id string."""
    row_id: uuid.UUID | None
    if isinstance(ident, uuid.UUID):
        row_id = ident
    else:
        try:
            row_id = uuid.UUID(ident)
        except ValueError:
            row_id = None
    condition = (
        TrainingConversation.id == row_id if row_id is not None else TrainingConversation.conversation_id == ident
    )
    row = session.scalars(select(TrainingConversation).where(condition)).one_or_none()
    if row is None:
        raise NotFoundError("Conversation", ident)
    return row


def export_document(*, session: Session, row: TrainingConversation) -> dict[str, Any] | None:
    """The single-file layout of a conversation row, or None when it has no turns yet."""
    sources = session.scalars(
        select(TrainingTurn.source_json)
        .where(TrainingTurn.conversation_id == row.id)
        .order_by(TrainingTurn.turn_number)
    ).all()
    if not sources:
        return None
    envelope = copy.deepcopy(row.source_envelope or {})
    envelope.pop("training_pairs", None)
    return {**envelope, "training_pairs": list(sources)}


def export_conversation(*, session: Session, ident: str | uuid.UUID) -> dict[str, Any]:
    """The lossless single-file export of one conversation; 409 when it has no content yet."""
    row = find_conversation(session=session, ident=ident)
    document = export_document(session=session, row=row)
    if document is None:
        raise ConflictError(
            f"Conversation {row.conversation_id} (#{row.conversation_number}) is {row.generation_status} and has "
            "no turns yet: there is nothing to export. Import or generate it first."
        )
    return document
