"""Training files on a real database: create from a selection, add, remove, immutable versions, downloads."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.helpers.training_files import insert_v4_conversation
from training_data_studio.core.errors import AppError
from training_data_studio.exports.training_file import CHAT_JSONL, FILE_NAMES, SHAREGPT, V4_JSON, V4_JSONL
from training_data_studio.exports.v4_schema import schema_problems
from training_data_studio.models import TrainingConversation, TrainingFileVersion, TrainingTurn
from training_data_studio.training_files import service
from training_data_studio.training_files.schemas import MembershipChange, Selection, TrainingFileCreate
from training_data_studio.training_files.storage import FolderStorage

USER = "dana"


def _dataset(session: Session) -> None:
    insert_v4_conversation(session, "m_001", number=101, turns=3, quality=5, is_seed=True)
    insert_v4_conversation(session, "m_002", number=102, turns=2, quality=4)
    insert_v4_conversation(session, "j_001", number=103, persona_type="Jennifer", tier="tier2_scenario", quality=3)
    insert_v4_conversation(session, "j_002", number=104, persona_type="Jennifer", status="reviewed")
    for number, ident in ((101, "m_001"), (102, "m_002"), (103, "j_001"), (104, "j_002")):
        quality = {101: 5, 102: 4, 103: 3, 104: 4}[number]
        session.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_id == ident)
            .values(quality_score=Decimal(quality))
        )


def _create(session: Session, storage: FolderStorage, name: str = "first", **selection: object) -> str:
    data = TrainingFileCreate(name=name, selection=Selection.model_validate(selection))
    return str(service.create_training_file(session=session, data=data, user=USER, storage=storage).id)


def _v4(session: Session, storage: FolderStorage, ident: str, version: int) -> dict[str, object]:
    found = service.download(session=session, ident=ident, version=version, name=V4_JSON, storage=storage)
    document: dict[str, object] = json.loads(found.data)
    return document


def test_create_from_filters_writes_a_valid_first_version(session: Session, folder_storage: FolderStorage) -> None:
    _dataset(session)
    ident = _create(session, folder_storage, min_quality=4)
    detail = service.get_training_file(session=session, ident=ident)
    assert [m.conversation_id for m in detail.members] == ["m_001", "m_002"]
    assert detail.current_version == 1
    version = detail.versions[0]
    assert version.change == {"action": "create", "added": ["m_001", "m_002"], "removed": []}
    assert (version.conversation_count, version.pair_count) == (2, 5)
    assert [f.name for f in version.files] == list(FILE_NAMES)
    document = _v4(session, folder_storage, ident, 1)
    assert schema_problems(document) == []
    assert document["training_file_metadata"] == version.file_metadata
    assert version.file_metadata["quality_summary"]["avg_quality_score"] == 4.6  # (3*5 + 2*4) / 5 pairs


def test_filters_by_status_tier_and_persona(session: Session, folder_storage: FolderStorage) -> None:
    _dataset(session)
    ident = _create(session, folder_storage, statuses=["approved", "reviewed"], personas=["Jennifer"])
    assert [m.conversation_id for m in service.get_training_file(session=session, ident=ident).members] == [
        "j_001",
        "j_002",
    ]
    other = _create(session, folder_storage, name="tier2", tiers=["tier2_scenario"])
    assert [m.conversation_id for m in service.get_training_file(session=session, ident=other).members] == ["j_001"]


def test_add_and_remove_make_new_versions_and_old_ones_stay(session: Session, folder_storage: FolderStorage) -> None:
    _dataset(session)
    ident = _create(session, folder_storage, conversation_ids=["m_001"])
    add = MembershipChange(selection=Selection(conversation_ids=["m_002", "j_002", "m_001"]))
    v2 = service.add_conversations(session=session, ident="first", change=add, user=USER, storage=folder_storage)
    assert v2.version_number == 2
    assert v2.change["added"] == ["m_002", "j_002"]
    remove = MembershipChange(selection=Selection(conversation_ids=["m_001"]))
    v3 = service.remove_conversations(session=session, ident=ident, change=remove, user=USER, storage=folder_storage)
    assert v3.version_number == 3
    assert v3.change["removed"] == ["m_001"]

    def ids(version: int) -> list[str]:
        document = _v4(session, folder_storage, ident, version)
        return [c["conversation_metadata"]["source_file"] for c in document["conversations"]]  # type: ignore[index]

    assert ids(1) == ["m_001.json"]
    assert ids(2) == ["m_001.json", "m_002.json", "j_002.json"]
    assert ids(3) == ["m_002.json", "j_002.json"]
    # A conversation edited after v1 does not change what v1 serves: versions are snapshots.
    session.execute(update(TrainingTurn).values(target_response="edited later"))
    assert "edited later" not in json.dumps(_v4(session, folder_storage, ident, 1))


def test_jsonl_and_chat_renderings_of_a_version(session: Session, folder_storage: FolderStorage) -> None:
    _dataset(session)
    ident = _create(session, folder_storage, conversation_ids=["m_001", "j_001"])
    jsonl = service.download(session=session, ident=ident, version=1, name=V4_JSONL, storage=folder_storage)
    lines = jsonl.data.decode().splitlines()
    assert json.loads(lines[0])["_meta"]["total_pairs"] == 5
    assert len(lines) == 6
    assert jsonl.media_type == "application/jsonl"
    assert jsonl.name == "first_v1.v4.jsonl"
    chat = service.download(session=session, ident=ident, version=1, name=CHAT_JSONL, storage=folder_storage)
    assert len(chat.data.decode().splitlines()) == 2
    sharegpt = service.download(session=session, ident=ident, version=1, name=SHAREGPT, storage=folder_storage)
    assert len(json.loads(sharegpt.data)) == 2


def test_a_changed_stored_file_is_refused(session: Session, folder_storage: FolderStorage) -> None:
    _dataset(session)
    ident = _create(session, folder_storage, conversation_ids=["m_001"])
    entry = session.execute(select(TrainingFileVersion.files)).scalar_one()[V4_JSON]
    (folder_storage.root / entry["key"]).write_bytes(b"{}")
    with pytest.raises(AppError, match="differs from what was written") as caught:
        service.download(session=session, ident=ident, version=1, name=V4_JSON, storage=folder_storage)
    assert caught.value.status == 500
    assert hashlib.sha256(b"{}").hexdigest() != entry["sha256"]


@pytest.mark.parametrize(
    ("selection", "pattern"),
    [
        ({"conversation_ids": ["m_001", "nope_404"]}, "No conversation has the id nope_404"),
        ({"statuses": ["failed"]}, r"No conversation with turns matches the selection \(status failed\)"),
    ],
)
def test_bad_selections_are_422(
    session: Session, folder_storage: FolderStorage, selection: dict[str, object], pattern: str
) -> None:
    _dataset(session)
    with pytest.raises(AppError, match=pattern) as caught:
        _create(session, folder_storage, **selection)
    assert caught.value.status == 422


def test_names_are_unique_and_no_op_changes_are_refused(session: Session, folder_storage: FolderStorage) -> None:
    _dataset(session)
    _create(session, folder_storage, conversation_ids=["m_001"])
    with pytest.raises(AppError, match="exists already") as duplicate:
        _create(session, folder_storage, conversation_ids=["m_002"])
    assert duplicate.value.status == 409
    same = MembershipChange(selection=Selection(conversation_ids=["m_001"]))
    with pytest.raises(AppError, match="nothing to add") as nothing:
        service.add_conversations(session=session, ident="first", change=same, user=USER, storage=folder_storage)
    assert nothing.value.status == 409
    with pytest.raises(AppError, match="would leave 'first' empty"):
        service.remove_conversations(session=session, ident="first", change=same, user=USER, storage=folder_storage)
    other = MembershipChange(selection=Selection(conversation_ids=["m_002"]))
    with pytest.raises(AppError, match="None of the selected conversations is in 'first'"):
        service.remove_conversations(session=session, ident="first", change=other, user=USER, storage=folder_storage)
    assert session.execute(select(func.count()).select_from(TrainingFileVersion)).scalar_one() == 1


def test_a_conversation_that_cannot_be_written_in_v4_names_the_path(
    session: Session, folder_storage: FolderStorage
) -> None:
    _dataset(session)
    turn = session.execute(select(TrainingTurn).where(TrainingTurn.turn_id == "m_002_turn2")).scalar_one()
    source = json.loads(json.dumps(turn.source_json))
    del source["training_metadata"]["quality_criteria"]["clarity_score"]
    session.execute(update(TrainingTurn).where(TrainingTurn.id == turn.id).values(source_json=source))
    with pytest.raises(AppError, match=r"conversations\[1\]\.training_pairs\[1\]\.training_metadata") as caught:
        _create(session, folder_storage, conversation_ids=["m_001", "m_002"])
    assert caught.value.status == 422
    assert "$.conversations[1].training_pairs[1].training_metadata.quality_criteria" in (caught.value.fields or {})
