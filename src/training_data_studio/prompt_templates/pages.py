"""HTML pages of the template manager: the list, and one template with its edit form, live validation,
version history and a preview against a plan row."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ..core.deps import SessionDep, UserDep
from ..core.errors import AppError
from ..core.storable import PG_INT_MAX
from ..core.templating import is_htmx, templates
from . import service
from .rendering import ALLOWED_VARIABLES
from .schemas import TemplatePreview, TemplateRead, TemplateUpdate

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/templates", response_class=HTMLResponse)
def template_list_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The list of generation templates with tier, version, active flag and usage counts."""
    return templates.TemplateResponse(
        request, "prompt_template_list.html", {"templates_list": service.list_templates(session=session)}
    )


def _detail_context(
    session: SessionDep,
    template: TemplateRead,
    *,
    draft: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error_message: str | None = None,
    preview: TemplatePreview | None = None,
) -> dict[str, Any]:
    plan_rows = service.plan_rows_for(session=session, template_ref=template.id)
    form = draft or {
        "template_name": template.template_name,
        "template_prompt": template.template_prompt,
        "template_instructions": template.template_instructions or "",
        "quality_requirements": json.dumps(template.quality_requirements or {}, indent=2, ensure_ascii=False),
        "change_note": "",
    }
    return {
        "template": template,
        "form": form,
        "errors": errors or {},
        "error_message": error_message,
        "problems": [],
        "checked": False,
        "allowed_variables": sorted(ALLOWED_VARIABLES),
        "plan_rows": plan_rows,
        "preview": preview,
        "preview_error": None,
    }


@router.get("/templates/{template_ref}", response_class=HTMLResponse)
def template_detail_page(
    request: Request,
    template_ref: str,
    session: SessionDep,
    user: UserDep,
    conversation_number: Annotated[int | None, Query(ge=1, le=PG_INT_MAX)] = None,
) -> Response:
    """One template: details, edit form, version history and a preview against a plan row."""
    template = service.get_template(session=session, template_ref=template_ref)
    context = _detail_context(session, template)
    number = conversation_number or (context["plan_rows"][0][0] if context["plan_rows"] else None)
    if number is not None:
        try:
            context["preview"] = service.render_preview(
                session=session, template_ref=template.id, conversation_number=number
            )
        except AppError as exc:
            context["preview_error"] = exc.message
    return templates.TemplateResponse(request, "prompt_template_detail.html", context)


@router.post("/templates/{template_ref}/validate", response_class=HTMLResponse)
def validate_template_text(
    request: Request,
    template_ref: str,
    session: SessionDep,
    user: UserDep,
    template_prompt: Annotated[str, Form()] = "",
    template_instructions: Annotated[str, Form()] = "",
) -> Response:
    """Live feedback while editing: the problems of the draft prompt and instructions (an HTMX partial)."""
    template = service.get_template(session=session, template_ref=template_ref)
    problems = [("Prompt", p) for p in service.validate_text(_lf(template_prompt))]
    problems += [("Instructions", p) for p in service.validate_text(_lf(template_instructions))]
    context = _detail_context(session, template)
    context["problems"] = problems
    context["checked"] = True
    return templates.TemplateResponse(request, "prompt_template_detail.html", context, block_name="validation")


def _lf(text: str) -> str:
    """Browsers submit textarea lines with CRLF; stored templates use LF."""
    return text.replace("\r\n", "\n")


def _parse_requirements(raw: str) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AppError(
            "validation_error",
            f"Quality requirements are not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            status=422,
            fields={"quality_requirements": exc.msg},
        ) from exc
    if not isinstance(value, dict):
        raise AppError(
            "validation_error",
            "Quality requirements must be a JSON object.",
            status=422,
            fields={"quality_requirements": "must be a JSON object"},
        )
    return value


@router.post("/templates/{template_ref}", response_class=HTMLResponse)
def save_template(
    request: Request,
    template_ref: str,
    session: SessionDep,
    user: UserDep,
    template_name: Annotated[str, Form()],
    template_prompt: Annotated[str, Form()],
    expected_version: Annotated[int, Form()],
    template_instructions: Annotated[str, Form()] = "",
    quality_requirements: Annotated[str, Form()] = "",
    change_note: Annotated[str, Form()] = "",
) -> Response:
    """Save the edit form as a new version, or show the form again with what is wrong."""
    template_prompt, template_instructions = _lf(template_prompt), _lf(template_instructions)
    draft = {
        "template_name": template_name,
        "template_prompt": template_prompt,
        "template_instructions": template_instructions,
        "quality_requirements": quality_requirements,
        "change_note": change_note,
    }
    try:
        changes = TemplateUpdate(
            template_name=template_name,
            template_prompt=template_prompt,
            template_instructions=template_instructions or None,
            quality_requirements=_parse_requirements(quality_requirements),
            change_note=change_note or None,
            expected_version=expected_version,
        )
        template = service.update_template(session=session, template_ref=template_ref, changes=changes, user=user.id)
    except ValidationError as exc:
        fields = {str(e["loc"][0]): str(e["msg"]) for e in exc.errors()}
        return _form_again(request, session, template_ref, draft, fields, "The form has errors.", 422)
    except AppError as exc:
        # Bad text, bad JSON or a conflicting version: nothing was written, so show the draft again.
        if exc.status not in (409, 422):
            raise
        return _form_again(request, session, template_ref, draft, exc.fields or {}, exc.message, exc.status)
    return RedirectResponse(f"/templates/{template.template_id}", status_code=303)


def _form_again(
    request: Request,
    session: SessionDep,
    template_ref: str,
    draft: dict[str, str],
    errors: dict[str, str],
    message: str,
    status: int,
) -> Response:
    template = service.get_template(session=session, template_ref=template_ref)
    context = _detail_context(session, template, draft=draft, errors=errors, error_message=message)
    return templates.TemplateResponse(request, "prompt_template_detail.html", context, status_code=status)


@router.get("/templates/{template_ref}/preview", response_class=HTMLResponse)
def template_preview(
    request: Request,
    template_ref: str,
    conversation_number: Annotated[int, Query(ge=1)],
    session: SessionDep,
    user: UserDep,
) -> Response:
    """The prompt filled with a chosen plan row (an HTMX partial; the full page otherwise)."""
    if not is_htmx(request):
        return RedirectResponse(f"/templates/{template_ref}?conversation_number={conversation_number}", 303)
    template = service.get_template(session=session, template_ref=template_ref)
    context = _detail_context(session, template)
    context["preview"] = service.render_preview(
        session=session, template_ref=template.id, conversation_number=conversation_number
    )
    return templates.TemplateResponse(request, "prompt_template_detail.html", context, block_name="preview")


@router.post("/templates/{template_ref}/activate", response_class=HTMLResponse)
def activate_template_page(template_ref: str, session: SessionDep, user: UserDep) -> Response:
    """Activate a template, then show it again."""
    template = service.set_active(session=session, template_ref=template_ref, active=True, user=user.id)
    return RedirectResponse(f"/templates/{template.template_id}", status_code=303)


@router.post("/templates/{template_ref}/deactivate", response_class=HTMLResponse)
def deactivate_template_page(template_ref: str, session: SessionDep, user: UserDep) -> Response:
    """Deactivate a template, then show it again."""
    template = service.set_active(session=session, template_ref=template_ref, active=False, user=user.id)
    return RedirectResponse(f"/templates/{template.template_id}", status_code=303)
