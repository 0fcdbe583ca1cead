"""The template manager: list, read, edit (every edit is a new version), activate, preview.

A template is addressed by its uuid or by its key (``confusion_to_clarity``); both are unique.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.errors import AppError, ConflictError, NotFoundError
from ..models import ConversationTemplate, ConversationTemplateVersion, TrainingConversation
from .rendering import (
    ALLOWED_VARIABLES,
    CONSULTANT_NAME,
    TemplateProblem,
    TemplateRenderError,
    check_template,
    render_template,
    template_variables,
)
from .schemas import (
    TemplatePreview,
    TemplateRead,
    TemplateSummary,
    TemplateUpdate,
    TemplateVersionRead,
)

# Statuses of a conversation that has content (what "generated" counts on the list page).
CONTENT_STATUSES = ("generated", "reviewed", "approved", "flagged")
# Fields an edit may change; each change is recorded in a new version row.
VERSIONED_FIELDS = ("template_name", "template_prompt", "template_instructions", "quality_requirements")
_REQUIRED_FIELDS = ("template_name", "template_prompt")
_MAX_PROBLEMS_IN_MESSAGE = 5


class TemplateValidationError(AppError):
    """The edited text has placeholders that are malformed or not allowed."""

    def __init__(self, problems: dict[str, list[TemplateProblem]]) -> None:
        self.problems = problems
        fields = {name: _describe(found) for name, found in problems.items() if found}
        first_field, first = next((name, found) for name, found in problems.items() if found)
        label = first_field.replace("_", " ")
        super().__init__("template_invalid", f"The {label} is not valid: {_describe(first)}", status=422, fields=fields)


def _describe(problems: list[TemplateProblem]) -> str:
    shown = [f"{p.message} (line {p.line}, column {p.column})" for p in problems[:_MAX_PROBLEMS_IN_MESSAGE]]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _reference_filter(ref: str | uuid.UUID) -> Any:
    if isinstance(ref, uuid.UUID):
        return ConversationTemplate.id == ref
    try:
        return ConversationTemplate.id == uuid.UUID(ref)
    except ValueError:
        return ConversationTemplate.template_id == ref


def _find(session: Session, ref: str | uuid.UUID, *, lock: bool = False) -> ConversationTemplate:
    stmt = select(ConversationTemplate).where(_reference_filter(ref))
    if lock:
        stmt = stmt.with_for_update()
    template = session.execute(stmt).scalar_one_or_none()
    if template is None:
        raise NotFoundError("Template", ref)
    return template


def list_templates(*, session: Session) -> list[TemplateSummary]:
    counts = (
        select(
            TrainingConversation.template_id.label("template_id"),
            func.count().label("planned"),
            func.count().filter(TrainingConversation.generation_status.in_(CONTENT_STATUSES)).label("generated"),
        )
        .group_by(TrainingConversation.template_id)
        .subquery()
    )
    t = ConversationTemplate
    rows = session.execute(
        select(
            t.id,
            t.template_id,
            t.template_name,
            t.letter,
            t.tier,
            t.version,
            t.is_active,
            t.target_conversation_count,
            t.updated_at,
            func.coalesce(counts.c.planned, 0).label("planned_count"),
            func.coalesce(counts.c.generated, 0).label("generated_count"),
        )
        .outerjoin(counts, counts.c.template_id == t.id)
        .order_by(t.tier, t.letter.nulls_last(), t.template_id)
    )
    return [TemplateSummary.model_validate(row._asdict()) for row in rows]


def get_template(*, session: Session, template_ref: str | uuid.UUID) -> TemplateRead:
    template = _find(session, template_ref)
    versions = session.execute(
        select(ConversationTemplateVersion)
        .where(ConversationTemplateVersion.template_id == template.id)
        .order_by(ConversationTemplateVersion.version.desc())
    ).scalars()
    read = TemplateRead.model_validate(template)
    read.variables = template_variables(template.template_prompt)
    read.versions = [TemplateVersionRead.model_validate(v) for v in versions]
    return read


def validate_text(text: str) -> list[TemplateProblem]:
    """Problems of a prompt or instructions text: malformed placeholders and unknown variables."""
    return check_template(text, ALLOWED_VARIABLES)


def update_template(
    *, session: Session, template_ref: str | uuid.UUID, changes: TemplateUpdate, user: str
) -> TemplateRead:
    """Apply an edit as a new version. An edit that changes nothing makes no version."""
    template = _find(session, template_ref, lock=True)
    if changes.expected_version is not None and changes.expected_version != template.version:
        raise ConflictError(
            f"Template {template.template_id} is at version {template.version}, not {changes.expected_version}: "
            "someone saved it meanwhile. Reload it and apply your edit again."
        )
    data = changes.model_dump(exclude_unset=True, include=set(VERSIONED_FIELDS))
    for name in _REQUIRED_FIELDS:
        if name in data and data[name] is None:
            raise AppError("validation_error", f"{name} cannot be empty.", status=422, fields={name: "required"})
    problems = {
        name: validate_text(data[name])
        for name in ("template_prompt", "template_instructions")
        if isinstance(data.get(name), str)
    }
    if any(problems.values()):
        raise TemplateValidationError(problems)

    changed = {name: value for name, value in data.items() if getattr(template, name) != value}
    if not changed:
        return get_template(session=session, template_ref=template.id)
    for name, value in changed.items():
        setattr(template, name, value)
    template.version += 1
    template.updated_by = user
    session.add(
        ConversationTemplateVersion(
            template_id=template.id,
            version=template.version,
            template_name=template.template_name,
            template_prompt=template.template_prompt,
            template_instructions=template.template_instructions,
            quality_requirements=template.quality_requirements,
            created_by=user,
            change_note=changes.change_note,
        )
    )
    session.flush()
    return get_template(session=session, template_ref=template.id)


def set_active(*, session: Session, template_ref: str | uuid.UUID, active: bool, user: str) -> TemplateRead:
    """Switch a template on or off for generation; not a text edit, so no new version."""
    template = _find(session, template_ref, lock=True)
    if template.is_active != active:
        template.is_active = active
        template.updated_by = user
        session.flush()
    return get_template(session=session, template_ref=template.id)


def _variable_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 0.80 -> "0.8", as written in the plan
    return str(value)


def plan_variables(session: Session, conversation_number: int) -> tuple[str, dict[str, str | None]]:
    """The template variables of one plan row (plus consultant_name), as text."""
    names = sorted(ALLOWED_VARIABLES - {"consultant_name"})
    columns = [getattr(TrainingConversation, name) for name in names]
    row = session.execute(
        select(*columns).where(TrainingConversation.conversation_number == conversation_number)
    ).one_or_none()
    if row is None:
        raise NotFoundError("Conversation number", conversation_number)
    values = {name: _variable_text(value) for name, value in zip(names, row, strict=True)}
    values["consultant_name"] = CONSULTANT_NAME
    return str(values["conversation_id"]), values


def render_preview(
    *, session: Session, template_ref: str | uuid.UUID, conversation_number: int, text: str | None = None
) -> TemplatePreview:
    """The template's prompt (or a draft ``text``) filled with one plan row's values."""
    template = _find(session, template_ref)
    conversation_id, values = plan_variables(session, conversation_number)
    source = template.template_prompt if text is None else text
    try:
        rendered = render_template(source, values)
    except TemplateRenderError as exc:
        raise AppError(
            "template_render",
            f"Cannot fill template {template.template_id} for conversation {conversation_number}: {exc}",
            status=422,
        ) from exc
    used = template_variables(source)
    return TemplatePreview(
        template_id=template.template_id,
        version=template.version,
        conversation_number=conversation_number,
        conversation_id=conversation_id,
        text=rendered,
        variables={name: values[name] or "" for name in used},
    )


def plan_rows_for(*, session: Session, template_ref: str | uuid.UUID, limit: int = 200) -> list[tuple[int, str]]:
    """(number, conversation id) of the plan rows that use a template, for the preview picker."""
    template = _find(session, template_ref)
    rows = session.execute(
        select(TrainingConversation.conversation_number, TrainingConversation.conversation_id)
        .where(TrainingConversation.template_id == template.id)
        .order_by(TrainingConversation.conversation_number)
        .limit(limit)
    )
    return [(number, ident) for number, ident in rows]
