"""Load the shipped plan and templates. Loading never overwrites: a row that exists (planned, imported or
generated) keeps everything it has."""

from __future__ import annotations

import csv
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..models import ConversationTemplate, ConversationTemplateVersion, TrainingConversation

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
PLAN_FILE = DATA_DIR / "plan.csv"
TEMPLATES_FILE = DATA_DIR / "templates.json"
SAMPLES_DIR = DATA_DIR / "samples"

TIERS = ("tier1_template", "tier2_scenario", "tier3_edge")
# Tier 2 and 3 rows name a scenario category in tier_template; they share one template per tier.
TEMPLATE_FOR_TIER = {"tier2_scenario": "tier2_scenario", "tier3_edge": "tier3_edge"}


class PlanRow(BaseModel):
    """One planned conversation, as shipped in data/plan.csv."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    conversation_number: int = Field(ge=1)
    conversation_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    persona_type: str = Field(min_length=1, max_length=50)
    persona_name: str = Field(min_length=1, max_length=100)
    persona_description: str | None = None
    topic_category: str = Field(min_length=1)
    topic_description: str | None = None
    tier: str = Field(pattern="^(tier1_template|tier2_scenario|tier3_edge)$")
    tier_template: str = Field(min_length=1, max_length=100)
    tier_batch: int = Field(ge=1)
    starting_emotion: str = Field(max_length=50)
    starting_emotion_intensity: Decimal = Field(ge=0, le=1)
    ending_emotion: str = Field(max_length=50)
    ending_emotion_intensity: Decimal = Field(ge=0, le=1)
    emotional_arc_description: str | None = None
    turn_count_target: int = Field(ge=1, le=6)
    is_seed_example: bool = False

    @property
    def template_key(self) -> str:
        return TEMPLATE_FOR_TIER.get(self.tier, self.tier_template)


def read_plan(path: Path = PLAN_FILE) -> list[PlanRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [PlanRow.model_validate(row) for row in csv.DictReader(handle)]


def read_templates(path: Path = TEMPLATES_FILE) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_templates(session: Session, templates: list[dict[str, Any]], *, user: str) -> int:
    """Insert templates that are not there yet; an existing template (maybe edited) is left alone."""
    columns = {c.key for c in ConversationTemplate.__table__.columns} - {"id", "created_at", "updated_at"}
    rows = [{k: v for k, v in t.items() if k in columns} | {"created_by": user} for t in templates]
    if not rows:
        return 0
    stmt = (
        insert(ConversationTemplate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["template_id"])
        .returning(ConversationTemplate.id)
    )
    inserted = [row.id for row in session.execute(stmt)]
    if inserted:
        record_current_versions(session, inserted)
    return len(inserted)


def record_current_versions(session: Session, template_ids: list[uuid.UUID]) -> None:
    """Record each template's current text as its current version (the template manager's history)."""
    source = select(
        ConversationTemplate.id,
        ConversationTemplate.version,
        ConversationTemplate.template_name,
        ConversationTemplate.template_prompt,
        ConversationTemplate.template_instructions,
        ConversationTemplate.quality_requirements,
        ConversationTemplate.created_by,
        literal("Loaded from the shipped templates"),
    ).where(ConversationTemplate.id.in_(template_ids))
    stmt = (
        insert(ConversationTemplateVersion)
        .from_select(
            [
                "template_id",
                "version",
                "template_name",
                "template_prompt",
                "template_instructions",
                "quality_requirements",
                "created_by",
                "change_note",
            ],
            source,
        )
        .on_conflict_do_nothing(index_elements=["template_id", "version"])
    )
    session.execute(stmt)


def load_plan(session: Session, rows: list[PlanRow], *, user: str) -> int:
    """Insert planned rows that are missing; returns how many were added."""
    if not rows:
        return 0
    template_ids = {
        key: ident for key, ident in session.execute(select(ConversationTemplate.template_id, ConversationTemplate.id))
    }
    values = []
    for row in rows:
        data = row.model_dump()
        data.update(
            generation_status="planned",
            template_id=template_ids.get(row.template_key),
            created_by=user,
            turn_count=0,
        )
        values.append(data)
    stmt = insert(TrainingConversation).values(values).on_conflict_do_nothing().returning(TrainingConversation.id)
    return len(session.execute(stmt).all())


def conversation_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(TrainingConversation)).scalar_one())
