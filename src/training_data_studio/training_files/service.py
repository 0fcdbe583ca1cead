"""Training files: create one from a selection, add and remove conversations, and read its versions.

Every change writes a new version: the members are loaded from the database, built into a v4 document
(``exports/training_file.py``), validated, rendered four ways and stored under
``<file id>/v<version>/<file name>``. The version row records each stored file's sha256, so a download is
checked against what was written. Versions are never changed afterwards.

The files are stored before the transaction commits. If it then rolls back, the objects of a version that
does not exist stay behind under its number; the next successful change writes that number again, over them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..core.errors import AppError, ConflictError, NotFoundError
from ..exports.formats.v4 import V4File, key_of
from ..exports.service import load_v4_conversations
from ..exports.training_file import FILE_NAMES, MEDIA_TYPES, build_version
from ..models import TrainingConversation, TrainingFile, TrainingFileMember, TrainingFileVersion
from .schemas import (
    FileLink,
    MemberRead,
    MembershipChange,
    Selection,
    TrainingFileCreate,
    TrainingFileDetail,
    TrainingFileRead,
    VersionRead,
)
from .storage import Storage

DEFAULT_STATUSES = ("approved",)


@dataclass(frozen=True, slots=True)
class Download:
    name: str
    data: bytes
    media_type: str


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def select_conversations(*, session: Session, selection: Selection) -> list[uuid.UUID]:
    """Row ids of the selected conversations, in conversation number order."""
    c = TrainingConversation
    if selection.by_ids:
        uuids = [u for u in (_as_uuid(i) for i in selection.conversation_ids) if u is not None]
        condition: ColumnElement[bool] = c.conversation_id.in_(selection.conversation_ids)
        if uuids:
            condition = or_(condition, c.id.in_(uuids))
        rows = session.execute(select(c.id, c.conversation_id).where(condition).order_by(c.conversation_number)).all()
        known = {str(row.id) for row in rows} | {row.conversation_id for row in rows}
        missing = [i for i in selection.conversation_ids if i not in known]
        if missing:
            raise AppError(
                "conversation_unknown",
                f"No conversation has the id {', '.join(missing[:10])}; check the ids (e.g. fp_marcus_011).",
                status=422,
                fields={"conversation_ids": ", ".join(missing)},
            )
        return [row.id for row in rows]

    stmt = select(c.id).where(c.generation_status.in_(selection.statuses or DEFAULT_STATUSES), c.turn_count > 0)
    if selection.tiers:
        stmt = stmt.where(c.tier.in_(selection.tiers))
    if selection.personas:
        stmt = stmt.where(c.persona_type.in_(selection.personas))
    if selection.min_quality is not None:
        stmt = stmt.where(c.quality_score >= selection.min_quality)
    ids = list(session.execute(stmt.order_by(c.conversation_number)).scalars())
    if not ids:
        raise AppError(
            "selection_empty",
            f"No conversation with turns matches the selection ({selection.describe()}); widen the filters.",
            status=422,
        )
    return ids


def _file_row(session: Session, ident: str, *, lock: bool = False) -> TrainingFile:
    if "\x00" in ident:  # no name holds one, and Postgres text cannot
        raise NotFoundError("Training file", repr(ident))
    as_uuid = _as_uuid(ident)
    condition = TrainingFile.id == as_uuid if as_uuid else TrainingFile.name == ident
    stmt = select(TrainingFile).where(condition)
    found = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if found is None:
        raise NotFoundError("Training file", ident)
    return found


def _member_ids(session: Session, file_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(TrainingFileMember.conversation_id).where(TrainingFileMember.training_file_id == file_id)
    return set(session.execute(stmt).scalars())


def _labels(session: Session, row_ids: set[uuid.UUID]) -> list[str]:
    if not row_ids:
        return []
    c = TrainingConversation
    stmt = select(c.conversation_id).where(c.id.in_(row_ids)).order_by(c.conversation_number)
    return list(session.execute(stmt).scalars())


def storage_key(file_id: uuid.UUID, version: int, name: str) -> str:
    return f"{file_id}/v{version}/{name}"


def _write_version(
    session: Session, file: TrainingFile, change: dict[str, Any], *, user: str, storage: Storage
) -> VersionRead:
    """Build, check, store and record the next version of ``file`` from its current members."""
    number = file.current_version + 1
    members = _member_ids(session, file.id)
    conversations = load_v4_conversations(session=session, row_ids=sorted(members))
    now = datetime.now(UTC)
    built = build_version(
        conversations,
        V4File(
            file_name=f"{key_of(file.name)}_v{number}",
            created=file.created_at,
            updated=now,
            target_model=file.target_model,
        ),
    )
    files: dict[str, Any] = {}
    for stored in built.files():
        key = storage_key(file.id, number, stored.name)
        media_type = MEDIA_TYPES[stored.name[stored.name.rindex(".") :]]
        storage.put(key, stored.data, content_type=media_type)
        files[stored.name] = {"sha256": stored.sha256, "bytes": len(stored.data), "key": key}
    metadata = built.metadata
    session.execute(
        insert(TrainingFileVersion).values(
            training_file_id=file.id,
            version_number=number,
            change=change,
            conversation_ids=[str(c.row_id) for c in conversations],
            conversation_count=metadata["total_conversations"],
            pair_count=metadata["total_training_pairs"],
            file_metadata=metadata,
            files=files,
            created_by=user,
            created_at=now,
        )
    )
    session.execute(
        update(TrainingFile).where(TrainingFile.id == file.id).values(current_version=number, updated_at=now)
    )
    session.flush()
    return _version_read(
        file.id,
        file.name,
        session.execute(
            select(TrainingFileVersion).where(
                TrainingFileVersion.training_file_id == file.id, TrainingFileVersion.version_number == number
            )
        ).scalar_one(),
    )


def _add_members(session: Session, file_id: uuid.UUID, row_ids: list[uuid.UUID], version: int, user: str) -> None:
    session.execute(
        insert(TrainingFileMember),
        [
            {"training_file_id": file_id, "conversation_id": row_id, "added_in_version": version, "added_by": user}
            for row_id in row_ids
        ],
    )


def create_training_file(
    *, session: Session, data: TrainingFileCreate, user: str, storage: Storage
) -> TrainingFileDetail:
    """A new training file holding the selection, with its first version written."""
    row_ids = select_conversations(session=session, selection=data.selection)
    # ON CONFLICT rather than a look-up first: two people creating the same name at once get one file and one 409.
    file_id = session.execute(
        pg_insert(TrainingFile)
        .values(name=data.name, description=data.description, target_model=data.target_model, created_by=user)
        .on_conflict_do_nothing(constraint="training_files_name_key")
        .returning(TrainingFile.id)
    ).scalar_one_or_none()
    if file_id is None:
        raise ConflictError(f"A training file named {data.name!r} exists already; choose another name or add to it.")
    _add_members(session, file_id, row_ids, 1, user)
    file = _file_row(session, str(file_id), lock=True)
    _write_version(
        session,
        file,
        {"action": "create", "added": _labels(session, set(row_ids)), "removed": []},
        user=user,
        storage=storage,
    )
    return get_training_file(session=session, ident=str(file_id))


def add_conversations(
    *, session: Session, ident: str, change: MembershipChange, user: str, storage: Storage
) -> VersionRead:
    """Add the selected conversations that are not members yet, as a new version."""
    file = _file_row(session, ident, lock=True)  # one change at a time per file: versions stay in sequence
    selected = select_conversations(session=session, selection=change.selection)
    current = _member_ids(session, file.id)
    new = [row_id for row_id in selected if row_id not in current]
    if not new:
        raise ConflictError(
            f"Every selected conversation is in {file.name!r} already (version {file.current_version}); nothing to add."
        )
    _add_members(session, file.id, new, file.current_version + 1, user)
    record = {"action": "add", "added": _labels(session, set(new)), "removed": []}
    return _write_version(session, file, record, user=user, storage=storage)


def remove_conversations(
    *, session: Session, ident: str, change: MembershipChange, user: str, storage: Storage
) -> VersionRead:
    """Remove the selected conversations that are members, as a new version (at least one must remain)."""
    file = _file_row(session, ident, lock=True)
    selected = set(select_conversations(session=session, selection=change.selection))
    current = _member_ids(session, file.id)
    leaving = selected & current
    if not leaving:
        raise AppError(
            "not_members",
            f"None of the selected conversations is in {file.name!r}; nothing to remove.",
            status=422,
        )
    if leaving == current:
        raise AppError(
            "training_file_would_be_empty",
            f"Removing these would leave {file.name!r} empty; a version needs at least one conversation.",
            status=422,
        )
    labels = _labels(session, leaving)
    session.execute(
        delete(TrainingFileMember).where(
            TrainingFileMember.training_file_id == file.id, TrainingFileMember.conversation_id.in_(leaving)
        )
    )
    return _write_version(
        session, file, {"action": "remove", "added": [], "removed": labels}, user=user, storage=storage
    )


def _member_counts(session: Session) -> dict[uuid.UUID, int]:
    stmt = select(TrainingFileMember.training_file_id, func.count()).group_by(TrainingFileMember.training_file_id)
    return {file_id: count for file_id, count in session.execute(stmt)}


def _file_read(file: TrainingFile, count: int) -> TrainingFileRead:
    return TrainingFileRead(
        id=file.id,
        name=file.name,
        description=file.description,
        target_model=file.target_model,
        current_version=file.current_version,
        conversation_count=count,
        created_by=file.created_by,
        created_at=file.created_at,
        updated_at=file.updated_at,
    )


def list_training_files(*, session: Session) -> list[TrainingFileRead]:
    counts = _member_counts(session)
    files = session.execute(select(TrainingFile).order_by(TrainingFile.updated_at.desc())).scalars()
    return [_file_read(file, counts.get(file.id, 0)) for file in files]


def download_url(file_id: uuid.UUID, version: int, name: str) -> str:
    return f"/api/train-data/training-files/{file_id}/versions/{version}/files/{name}"


def _version_read(file_id: uuid.UUID, name: str, version: TrainingFileVersion) -> VersionRead:
    links = [
        FileLink(
            name=file_name,
            sha256=entry["sha256"],
            bytes=entry["bytes"],
            url=download_url(file_id, version.version_number, file_name),
        )
        for file_name, entry in sorted(version.files.items(), key=lambda item: FILE_NAMES.index(item[0]))
    ]
    return VersionRead(
        version_number=version.version_number,
        change=version.change,
        conversation_count=version.conversation_count,
        pair_count=version.pair_count,
        file_metadata=version.file_metadata,
        files=links,
        created_by=version.created_by,
        created_at=version.created_at,
    )


def get_training_file(*, session: Session, ident: str) -> TrainingFileDetail:
    file = _file_row(session, ident)
    c = TrainingConversation
    m = TrainingFileMember
    member_rows = session.execute(
        select(
            c.id,
            c.conversation_id,
            c.conversation_number,
            c.persona_type,
            c.tier,
            c.generation_status,
            c.quality_score,
            c.turn_count,
            m.added_in_version,
        )
        .join(m, m.conversation_id == c.id)
        .where(m.training_file_id == file.id)
        .order_by(c.conversation_number)
    ).all()
    versions = session.execute(
        select(TrainingFileVersion)
        .where(TrainingFileVersion.training_file_id == file.id)
        .order_by(TrainingFileVersion.version_number.desc())
    ).scalars()
    read = _file_read(file, len(member_rows))
    return TrainingFileDetail(
        **read.model_dump(),
        members=[MemberRead.model_validate(row._asdict()) for row in member_rows],
        versions=[_version_read(file.id, file.name, version) for version in versions],
    )


def download(*, session: Session, ident: str, version: int, name: str, storage: Storage) -> Download:
    """One stored file of one version, checked against the sha256 recorded when it was written."""
    file = _file_row(session, ident)
    row = session.execute(
        select(TrainingFileVersion).where(
            TrainingFileVersion.training_file_id == file.id, TrainingFileVersion.version_number == version
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError("Training file version", f"{file.name} v{version}")
    entry = row.files.get(name)
    if entry is None:
        raise NotFoundError("Training file download", f"{name} (files: {', '.join(sorted(row.files))})")
    data = storage.get(entry["key"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise AppError(
            "storage_changed",
            f"The stored {name} of {file.name} v{version} differs from what was written (sha256); "
            "it was changed outside the Studio. Make a new version to write it again.",
            status=500,
        )
    return Download(
        name=f"{key_of(file.name)}_v{version}.{name.removeprefix('training-file.')}",
        data=data,
        media_type=MEDIA_TYPES[name[name.rindex(".") :]],
    )
