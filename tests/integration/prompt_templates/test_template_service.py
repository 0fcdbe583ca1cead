"""The template manager's service: versions, validation, activation and previews, on a real database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from training_data_studio.core.db import Database, act_as
from training_data_studio.core.errors import AppError, ConflictError, NotFoundError
from training_data_studio.models import ConversationTemplate, ConversationTemplateVersion
from training_data_studio.plan import service as plan
from training_data_studio.prompt_templates import service
from training_data_studio.prompt_templates.schemas import TemplateUpdate


@pytest.fixture
def seeded(session: Session) -> Session:
    plan.load_templates(session, plan.read_templates(), user="dana")
    plan.load_plan(session, plan.read_plan(), user="dana")
    return session


def test_loading_templates_records_version_one(seeded: Session) -> None:
    rows = seeded.execute(select(ConversationTemplateVersion.version, ConversationTemplateVersion.created_by)).all()
    assert len(rows) == 7
    assert {tuple(row) for row in rows} == {(1, "dana")}
    # Loading again adds neither templates nor versions.
    assert plan.load_templates(seeded, plan.read_templates(), user="dana") == 0
    assert len(seeded.execute(select(ConversationTemplateVersion.id)).all()) == 7


def test_list_has_tier_version_active_and_counts(seeded: Session) -> None:
    listed = {t.template_id: t for t in service.list_templates(session=seeded)}
    assert len(listed) == 7
    tier2 = listed["tier2_scenario"]
    assert (tier2.tier, tier2.version, tier2.is_active, tier2.planned_count, tier2.generated_count) == (
        "tier2_scenario",
        1,
        True,
        35,
        0,
    )
    assert sum(t.planned_count for t in listed.values()) == 100
    assert [t.template_id for t in service.list_templates(session=seeded)][:1] == ["confusion_to_clarity"]


def test_an_edit_makes_version_two_with_a_history_row(seeded: Session) -> None:
    before = service.get_template(session=seeded, template_ref="grief_to_healing")
    changes = TemplateUpdate(
        template_prompt=before.template_prompt + "\nKeep {{persona_name}}'s pace.",
        change_note="Slow the pace",
        expected_version=1,
    )
    after = service.update_template(session=seeded, template_ref="grief_to_healing", changes=changes, user="lee")
    assert after.version == 2
    assert after.updated_by == "lee"
    assert [v.version for v in after.versions] == [2, 1]
    newest = after.versions[0]
    assert newest.template_prompt.endswith("Keep {{persona_name}}'s pace.")
    assert (newest.created_by, newest.change_note) == ("lee", "Slow the pace")
    assert after.versions[1].template_prompt == before.template_prompt


def test_an_edit_by_uuid_and_a_no_op_edit(seeded: Session) -> None:
    template = service.get_template(session=seeded, template_ref="tier3_edge")
    same = service.update_template(
        session=seeded,
        template_ref=str(template.id),
        changes=TemplateUpdate(template_name=template.template_name),
        user="lee",
    )
    assert same.version == 1
    assert len(same.versions) == 1


def test_undefined_variable_is_refused_with_its_name_and_position(seeded: Session) -> None:
    changes = TemplateUpdate(template_prompt="Intro\nWrite for {{client_age}} year olds.")
    with pytest.raises(AppError) as caught:
        service.update_template(session=seeded, template_ref="tier3_edge", changes=changes, user="lee")
    assert caught.value.status == 422
    assert "{{client_age}}" in caught.value.message
    assert "line 2, column 11" in caught.value.message
    assert caught.value.fields is not None
    assert "client_age" in caught.value.fields["template_prompt"]
    assert service.get_template(session=seeded, template_ref="tier3_edge").version == 1


def test_unbalanced_braces_are_refused(seeded: Session) -> None:
    changes = TemplateUpdate(template_prompt="Hello {{persona_name")
    with pytest.raises(AppError, match="never closed"):
        service.update_template(session=seeded, template_ref="tier3_edge", changes=changes, user="lee")


def test_a_stale_version_is_a_conflict(seeded: Session) -> None:
    service.update_template(
        session=seeded, template_ref="tier3_edge", changes=TemplateUpdate(template_name="Edge v2"), user="a"
    )
    with pytest.raises(ConflictError, match="version 2, not 1"):
        service.update_template(
            session=seeded,
            template_ref="tier3_edge",
            changes=TemplateUpdate(template_name="Edge, mine", expected_version=1),
            user="b",
        )


def test_activate_and_deactivate(seeded: Session) -> None:
    off = service.set_active(session=seeded, template_ref="tier2_scenario", active=False, user="lee")
    assert off.is_active is False
    assert off.version == 1
    stored = seeded.execute(
        select(ConversationTemplate.is_active).where(ConversationTemplate.template_id == "tier2_scenario")
    ).scalar_one()
    assert stored is False
    assert service.set_active(session=seeded, template_ref="tier2_scenario", active=True, user="lee").is_active


def test_preview_renders_a_plan_row(seeded: Session) -> None:
    preview = service.render_preview(session=seeded, template_ref="confusion_to_clarity", conversation_number=1)
    assert preview.conversation_id == "fp_marcus_002"
    assert "{{" not in preview.text
    assert "Marcus Thompson" in preview.text
    assert "Elena Morales, CFP" in preview.text
    assert "intensity about 0.8 on a 0-1 scale" in preview.text  # NUMERIC 0.80 shown as in the plan
    assert preview.variables["turn_count_target"] == "3"


def test_preview_of_missing_things(seeded: Session) -> None:
    with pytest.raises(NotFoundError):
        service.render_preview(session=seeded, template_ref="confusion_to_clarity", conversation_number=9999)
    with pytest.raises(NotFoundError):
        service.render_preview(session=seeded, template_ref="no_such_template", conversation_number=1)
    with pytest.raises(NotFoundError):
        service.get_template(session=seeded, template_ref=str(uuid.uuid4()))


def test_versions_are_readable_and_insertable_by_authenticated_users(database: Database) -> None:
    user = str(uuid.uuid4())
    with database.session_scope() as s:
        plan.load_templates(s, plan.read_templates(), user="dana")
    with database.session_scope() as s:
        act_as(s, role="authenticated", user_id=user, claims={"sub": user, "role": "authenticated"})
        edited = service.update_template(
            session=s, template_ref="tier3_edge", changes=TemplateUpdate(template_name="Edge (RLS)"), user=user
        )
        assert [v.version for v in edited.versions] == [2, 1]
    with database.session_scope() as s:
        s.execute(text("SET LOCAL ROLE anon"))
        with pytest.raises(ProgrammingError, match="permission denied"):
            s.execute(text("SELECT count(*) FROM conversation_template_versions"))
