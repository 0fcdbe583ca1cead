"""The shipped plan and templates load once and never overwrite what is already there."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from training_data_studio.models import ConversationTemplate, TrainingConversation
from training_data_studio.plan import service


def test_the_plan_has_the_requirements_distributions() -> None:
    rows = service.read_plan()
    assert [r.conversation_number for r in rows] == list(range(1, 101))
    assert len({r.conversation_id for r in rows}) == 100
    generated = [r for r in rows if r.conversation_number > 10]
    assert Counter(r.tier for r in generated) == {"tier1_template": 40, "tier2_scenario": 35, "tier3_edge": 15}
    assert Counter(r.persona_type for r in rows) == {"Marcus": 17, "Jennifer": 14, "David": 13, "Mixed": 56}
    assert sum(r.is_seed_example for r in rows) == 10


def test_every_plan_row_has_a_shipped_template() -> None:
    template_ids = {t["template_id"] for t in service.read_templates()}
    assert {r.template_key for r in service.read_plan()} <= template_ids


def test_loading_twice_adds_nothing_and_keeps_changes(session: Session) -> None:
    assert service.load_templates(session, service.read_templates(), user="dana") == 7
    assert service.load_plan(session, service.read_plan(), user="dana") == 100
    session.execute(
        update(TrainingConversation)
        .where(TrainingConversation.conversation_number == 11)
        .values(generation_status="generated", topic_category="Changed by a generation")
    )
    session.execute(
        update(ConversationTemplate)
        .where(ConversationTemplate.template_id == "tier3_edge")
        .values(template_prompt="edited")
    )

    assert service.load_templates(session, service.read_templates(), user="dana") == 0
    assert service.load_plan(session, service.read_plan(), user="dana") == 0

    row = session.execute(
        select(TrainingConversation).where(TrainingConversation.conversation_number == 11)
    ).scalar_one()
    assert (row.generation_status, row.topic_category) == ("generated", "Changed by a generation")
    prompt = session.execute(
        select(ConversationTemplate.template_prompt).where(ConversationTemplate.template_id == "tier3_edge")
    ).scalar_one()
    assert prompt == "edited"


def test_plan_rows_point_at_their_template(session: Session) -> None:
    service.load_templates(session, service.read_templates(), user="dana")
    service.load_plan(session, service.read_plan(), user="dana")
    missing = session.execute(
        select(TrainingConversation.conversation_number).where(TrainingConversation.template_id.is_(None))
    ).all()
    assert missing == []
