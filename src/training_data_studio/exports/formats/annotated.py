"""The full annotated records: a JSON array with one single-conversation seed document per conversation,
``{**envelope, "training_pairs": [...]}`` - the same layout the importer reads, every annotation kept.

One array per split (rather than one file per conversation) keeps the export to the same two data files
as the other formats, so the manifest, the checks and the downloads work the same way.
"""

from __future__ import annotations

import copy
from typing import Any

from ...conversations.consultant import CONSULTANT_NAME
from . import ExportConversation, dumps_document

EXTENSION = "json"


def conversation_record(conversation: ExportConversation) -> dict[str, Any]:
    envelope = copy.deepcopy(conversation.envelope)
    # A generated conversation may have no stored envelope; the seed layout needs a consultant profile.
    envelope.setdefault("consultant_profile", {"name": CONSULTANT_NAME})
    return {**envelope, "training_pairs": [pair.to_json_dict() for pair in conversation.pairs]}


def render(conversations: list[ExportConversation]) -> str:
    return dumps_document([conversation_record(conversation) for conversation in conversations])
