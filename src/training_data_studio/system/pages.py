from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..core.deps import DbDep, UserDep
from ..core.templating import templates
from . import service

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/status", response_class=HTMLResponse)
def status_page(request: Request, database: DbDep, user: UserDep) -> Response:
    """The Status page: database mode, migrations, table sizes and workers; refreshes itself."""
    # Operational metadata (migration ledger, worker heartbeats) is read as the service, not through RLS.
    with database.session_scope() as session:
        report = service.status_report(session)
    return templates.TemplateResponse(
        request,
        "status.html",
        {"report": report, "target": database.target, "user": user},
        block_name="status_body" if request.headers.get("hx-request") == "true" else None,
    )
