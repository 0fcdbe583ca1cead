"""Training-set export: select conversations, split them, write one format, the manifest, then check it.

Conversations are read from the database: each one's turns are the ``source_json`` of its
``training_turns`` rows in turn order (the turn in the seed format), parsed with the document model.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, Select, Text, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from ..conversations.document import TrainingPair, document_errors
from ..core.errors import AppError, NotFoundError
from ..models import ConversationTemplate, GenerationJobEvent, TrainingConversation, TrainingTurn
from . import dedup, split
from .formats import (
    Example,
    ExportConversation,
    annotated,
    build_examples,
    chat_jsonl,
    dumps_document,
    example_tokens,
    sharegpt,
)
from .formats.v4 import V4Conversation, V4Turn
from .manifest import MANIFEST_NAME, build_manifest, file_entry, read_manifest, split_counts, write_manifest
from .schemas import (
    CheckResult,
    CleaningReport,
    ExclusionEntry,
    ExportFormat,
    ExportManifest,
    ExportMode,
    ExportOptions,
    SplitCounts,
)
from .training_file import v4_conversation
from .validate import DATASET_INFO, validate_export

DEFAULT_EXPORTS_DIR = Path(".data/exports")
SPLITS = ("train", "validation")
# Server-side folders are named by the first characters of the export id (a sha256).
EXPORT_ID_PREFIX = 16
EXPORT_FOLDER_PATTERN = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    manifest: ExportManifest
    check: CheckResult


def _selection_text(options: ExportOptions) -> str:
    parts = [f"status {', '.join(options.statuses)}"]
    if options.tiers:
        parts.append(f"tier {', '.join(options.tiers)}")
    if options.personas:
        parts.append(f"persona {', '.join(options.personas)}")
    return "; ".join(parts)


def _conversation_columns() -> Select[*tuple[Any, ...]]:
    c = TrainingConversation
    return select(
        c.id,
        c.conversation_id,
        c.conversation_number,
        c.persona_type,
        c.persona_name,
        c.persona_description,
        c.topic_category,
        c.tier,
        c.tier_template,
        c.starting_emotion,
        c.ending_emotion,
        c.generation_status,
        c.is_seed_example,
        c.human_reviewed,
        c.template_version,
        c.generation_model,
        c.source_envelope,
        c.created_at,
        ConversationTemplate.template_id.label("template_key"),
    ).outerjoin(ConversationTemplate, ConversationTemplate.id == c.template_id)


def load_conversations(*, session: Session, options: ExportOptions) -> list[ExportConversation]:
    """The selected conversations with their turns, ordered by conversation number."""
    c = TrainingConversation
    stmt = _conversation_columns().where(c.generation_status.in_(options.statuses)).order_by(c.conversation_number)
    if options.tiers:
        stmt = stmt.where(c.tier.in_(options.tiers))
    if options.personas:
        stmt = stmt.where(c.persona_type.in_(options.personas))
    rows = session.execute(stmt).all()
    if not rows:
        raise AppError(
            "export_empty", f"No conversations match the selection ({_selection_text(options)}).", status=422
        )
    return _with_turns(session, rows)


def load_conversations_by_id(*, session: Session, row_ids: Sequence[uuid.UUID]) -> list[ExportConversation]:
    """These conversations (row ids) with their turns, in conversation number order; unknown ids are left out."""
    if not row_ids:
        return []
    c = TrainingConversation
    rows = session.execute(_conversation_columns().where(c.id.in_(row_ids)).order_by(c.conversation_number)).all()
    return _with_turns(session, rows)


# What a v4 training file needs of each stored turn, cut out of its source JSON by Postgres: about a seventh
# of the bytes of the whole annotated pair (no strategy, sentence breakdown or history summaries).
_LEAN_TURNS = text(
    "SELECT conversation_id, turn_number, jsonb_build_object("
    "'id', source_json->'id', 'turn_number', source_json->'turn_number', "
    "'system_prompt', source_json->'system_prompt', 'current_user_input', source_json->'current_user_input', "
    "'target_response', source_json->'target_response', "
    "'conversation_metadata', source_json->'conversation_metadata', "
    "'emotional_context', jsonb_build_object("
    "'detected_emotions', source_json #> '{emotional_context,detected_emotions}'), "
    "'training_metadata', source_json->'training_metadata')::text "
    "FROM training_turns WHERE conversation_id = ANY(:ids) ORDER BY conversation_id, turn_number"
)


def load_v4_conversations(*, session: Session, row_ids: Sequence[uuid.UUID]) -> list[V4Conversation]:
    """These conversations (row ids) as the v4 writer needs them, in conversation number order."""
    if not row_ids:
        return []
    c = TrainingConversation
    rows = session.execute(_conversation_columns().where(c.id.in_(row_ids)).order_by(c.conversation_number)).all()
    labels = {row.id: row.conversation_id for row in rows}
    turns: dict[uuid.UUID, list[V4Turn]] = defaultdict(list)
    for conversation_uuid, turn_number, lean in session.execute(_LEAN_TURNS, {"ids": list(labels)}):
        try:
            turns[conversation_uuid].append(V4Turn.model_validate_json(lean))
        except ValidationError as exc:
            first = document_errors(exc)[0]
            raise AppError(
                "export_invalid_turn",
                f"Conversation {labels[conversation_uuid]}, turn {turn_number}: the stored turn lacks what the v4 "
                f"layout needs ({first.path}: {first.message}). Fix or re-import it, or leave it out.",
                status=422,
            ) from exc
    conversations = []
    for row in rows:
        if not turns.get(row.id):
            raise AppError(
                "export_no_turns",
                f"Conversation {row.conversation_id} is '{row.generation_status}' but has no turns; "
                "generate or import it first, or leave it out of the selection.",
                status=422,
            )
        conversations.append(v4_conversation(_export_conversation(row, []), turns[row.id]))
    return conversations


def _export_conversation(row: Row[Any], pairs: list[TrainingPair]) -> ExportConversation:
    return ExportConversation(
        conversation_id=row.conversation_id,
        conversation_number=row.conversation_number,
        persona_type=row.persona_type,
        tier=row.tier,
        status=row.generation_status,
        is_seed_example=row.is_seed_example,
        template_id=row.template_key,
        template_version=row.template_version,
        generation_model=row.generation_model,
        envelope=dict(row.source_envelope or {}),
        pairs=pairs,
        row_id=row.id,
        persona_name=row.persona_name,
        persona_description=row.persona_description,
        tier_template=row.tier_template,
        starting_emotion=row.starting_emotion,
        ending_emotion=row.ending_emotion,
        topic_category=row.topic_category,
        human_reviewed=row.human_reviewed,
        created_at=row.created_at,
    )


def _with_turns(session: Session, rows: Sequence[Row[Any]]) -> list[ExportConversation]:
    turns: dict[uuid.UUID, list[TrainingPair]] = defaultdict(list)
    turn_rows = session.execute(
        # As text, parsed once by pydantic: decoding JSONB to dicts first and validating those took about
        # twice as long on a 1,000-conversation training file (`tds bench training-file`).
        select(TrainingTurn.conversation_id, TrainingTurn.turn_number, cast(TrainingTurn.source_json, Text))
        .where(TrainingTurn.conversation_id.in_([row.id for row in rows]))
        .order_by(TrainingTurn.conversation_id, TrainingTurn.turn_number)
    )
    labels = {row.id: row.conversation_id for row in rows}
    for conversation_uuid, turn_number, source in turn_rows:
        try:
            turns[conversation_uuid].append(TrainingPair.model_validate_json(source))
        except ValidationError as exc:
            first = document_errors(exc)[0]
            raise AppError(
                "export_invalid_turn",
                f"Conversation {labels[conversation_uuid]}, turn {turn_number}: the stored turn is not a valid "
                f"training pair ({first.path}: {first.message}). Fix or re-import it, or leave it out.",
                status=422,
            ) from exc

    conversations = []
    for row in rows:
        pairs = turns.get(row.id, [])
        if not pairs:
            raise AppError(
                "export_no_turns",
                f"Conversation {row.conversation_id} is '{row.generation_status}' but has no turns; "
                "generate or import it first, or leave it out of the selection.",
                status=422,
            )
        conversations.append(_export_conversation(row, pairs))
    return conversations


def split_conversations(
    conversations: list[ExportConversation], *, seed: int, fraction: float, groups: dict[str, str] | None = None
) -> dict[str, list[ExportConversation]]:
    """Train and validation; conversations of one near-duplicate group (``groups``) stay on one side."""
    items = [(c.conversation_id, split.stratum(c.persona_type, c.tier)) for c in conversations]
    chosen = split.validation_ids_by_group(items, groups or {}, seed=seed, fraction=fraction)
    return {
        "train": [c for c in conversations if c.conversation_id not in chosen],
        "validation": [c for c in conversations if c.conversation_id in chosen],
    }


def _example_count(conversation: ExportConversation, options: ExportOptions) -> int:
    if options.format is ExportFormat.ANNOTATED or options.mode is ExportMode.PER_CONVERSATION:
        return 1
    return len(conversation.pairs)


def _cleaning_report(
    cleaned: dedup.Cleaned, selected: list[ExportConversation], options: ExportOptions
) -> CleaningReport:
    by_id = {c.conversation_id: c for c in selected}
    group_sizes: dict[str, int] = defaultdict(int)
    for group in cleaned.groups.values():
        group_sizes[group] += 1
    return CleaningReport(
        conversations_selected=len(selected),
        deduplicated=cleaned.count("exact_duplicate"),
        excluded=cleaned.count("copies_seed"),
        merged=cleaned.merged,
        near_duplicate_groups=sum(1 for size in group_sizes.values() if size > 1),
        exclusions=[
            ExclusionEntry(
                conversation_id=e.conversation_id,
                reason=e.reason,
                detail=e.detail,
                examples=_example_count(by_id[e.conversation_id], options),
            )
            for e in cleaned.exclusions
        ],
    )


def _file_counts(
    cleaned: dedup.Cleaned,
    members: list[ExportConversation],
    selected: list[ExportConversation],
    options: ExportOptions,
) -> dict[str, int]:
    """Per data file: exact duplicates dropped whose kept copy is here, seed copies of a seed that is here,
    and examples here that belong to a near-duplicate group of two or more."""
    here = {c.conversation_id for c in members}
    by_id = {c.conversation_id: c for c in selected}
    sizes: dict[str, int] = defaultdict(int)
    for group in cleaned.groups.values():
        sizes[group] += 1
    counts = {"excluded": 0, "merged": 0, "deduplicated": 0}
    for exclusion in cleaned.exclusions:
        if exclusion.related_id in here:
            key = "deduplicated" if exclusion.reason == "exact_duplicate" else "excluded"
            counts[key] += _example_count(by_id[exclusion.conversation_id], options)
    counts["merged"] = sum(_example_count(c, options) for c in members if sizes[cleaned.groups[c.conversation_id]] > 1)
    return counts


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))  # bytes: "\n" stays "\n" on every platform


def write_export(
    conversations: list[ExportConversation],
    options: ExportOptions,
    directory: Path,
    *,
    seed_texts: dict[str, str] | None = None,
    sources: dict[str, list[str]] | None = None,
) -> ExportManifest:
    """Write the split files, dataset_info.json (chat formats) and manifest.json into ``directory``.

    Exact duplicates and seed copies (``seed_texts``: seed id -> dialogue; ``sources``: which seeds a
    conversation was generated from) are left out first, and near-duplicates are split together.
    """
    directory.mkdir(parents=True, exist_ok=True)
    # Records follow the conversation number (then id), whatever order the caller passed them in.
    selected = sorted(conversations, key=lambda c: (c.conversation_number, c.conversation_id))
    cleaned = dedup.clean(selected, seed_texts=seed_texts, sources=sources, allow_seed_copies=options.allow_seed_copies)
    conversations = cleaned.kept
    parts = split_conversations(conversations, seed=options.seed, fraction=options.val_fraction, groups=cleaned.groups)
    files = {}
    splits: dict[str, SplitCounts] = {}
    largest = 0
    dataset_info = {}
    for name in SPLITS:
        members = parts[name]
        if options.format is ExportFormat.ANNOTATED:
            file_name = f"{name}.{annotated.EXTENSION}"
            _write(directory / file_name, annotated.render(members))
            records = len(members)
            for conversation in members:
                contents = [conversation.pairs[0].system_prompt]
                for pair in conversation.pairs:
                    contents += [pair.current_user_input, pair.reply]
                largest = max(largest, example_tokens(contents))
        else:
            module = chat_jsonl if options.format is ExportFormat.CHAT_JSONL else sharegpt
            examples: list[Example] = [
                example for c in members for example in build_examples(c, options.mode, options.weights)
            ]
            file_name = f"{name}.{module.EXTENSION}"
            _write(directory / file_name, module.render(examples))
            records = len(examples)
            for example in examples:
                largest = max(largest, example_tokens([m.content for m in example.messages]))
            if examples:
                dataset_info[f"{options.dataset_name}_{name}"] = module.dataset_info_entry(file_name)
        entry = file_entry(directory / file_name, records)
        files[file_name] = entry.model_copy(update=_file_counts(cleaned, members, selected, options))
        splits[name] = split_counts(members, records)
    if dataset_info:
        _write(directory / DATASET_INFO, dumps_document(dataset_info))
        files[DATASET_INFO] = file_entry(directory / DATASET_INFO, 0)
    manifest = build_manifest(
        export_format=options.format,
        options=options.manifest_options(),
        files=files,
        splits=splits,
        conversations=conversations,
        max_tokens=options.max_tokens,
        largest_example=largest,
        cleaning=_cleaning_report(cleaned, selected, options),
    )
    write_manifest(directory, manifest)
    return manifest


def seed_sources(
    *, session: Session, conversations: list[ExportConversation]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The dialogue of every seed conversation (by id), and for each generated conversation of the export
    the seeds its prompt showed, as the generation events recorded them."""
    c = TrainingConversation
    text = func.string_agg(
        func.concat_ws("\n", TrainingTurn.user_input, TrainingTurn.target_response),
        aggregate_order_by(literal("\n"), TrainingTurn.turn_number),
    )
    seeds = session.execute(
        select(c.conversation_id, text)
        .join(TrainingTurn, TrainingTurn.conversation_id == c.id)
        .where(c.is_seed_example.is_(True))
        .group_by(c.conversation_id)
    ).all()
    numbers = {conversation.conversation_number: conversation.conversation_id for conversation in conversations}
    events = session.execute(
        select(GenerationJobEvent.conversation_number, GenerationJobEvent.data)
        .where(
            GenerationJobEvent.step == "preparing_prompt",
            GenerationJobEvent.conversation_number.in_(list(numbers)),
        )
        .order_by(GenerationJobEvent.id)
    ).all()
    sources: dict[str, list[str]] = {}
    for number, data in events:
        examples = (data or {}).get("examples")
        if isinstance(examples, list):  # the latest prompt wins: it is the one the stored version came from
            sources[numbers[number]] = [str(e) for e in examples]
    return {ident: body for ident, body in seeds}, sources


def export_training_set(*, session: Session, options: ExportOptions, directory: Path) -> ExportResult:
    """Export the selection into ``directory`` (the CLI's --out), then check what was written."""
    conversations = load_conversations(session=session, options=options)
    seed_texts, sources = seed_sources(session=session, conversations=conversations)
    manifest = write_export(conversations, options, directory, seed_texts=seed_texts, sources=sources)
    return ExportResult(directory, manifest, validate_export(directory, max_tokens=options.max_tokens))


def export_to_store(*, session: Session, options: ExportOptions, root: Path) -> ExportResult:
    """Export into ``root/<export id prefix>/`` (the API's server-side store).

    The files are written to a scratch folder first and moved in place only when the check passes, so
    the store only ever holds complete, valid exports; exporting the same selection again finds the
    same folder.
    """
    conversations = load_conversations(session=session, options=options)
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f".incoming-{uuid.uuid4().hex}"
    try:
        seed_texts, sources = seed_sources(session=session, conversations=conversations)
        manifest = write_export(conversations, options, scratch, seed_texts=seed_texts, sources=sources)
        check = validate_export(scratch, max_tokens=options.max_tokens)
        if not check.ok:
            raise AppError(
                "export_check_failed",
                f"The export failed its checks ({len(check.errors)} problems); first: {check.errors[0]}",
                status=422,
                fields={f"problem_{i + 1}": error for i, error in enumerate(check.errors[:10])},
            )
        target = root / manifest.export_id[:EXPORT_ID_PREFIX]
        if not target.exists():
            try:
                scratch.rename(target)
            except OSError:
                if not (target / MANIFEST_NAME).is_file():  # not a concurrent twin of this export
                    raise
        return ExportResult(target, manifest, check)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def stored_export(root: Path, export_id: str) -> tuple[Path, ExportManifest]:
    """A stored export's folder and manifest; ``export_id`` is the folder name (or the full id)."""
    folder_name = export_id[:EXPORT_ID_PREFIX].lower()
    if not EXPORT_FOLDER_PATTERN.fullmatch(folder_name):
        raise NotFoundError("Export", export_id)
    directory = root / folder_name
    if not (directory / MANIFEST_NAME).is_file():
        raise NotFoundError("Export", export_id)
    manifest = read_manifest(directory)
    if not manifest.export_id.startswith(export_id.lower()):
        raise NotFoundError("Export", export_id)
    return directory, manifest


def stored_file(root: Path, export_id: str, name: str) -> Path:
    """The path of one file of a stored export; only names the manifest lists (or the manifest) exist."""
    directory, manifest = stored_export(root, export_id)
    if name != MANIFEST_NAME and name not in manifest.files:
        raise NotFoundError("Export file", name)
    return directory / name


def persona_types(*, session: Session) -> list[str]:
    """The persona types present in the dataset, for the export form."""
    rows = session.execute(
        select(TrainingConversation.persona_type).distinct().order_by(TrainingConversation.persona_type)
    )
    return [persona for (persona,) in rows]
