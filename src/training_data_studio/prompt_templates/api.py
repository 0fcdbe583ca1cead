"""JSON routes of the template manager. A template is addressed by its uuid or its key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..core.deps import SessionDep, UserDep
from ..core.storable import PG_INT_MAX
from . import service
from .schemas import TemplatePreview, TemplateRead, TemplateSummary, TemplateUpdate

router = APIRouter(prefix="/api/train-data/templates", tags=["templates"])


@router.get("", response_model=list[TemplateSummary])
def list_templates(session: SessionDep, user: UserDep) -> list[TemplateSummary]:
    """Every template with its tier, version, active flag and how many conversations use it."""
    return service.list_templates(session=session)


@router.get("/{template_ref}", response_model=TemplateRead)
def read_template(template_ref: str, session: SessionDep, user: UserDep) -> TemplateRead:
    """One template with its variables and its version history (newest first)."""
    return service.get_template(session=session, template_ref=template_ref)


@router.patch("/{template_ref}", response_model=TemplateRead)
def edit_template(template_ref: str, changes: TemplateUpdate, session: SessionDep, user: UserDep) -> TemplateRead:
    """Edit a template: the text is checked, then saved as a new version."""
    return service.update_template(session=session, template_ref=template_ref, changes=changes, user=user.id)


@router.post("/{template_ref}/activate", response_model=TemplateRead)
def activate_template(template_ref: str, session: SessionDep, user: UserDep) -> TemplateRead:
    """Make a template available to generation."""
    return service.set_active(session=session, template_ref=template_ref, active=True, user=user.id)


@router.post("/{template_ref}/deactivate", response_model=TemplateRead)
def deactivate_template(template_ref: str, session: SessionDep, user: UserDep) -> TemplateRead:
    """Take a template out of generation (its history and conversations stay)."""
    return service.set_active(session=session, template_ref=template_ref, active=False, user=user.id)


@router.get("/{template_ref}/preview", response_model=TemplatePreview)
def preview_template(
    template_ref: str,
    conversation_number: Annotated[int, Query(ge=1, le=PG_INT_MAX)],
    session: SessionDep,
    user: UserDep,
) -> TemplatePreview:
    """The template's prompt filled with one plan row's values, exactly as the generator would send it."""
    return service.render_preview(session=session, template_ref=template_ref, conversation_number=conversation_number)
