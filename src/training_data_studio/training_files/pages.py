"""Training file pages: the list (with a create form), one file's detail, and the Matrix's
"Add to training file" dialog."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ..core.deps import SessionDep, UserDep
from ..core.errors import AppError
from ..core.templating import is_htmx, templates
from ..exports.schemas import GENERATION_STATUSES, TIERS
from ..exports.service import persona_types
from . import service
from .api import StorageDep
from .schemas import MembershipChange, Selection, TrainingFileCreate

router = APIRouter(tags=["pages"], include_in_schema=False)


def _invalid(exc: ValidationError, what: str) -> AppError:
    fields = {".".join(str(p) for p in e["loc"]) or "form": str(e["msg"]) for e in exc.errors()}
    message = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return AppError("validation_error", f"The {what} is not valid: {message}", 422, fields)


def _min_quality(text: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation as exc:
        raise AppError(
            "validation_error",
            f"Minimum quality {text!r} is not a number; use e.g. 3.5.",
            422,
            {"min_quality": "not a number"},
        ) from exc


@router.get("/training-files", response_class=HTMLResponse)
def training_files_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """Every training file, and a form to create one from filters."""
    context: dict[str, Any] = {
        "files": service.list_training_files(session=session),
        "statuses": GENERATION_STATUSES,
        "tiers": TIERS,
        "personas": persona_types(session=session),
    }
    return templates.TemplateResponse(request, "training_files.html", context)


@router.post("/training-files", response_class=HTMLResponse)
def create_from_form(
    request: Request,
    session: SessionDep,
    user: UserDep,
    storage: StorageDep,
    name: Annotated[str, Form()],
    target_model: Annotated[str, Form()] = "",
    min_quality: Annotated[str, Form()] = "",
    statuses: Annotated[list[str] | None, Form()] = None,
    tiers: Annotated[list[str] | None, Form()] = None,
    personas: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a training file from the filters and open it."""
    try:
        data = TrainingFileCreate(
            name=name.strip(),
            target_model=target_model.strip() or None,
            selection=Selection(
                statuses=statuses or [],
                tiers=tiers or [],
                personas=personas or [],
                min_quality=_min_quality(min_quality),
            ),
        )
    except ValidationError as exc:
        raise _invalid(exc, "training file") from exc
    created = service.create_training_file(session=session, data=data, user=user.id, storage=storage)
    url = f"/training-files/{created.id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/training-files/add-dialog", response_class=HTMLResponse)
def add_dialog(
    request: Request,
    session: SessionDep,
    user: UserDep,
    selected: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """The Matrix's "Add to training file" dialog for the selected rows."""
    context = {"selected": selected or [], "files": service.list_training_files(session=session)}
    return templates.TemplateResponse(request, "training_file_add_dialog.html", context)


@router.post("/training-files/add-selected", response_class=HTMLResponse)
def add_selected(
    request: Request,
    session: SessionDep,
    user: UserDep,
    storage: StorageDep,
    selected: Annotated[list[str] | None, Form()] = None,
    file: Annotated[str, Form()] = "",
    new_name: Annotated[str, Form()] = "",
) -> Response:
    """Add the selected conversations to a training file (a new one when a name is given)."""
    if not selected:
        raise AppError("selection_empty", "Select conversations on the Matrix first, then add them.", 422)
    try:
        selection = Selection(conversation_ids=selected)
        if new_name.strip():
            data = TrainingFileCreate(name=new_name.strip(), selection=selection)
            detail = service.create_training_file(session=session, data=data, user=user.id, storage=storage)
            file_id, name, version = detail.id, detail.name, detail.current_version
        elif file:
            change = MembershipChange(selection=selection)
            read = service.add_conversations(session=session, ident=file, change=change, user=user.id, storage=storage)
            current = service.get_training_file(session=session, ident=file)
            file_id, name, version = current.id, current.name, read.version_number
        else:
            raise AppError(
                "validation_error", "Choose a training file or type a name for a new one.", 422, {"file": "required"}
            )
    except ValidationError as exc:
        raise _invalid(exc, "training file") from exc
    context = {"result": {"id": file_id, "name": name, "version": version, "count": len(selected)}}
    return templates.TemplateResponse(
        request,
        "training_file_add_dialog.html",
        {**context, "selected": [], "files": []},
        block_name="add_result" if is_htmx(request) else None,
    )


@router.get("/training-files/{ident}", response_class=HTMLResponse)
def training_file_page(request: Request, ident: str, session: SessionDep, user: UserDep) -> Response:
    """One training file: its conversations, quality summary, scaffolding distribution and versions."""
    detail = service.get_training_file(session=session, ident=ident)
    return templates.TemplateResponse(request, "training_file_detail.html", {"file": detail})


@router.post("/training-files/{ident}/remove", response_class=HTMLResponse)
def remove_from_page(
    request: Request,
    ident: str,
    session: SessionDep,
    user: UserDep,
    storage: StorageDep,
    conversation_id: Annotated[str, Form()],
) -> Response:
    """Remove one conversation from the file (a new version), then show the file again."""
    try:
        change = MembershipChange(selection=Selection(conversation_ids=[conversation_id]))
    except ValidationError as exc:
        raise _invalid(exc, "removal") from exc
    service.remove_conversations(session=session, ident=ident, change=change, user=user.id, storage=storage)
    return RedirectResponse(f"/training-files/{ident}", status_code=303)
