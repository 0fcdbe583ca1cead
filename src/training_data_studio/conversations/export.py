"""Lossless export of one conversation in the single-conversation seed layout.

The export is rebuilt from what the import kept verbatim: the conversation's ``source_envelope`` (the
file-level keys, or for a conversation from a multi-layout file the envelope the document model's
``ConversationDoc`` gives it) and every turn's ``source_json``, in turn order:
``{**source_envelope, "training_pairs": [source_json, ...]}``. A turn merged from a half pair gives back
both pairs (``source_half_pairs`` first), and a conversation that ends on a client message gives back its
``open_ending`` pairs last. For an imported single-conversation file the result deep-equals the file (key
order aside); for a conversation of a multi-conversation file, its block.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..core.errors import ConflictError, NotFoundError
from ..models import TrainingConversation, TrainingTurn


def find_conversation(*, session: Session, ident: str | uuid.UUID) -> TrainingConversation:
    """A conversation by its row uuid, its conversation_id or the id its source file gave it."""
    row_id: uuid.UUID | None
    if isinstance(ident, uuid.UUID):
        row_id = ident
    else:
        try:
            row_id = uuid.UUID(ident)
        except ValueError:
            row_id = None
    # The user's later files key conversations by UUIDs: a UUID may be a row id, a conversation_id or the
    # file's id of a plan slot it filled (source_conversation_id).
    by_name = or_(
        TrainingConversation.conversation_id == str(ident), TrainingConversation.source_conversation_id == str(ident)
    )
    condition = or_(TrainingConversation.id == row_id, by_name) if row_id is not None else by_name
    row = session.scalars(select(TrainingConversation).where(condition)).one_or_none()
    if row is None:
        raise NotFoundError("Conversation", ident)
    return row


def export_document(*, session: Session, row: TrainingConversation) -> dict[str, Any] | None:
    """The single-file layout of a conversation row, or None when it has no turns yet."""
    turns = session.execute(
        select(TrainingTurn.source_json, TrainingTurn.source_half_pairs)
        .where(TrainingTurn.conversation_id == row.id)
        .order_by(TrainingTurn.turn_number)
    ).all()
    if not turns:
        return None
    pairs: list[Any] = []
    for source, halves in turns:
        pairs.extend(halves or [])
        pairs.append(source)
    pairs.extend(row.open_ending or [])
    envelope = copy.deepcopy(row.source_envelope or {})
    envelope.pop("training_pairs", None)
    return {**envelope, "training_pairs": pairs}


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
