"""Which plan slot a conversation of the user's later files fills, by its scaffolding.

A v4 conversation is keyed by its own UUID, which no plan row carries. When no row has that id, a planned row
(nothing generated or imported yet) whose persona, emotional arc and topic fit the conversation's scaffolding
is filled by it, and remembers the file's id in ``source_conversation_id`` (so a re-import finds it). A fit
needs all three:

* persona: the plan's ``persona_type`` is the scaffolding's persona (first word of its name, or its archetype
  key: ``conversations.store.persona_type_of``);
* arc: the plan's ``tier_template`` is the scaffolding's ``emotional_arc_key``;
* topic: the plan's ``topic_category`` and the scaffolding's topic name (or its key, read as words) share their
  words: one's words all appear in the other's.

Without a fit the conversation is stored outside the plan (tagged with its source file and scaffolding). The
first fitting slot by conversation number is taken; two conversations of one run never take the same slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..conversations.document import ConversationDoc
from ..conversations.store import persona_type_of
from ..models import TrainingConversation

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str | None) -> set[str]:
    return set(_WORD.findall((text or "").lower().replace("_", " ")))


def arc_key(doc: ConversationDoc) -> str | None:
    """The emotional arc a doc can be matched on (None: it carries no scaffolding to match by)."""
    scaffolding = doc.scaffolding()
    if not scaffolding.get("emotional_arc_key"):
        return None
    if not (scaffolding.get("training_topic") or scaffolding.get("training_topic_key")):
        return None
    return scaffolding["emotional_arc_key"]


def topic_fits(topic_category: str, scaffolding: Mapping[str, str]) -> bool:
    planned = _words(topic_category)
    for name in (scaffolding.get("training_topic"), scaffolding.get("training_topic_key")):
        words = _words(name)
        if words and planned and (words <= planned or planned <= words):
            return True
    return False


def fits(row: TrainingConversation, doc: ConversationDoc) -> bool:
    scaffolding = doc.scaffolding()
    persona = persona_type_of(scaffolding.get("persona_name", ""), scaffolding.get("persona_key"))
    return (
        row.persona_type == persona
        and row.tier_template == scaffolding.get("emotional_arc_key")
        and topic_fits(row.topic_category, scaffolding)
    )


def plan_slot(
    doc: ConversationDoc, candidates: Iterable[TrainingConversation], taken: set[object]
) -> TrainingConversation | None:
    """The first planned row (by number) that fits ``doc`` and is not in ``taken``; it is added to ``taken``."""
    for row in sorted(candidates, key=lambda candidate: candidate.conversation_number):
        if row.id not in taken and fits(row, doc):
            taken.add(row.id)
            return row
    return None
