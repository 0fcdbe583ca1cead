"""The RLS policies, exercised for real as Supabase's API roles."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from training_data_studio.core.db import Database, act_as

USER_A = str(uuid.uuid4())
USER_B = str(uuid.uuid4())


def _create_job(database: Database, owner: str) -> str:
    with database.session_scope() as s:
        act_as(s, role="authenticated", user_id=owner, claims={"sub": owner, "role": "authenticated"})
        job_id = s.execute(
            text(
                "INSERT INTO generation_jobs (job_type, target_conversation_ids, total_conversations, created_by) "
                "VALUES ('single', '[]', 0, :owner) RETURNING id"
            ),
            {"owner": owner},
        ).scalar_one()
    return str(job_id)


def _cancel(database: Database, job_id: str, as_user: str) -> int:
    with database.session_scope() as s:
        act_as(s, role="authenticated", user_id=as_user, claims={"sub": as_user, "role": "authenticated"})
        result = s.execute(text("UPDATE generation_jobs SET status = 'cancelled' WHERE id = :id"), {"id": job_id})
        return int(result.rowcount)  # type: ignore[attr-defined]


def test_a_user_cannot_update_another_users_job(database: Database) -> None:
    job_of_b = _create_job(database, USER_B)
    assert _cancel(database, job_of_b, as_user=USER_A) == 0
    with database.session_scope() as s:
        assert (
            s.execute(text("SELECT status FROM generation_jobs WHERE id = :id"), {"id": job_of_b}).scalar() == "queued"
        )


def test_a_user_can_update_their_own_job(database: Database) -> None:
    own = _create_job(database, USER_A)
    assert _cancel(database, own, as_user=USER_A) == 1


def test_a_user_cannot_create_a_job_in_someone_elses_name(database: Database) -> None:
    with pytest.raises(ProgrammingError, match="row-level security"), database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A})
        s.execute(
            text(
                "INSERT INTO generation_jobs (job_type, target_conversation_ids, total_conversations, created_by) "
                "VALUES ('single', '[]', 0, :other)"
            ),
            {"other": USER_B},
        )


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM training_conversations",
        "SELECT count(*) FROM generation_jobs",
        "INSERT INTO conversation_templates (template_id, template_name, tier, template_prompt) "
        "VALUES ('x', 'x', 'tier3_edge', 'x')",
        "UPDATE training_conversations SET reviewer_notes = 'x'",
        "SELECT count(*) FROM conversation_revisions",
    ],
)
def test_anon_can_read_or_write_nothing(database: Database, statement: str) -> None:
    with pytest.raises(ProgrammingError, match="permission denied"), database.session_scope() as s:
        act_as(s, role="anon", user_id=str(uuid.uuid4()), claims={"role": "anon"})
        s.execute(text(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO conversation_revisions (conversation_id, revision_number, document, conversation_row, "
        "generation_status) SELECT id, 1, '{}', '{}', 'generated' FROM training_conversations LIMIT 1",
        "UPDATE conversation_revisions SET reason = 'regenerated'",
        "DELETE FROM conversation_revisions",
    ],
)
def test_replaced_versions_are_read_only_for_signed_in_users(database: Database, statement: str) -> None:
    """Only the worker (the tables' owner) keeps a replaced version; nobody rewrites or deletes one."""
    with database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A, "role": "authenticated"})
        assert s.execute(text("SELECT count(*) FROM conversation_revisions")).scalar_one() == 0
    with pytest.raises(ProgrammingError, match="permission denied"), database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A, "role": "authenticated"})
        s.execute(text(statement))
