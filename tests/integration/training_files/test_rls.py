"""Row-level security of the training file tables, exercised for real as Supabase's API roles."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.helpers.training_files import insert_v4_conversation
from training_data_studio.core.db import Database, act_as
from training_data_studio.training_files import service
from training_data_studio.training_files.schemas import MembershipChange, Selection, TrainingFileCreate
from training_data_studio.training_files.storage import FolderStorage

USER_A = str(uuid.uuid4())
USER_B = str(uuid.uuid4())


def _as(session: object, user: str, role: str = "authenticated") -> None:
    act_as(session, role=role, user_id=user, claims={"sub": user, "role": role})  # type: ignore[arg-type]


def _file_of_b(database: Database, storage: FolderStorage) -> None:
    with database.session_scope() as s:
        insert_v4_conversation(s, "c_001", number=1)
        insert_v4_conversation(s, "c_002", number=2)
    with database.session_scope() as s:
        _as(s, USER_B)
        data = TrainingFileCreate(name="b-file", selection=Selection(conversation_ids=["c_001"]))
        service.create_training_file(session=s, data=data, user=USER_B, storage=storage)


def test_signed_in_users_share_files_and_may_change_membership(
    database: Database, folder_storage: FolderStorage
) -> None:
    _file_of_b(database, folder_storage)
    with database.session_scope() as s:
        _as(s, USER_A)
        change = MembershipChange(selection=Selection(conversation_ids=["c_002"]))
        version = service.add_conversations(
            session=s, ident="b-file", change=change, user=USER_A, storage=folder_storage
        )
    assert version.version_number == 2
    assert version.created_by == USER_A


def test_nobody_creates_a_file_in_someone_elses_name(database: Database) -> None:
    with pytest.raises(ProgrammingError, match="row-level security"), database.session_scope() as s:
        _as(s, USER_A)
        s.execute(text("INSERT INTO training_files (name, created_by) VALUES ('x', :other)"), {"other": USER_B})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE training_file_versions SET pair_count = 99",
        "DELETE FROM training_file_versions",
    ],
)
def test_versions_are_immutable_for_signed_in_users(
    database: Database, folder_storage: FolderStorage, statement: str
) -> None:
    _file_of_b(database, folder_storage)
    with database.session_scope() as s:
        _as(s, USER_A)
        assert s.execute(text("SELECT count(*) FROM training_file_versions")).scalar_one() == 1
    with pytest.raises(ProgrammingError, match="permission denied"), database.session_scope() as s:
        _as(s, USER_A)
        s.execute(text(statement))


@pytest.mark.parametrize("table", ["training_files", "training_file_members", "training_file_versions"])
def test_anon_reads_nothing(database: Database, table: str) -> None:
    with pytest.raises(ProgrammingError, match="permission denied"), database.session_scope() as s:
        _as(s, str(uuid.uuid4()), role="anon")
        s.execute(text(f"SELECT count(*) FROM {table}"))  # the table name comes from the parameter list above
