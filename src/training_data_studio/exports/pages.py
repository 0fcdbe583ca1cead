"""The Export page: a small form that runs an export into the server-side store and links its files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from ..core.deps import SessionDep, UserDep
from ..core.errors import AppError
from ..core.templating import is_htmx, templates
from . import service
from .api import ExportsRootDep, export_read
from .schemas import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_SEED,
    DEFAULT_VAL_FRACTION,
    GENERATION_STATUSES,
    TIERS,
    ExportFormat,
    ExportMode,
    ExportOptions,
    ExportRead,
    WeightsOption,
)

router = APIRouter(tags=["pages"], include_in_schema=False)


def _context(session: SessionDep, form: dict[str, Any], result: ExportRead | None = None) -> dict[str, Any]:
    return {
        "form": form,
        "result": result,
        "formats": [f.value for f in ExportFormat],
        "modes": [m.value for m in ExportMode],
        "weights_options": [w.value for w in WeightsOption],
        "statuses": GENERATION_STATUSES,
        "tiers": TIERS,
        "personas": service.persona_types(session=session),
    }


DEFAULT_FORM: dict[str, Any] = {
    "format": ExportFormat.CHAT_JSONL.value,
    "statuses": ["approved"],
    "tiers": [],
    "personas": [],
    "mode": ExportMode.PER_CONVERSATION.value,
    "weights": "",
    "seed": DEFAULT_SEED,
    "val_fraction": DEFAULT_VAL_FRACTION,
    "max_tokens": DEFAULT_MAX_TOKENS,
    "allow_seed_copies": False,
}


@router.get("/exports", response_class=HTMLResponse)
def export_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The export form: format, selection, split and token budget."""
    return templates.TemplateResponse(request, "export_form.html", _context(session, dict(DEFAULT_FORM)))


@router.post("/exports", response_class=HTMLResponse)
def run_export_from_form(
    request: Request,
    session: SessionDep,
    user: UserDep,
    root: ExportsRootDep,
    format: Annotated[str, Form()],
    mode: Annotated[str, Form()] = ExportMode.PER_CONVERSATION.value,
    weights: Annotated[str, Form()] = "",
    seed: Annotated[int, Form()] = DEFAULT_SEED,
    val_fraction: Annotated[float, Form()] = DEFAULT_VAL_FRACTION,
    max_tokens: Annotated[int, Form()] = DEFAULT_MAX_TOKENS,
    statuses: Annotated[list[str] | None, Form()] = None,
    tiers: Annotated[list[str] | None, Form()] = None,
    personas: Annotated[list[str] | None, Form()] = None,
    allow_seed_copies: Annotated[bool, Form()] = False,
) -> Response:
    """Run the export and show its manifest summary with download links."""
    form = {
        "format": format,
        "statuses": statuses or [],
        "tiers": tiers or [],
        "personas": personas or [],
        "mode": mode,
        "weights": weights,
        "seed": seed,
        "val_fraction": val_fraction,
        "max_tokens": max_tokens,
        "allow_seed_copies": allow_seed_copies,
    }
    try:
        options = ExportOptions.model_validate({**form, "weights": weights or None, "statuses": statuses or []})
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "form": str(e["msg"]) for e in exc.errors()}
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise AppError("validation_error", f"The export options are not valid: {message}", 422, fields) from exc
    result = export_read(service.export_to_store(session=session, options=options, root=root))
    return templates.TemplateResponse(
        request,
        "export_form.html",
        _context(session, form, result),
        block_name="export_result" if is_htmx(request) else None,
    )
