"""The trigger-kept group counts always equal a fresh aggregate of training_conversations."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tests.helpers import factories as f
from training_data_studio.conversations.service import dataset_counts
from training_data_studio.core.db import Database, act_as
from training_data_studio.models import TrainingConversation

C = TrainingConversation


def assert_counts_match(database: Database) -> None:
    with database.session_scope() as s:
        kept = dataset_counts(session=s)
        fresh = s.execute(
            select(
                func.count(),
                func.count().filter(C.is_seed_example),
                func.count().filter(
                    C.generation_status.in_(["generated", "reviewed", "approved", "flagged"]), ~C.is_seed_example
                ),
                func.count().filter(C.generation_status.in_(["planned", "in_progress", "failed"]), ~C.is_seed_example),
            )
        ).one()
        by_tier = {k: v for k, v in s.execute(select(C.tier, func.count()).group_by(C.tier))}
        by_persona = {k: v for k, v in s.execute(select(C.persona_type, func.count()).group_by(C.persona_type))}
    assert (kept.total, kept.seed, kept.generated, kept.remaining) == tuple(fresh)
    assert {k: v for k, v in kept.by_tier.items() if v} == by_tier
    assert {k: v for k, v in kept.by_persona.items() if v} == by_persona


def test_inserts_updates_deletes_and_truncate_keep_the_counts(database: Database) -> None:
    with database.session_scope() as s:
        ids = [f.insert_conversation(s, persona_type=p) for p in ("Marcus", "Marcus", "David", "Mixed")]
        f.insert_generated_conversation(s, persona_type="Jennifer", is_seed_example=True)
    assert_counts_match(database)

    with database.session_scope() as s:
        s.execute(update(C).where(C.id == ids[0]).values(generation_status="generated", tier="tier3_edge"))
        s.execute(update(C).values(quality_score=3.0))  # no counted column changes: nothing to move
        s.execute(delete(C).where(C.id == ids[2]))
    assert_counts_match(database)

    with database.session_scope() as s:  # an upsert that updates one row and inserts another
        existing = s.execute(select(C.conversation_number).where(C.id == ids[1])).scalar_one()
        stmt = insert(C).values(
            [
                {"conversation_id": "test_conv_upsert_a", "conversation_number": existing, "persona_type": "Mixed",
                 "persona_name": "x", "topic_category": "t", "tier": "tier2_scenario"},
                {"conversation_id": "test_conv_upsert_b", "conversation_number": 900, "persona_type": "David",
                 "persona_name": "x", "topic_category": "t", "tier": "tier2_scenario"},
            ]
        )  # fmt: skip
        s.execute(
            stmt.on_conflict_do_update(
                index_elements=[C.conversation_number], set_={"persona_type": stmt.excluded.persona_type}
            )
        )
    assert_counts_match(database)

    with database.session_scope() as s:
        s.execute(text("TRUNCATE training_conversations CASCADE"))
    assert_counts_match(database)
    with database.session_scope() as s:
        assert dataset_counts(session=s).total == 0


def test_a_rolled_back_write_leaves_the_counts_alone(database: Database) -> None:
    with database.session_scope() as s:
        f.insert_conversation(s)
    try:
        with database.session_scope() as s:
            f.insert_conversation(s)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with database.session_scope() as s:
        assert dataset_counts(session=s).total == 1


def _as_user(session: Session) -> None:
    user = str(uuid.uuid4())
    act_as(session, role="authenticated", user_id=user, claims={"sub": user, "role": "authenticated"})


def test_a_signed_in_user_keeps_the_counts_right_but_cannot_write_them(database: Database) -> None:
    with database.session_scope() as s:
        _as_user(s)
        f.insert_conversation(s, conversation_number=1)
        s.execute(update(C).values(generation_status="failed"))
    assert_counts_match(database)
    with database.session_scope() as s:
        _as_user(s)
        assert dataset_counts(session=s).total == 1
        denied = s.execute(text("SELECT has_table_privilege('conversation_counts', 'UPDATE')")).scalar_one()
        assert denied is False
