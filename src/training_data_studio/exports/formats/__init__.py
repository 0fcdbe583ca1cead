"""What every export format starts from: the selected conversations, and the chat examples built from them.

A conversation's turns are its training pairs exactly as stored (``training_turns.source_json``, parsed with
the document model). A chat example is the system prompt followed by alternating user / assistant messages:
user = ``current_user_input``, assistant = ``target_response``.

Modes
-----
* ``per-conversation``: one example per conversation, every turn in order (system prompt of turn 1).
* ``per-turn``: one example per turn: that turn's system prompt, the earlier turns in full (the real
  inputs and responses, not the abbreviated ``conversation_history`` summaries), then the turn itself.

Weights (chat-jsonl only, OpenAI's per-message ``weight``)
---------------------------------------------------------
The conversation's weight is 1 unless the option excludes it: ``seeds-only`` keeps only hand-authored
seed conversations (``is_seed_example``), ``approved-turns`` only approved ones, ``all`` keeps every one.
Per-conversation: every assistant message carries the conversation's weight (no ``weight`` key at all when
no option is given). Per-turn: the earlier assistant messages are context and carry 0; the final one
carries the conversation's weight (1 when no option is given).

Serialisation
-------------
Keys sorted, ``ensure_ascii=False``, ``\\n`` line endings and a final newline, so the same data always
gives the same bytes.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ...conversations.document import TrainingPair
from ..schemas import ExportMode, WeightsOption

Role = Literal["system", "user", "assistant"]

# Without a tokenizer for the target model (none is shipped, nothing is downloaded), tokens are
# estimated as ceil(characters / 4): the usual rule of thumb for English text with BPE tokenizers.
CHARS_PER_TOKEN = 4
TOKEN_ESTIMATE_METHOD = "ceil(characters / 4) over every message's content"


@dataclass(frozen=True, slots=True)
class ExportConversation:
    """One selected conversation: its identity, what the manifest counts, and its turns in order."""

    conversation_id: str
    conversation_number: int
    persona_type: str
    tier: str
    status: str
    is_seed_example: bool
    template_id: str | None
    template_version: int | None
    generation_model: str | None
    envelope: dict[str, Any]
    pairs: list[TrainingPair] = field(default_factory=list)
    # What the v4 layout also needs (the row's identity and its plan columns); the other formats ignore it.
    row_id: uuid.UUID | None = None
    persona_name: str = ""
    persona_description: str | None = None
    tier_template: str | None = None
    starting_emotion: str | None = None
    ending_emotion: str | None = None
    topic_category: str = ""
    human_reviewed: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str
    weight: int | None = None


@dataclass(frozen=True, slots=True)
class Example:
    example_id: str
    conversation_id: str
    messages: list[Message]

    @property
    def system(self) -> str | None:
        return self.messages[0].content if self.messages and self.messages[0].role == "system" else None

    @property
    def dialogue(self) -> list[Message]:
        return [m for m in self.messages if m.role != "system"]


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def example_tokens(contents: list[str]) -> int:
    """The token estimate of one example: its message contents counted together."""
    return estimate_tokens("".join(contents))


def conversation_weight(conversation: ExportConversation, weights: WeightsOption | None) -> int:
    if weights is WeightsOption.SEEDS_ONLY:
        return 1 if conversation.is_seed_example else 0
    if weights is WeightsOption.APPROVED_TURNS:
        return 1 if conversation.status == "approved" else 0
    return 1


def build_examples(
    conversation: ExportConversation, mode: ExportMode, weights: WeightsOption | None = None
) -> list[Example]:
    pairs = conversation.pairs
    final_weight = conversation_weight(conversation, weights)
    if mode is ExportMode.PER_CONVERSATION:
        weight = final_weight if weights is not None else None
        messages = [Message("system", pairs[0].system_prompt)]
        for pair in pairs:
            messages.append(Message("user", pair.current_user_input))
            messages.append(Message("assistant", pair.reply, weight))
        return [Example(conversation.conversation_id, conversation.conversation_id, messages)]

    examples = []
    for index, pair in enumerate(pairs):
        messages = [Message("system", pair.system_prompt)]
        for earlier in pairs[:index]:
            messages.append(Message("user", earlier.current_user_input))
            messages.append(Message("assistant", earlier.reply, 0))
        messages.append(Message("user", pair.current_user_input))
        messages.append(Message("assistant", pair.reply, final_weight))
        examples.append(Example(pair.id, conversation.conversation_id, messages))
    return examples


def dumps_line(data: Any) -> str:
    """One JSON Lines record (no trailing newline)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def dumps_document(data: Any) -> str:
    """A whole JSON file: indented for reading, with a final newline."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
