"""Build one version of a training file from selected conversations: the v4 document, validated against the
v4 schema, and its four renderings (v4 JSON, v4 JSONL, chat JSONL, ShareGPT) as bytes.

Pure: no database, no storage. The service loads the conversations and stores what this returns; the
benchmark calls it directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..core.errors import AppError
from .formats import ExportConversation, chat_jsonl, sharegpt
from .formats import v4 as v4_format
from .scaffolding import PlanFacts, scaffolding_of
from .v4_schema import schema_problems

V4_JSON = "training-file.v4.json"
V4_JSONL = "training-file.v4.jsonl"
CHAT_JSONL = "training-file.chat.jsonl"
SHAREGPT = "training-file.sharegpt.json"
FILE_NAMES = (V4_JSON, V4_JSONL, CHAT_JSONL, SHAREGPT)
MEDIA_TYPES = {".json": "application/json", ".jsonl": "application/jsonl"}


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class BuiltVersion:
    document: dict[str, Any]

    @property
    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.document["training_file_metadata"]
        return metadata

    def files(self) -> Iterator[StoredFile]:
        """The four renderings, one at a time, so only one is held in memory while it is stored."""
        yield StoredFile(V4_JSON, v4_format.render_json(self.document).encode("utf-8"))
        yield StoredFile(V4_JSONL, v4_format.render_jsonl(self.document).encode("utf-8"))
        examples = v4_format.chat_examples(self.document)
        yield StoredFile(CHAT_JSONL, chat_jsonl.render(examples).encode("utf-8"))
        records = [sharegpt.example_record(example) for example in examples]
        yield StoredFile(SHAREGPT, v4_format.render_records(records).encode("utf-8"))


@lru_cache
def default_profile() -> dict[str, Any]:
    """The Studio's consultant profile, for files whose conversations carry no complete one."""
    text = resources.files("training_data_studio.exports.formats").joinpath("consultant_profile.json").read_text()
    profile: dict[str, Any] = json.loads(text)
    return profile


def quality_tier(conversation: ExportConversation) -> str:
    """v4's four tiers from the Studio's status: seeds, approved work, rejected work, everything else."""
    if conversation.is_seed_example:
        return "seed_dataset"
    if conversation.status == "approved":
        return "production"
    if conversation.status in ("flagged", "failed"):
        return "rejected"
    return "experimental"


def _source_file(conversation: ExportConversation) -> str:
    block = conversation.envelope.get("conversation_metadata")
    if isinstance(block, dict) and isinstance(block.get("source_file"), str) and block["source_file"]:
        return str(block["source_file"])
    return f"{conversation.conversation_id}.json"


def v4_conversation(
    conversation: ExportConversation, turns: list[v4_format.V4Turn] | None = None
) -> v4_format.V4Conversation:
    """The v4 writer's view of a loaded conversation: its turns (``turns`` when read lean, else its pairs)."""
    if conversation.row_id is None or conversation.created_at is None:
        raise ValueError("a v4 conversation needs the row id and creation time the export loader reads")
    facts = PlanFacts(
        persona_type=conversation.persona_type,
        persona_name=conversation.persona_name,
        tier=conversation.tier,
        tier_template=conversation.tier_template,
        starting_emotion=conversation.starting_emotion,
        ending_emotion=conversation.ending_emotion,
        topic_category=conversation.topic_category,
    )
    pairs: list[v4_format.Turn] = list(turns) if turns is not None else list(conversation.pairs)
    profile = conversation.envelope.get("consultant_profile")
    return v4_format.V4Conversation(
        row_id=conversation.row_id,
        conversation_id=conversation.conversation_id,
        source_file=_source_file(conversation),
        created_date=conversation.created_at.date(),
        quality_tier=quality_tier(conversation),
        human_reviewed=conversation.human_reviewed,
        is_seed_example=conversation.is_seed_example,
        scaffolding=scaffolding_of(conversation.envelope, pairs[0] if pairs else None, facts),
        client_background=conversation.persona_description,
        consultant_profile=profile if isinstance(profile, dict) else None,
        pairs=pairs,
    )


def consultant_profile(conversations: list[v4_format.V4Conversation]) -> dict[str, Any]:
    """The first complete profile among the conversations (in their order), else the Studio's own."""
    for conversation in conversations:
        profile = v4_format.profile_in_v4(conversation.consultant_profile)
        if profile is not None:
            return profile
    return default_profile()


def build_version(conversations: list[v4_format.V4Conversation], file: v4_format.V4File) -> BuiltVersion:
    """The checked v4 document of ``conversations`` (its four files come from ``files()``); an invalid
    document is refused with the JSON path of every problem (up to a limit), so nothing invalid is ever
    offered."""
    if not conversations:
        raise AppError(
            "training_file_empty",
            "A training file version needs at least one conversation; add conversations first.",
            status=422,
        )
    document = v4_format.build_document(conversations, file=file, consultant_profile=consultant_profile(conversations))
    problems = schema_problems(document)
    if problems:
        raise AppError(
            "training_file_invalid",
            f"The v4 training file would not be valid ({len(problems)} problem(s)); first: {problems[0]}. "
            "Fix the conversation named by the path (conversations[i] is the i-th in number order) or leave it out.",
            status=422,
            fields={problem.path: problem.message for problem in problems},
        )
    return BuiltVersion(document)
