"""JSON routes: upload seed files, list and read import runs, roll a run back, export one conversation."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from ..conversations.export import export_conversation
from ..core.deps import SessionDep, UserDep
from ..core.errors import error_body
from . import runs, service
from .parsing import SeedSource
from .schemas import ImportOptions, ImportRunListItem, ImportRunSummary, RollbackSummary

router = APIRouter(prefix="/api/train-data", tags=["imports"])

# How many problems an upload failure lists in its error `fields` (the full list is in `run`).
MAX_ERROR_FIELDS = 20


def _upload_source(upload: UploadFile, index: int) -> SeedSource:
    # Only the base name: a client-sent path is never trusted or shown as ours.
    name = PurePath(upload.filename or "").name or f"upload-{index}.json"
    return SeedSource(name=name, size=upload.size, read=upload.file.read)


@router.post("/import/seed", response_model=ImportRunSummary)
def upload_seed_files(
    session: SessionDep,
    user: UserDep,
    files: Annotated[list[UploadFile], File(description="One or more seed JSON files.")],
    repair: Annotated[bool, Form()] = False,
    replace: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> Any:
    """Import uploaded seed files as one recorded run; 422 (with the run) when every file failed."""
    options = ImportOptions(repair=repair, replace=replace, dry_run=dry_run, source="upload")
    sources = [_upload_source(upload, index) for index, upload in enumerate(files, start=1)]
    summary = service.import_uploads(session=session, uploads=sources, user=user.id, options=options)
    if summary.status != "failed":
        return summary
    problems = [problem for report in summary.files for problem in report.errors]
    fields = {f"{p.file}#{i}": p.text for i, p in enumerate(problems[:MAX_ERROR_FIELDS], start=1)}
    message = f"No file could be imported: {problems[0].text}" if problems else "No file could be imported."
    # Returned rather than raised: the run record still commits, so the failure stays on record.
    body = error_body("import_failed", message, fields) | {"run": summary.model_dump(mode="json")}
    return JSONResponse(body, status_code=422)


@router.get("/import/runs", response_model=list[ImportRunListItem])
def list_import_runs(session: SessionDep, limit: int = 50) -> list[ImportRunListItem]:
    """The most recent import runs first."""
    return runs.list_runs(session=session, limit=max(1, min(limit, 500)))


@router.get("/import/runs/{run_id}", response_model=ImportRunSummary)
def read_import_run(session: SessionDep, run_id: uuid.UUID) -> ImportRunSummary:
    """One import run with its per-file report."""
    return runs.get_run(session=session, run_id=run_id)


@router.post("/import/runs/{run_id}/rollback", response_model=RollbackSummary)
def rollback_import_run(session: SessionDep, user: UserDep, run_id: uuid.UUID) -> RollbackSummary:
    """Undo what one import run wrote; 409 if a later run touched the same conversations."""
    return runs.rollback_import(session, run_id, user=user.id, own_runs_only=user.uses_rls)


@router.get("/conversations/{ident}/export")
def export_one_conversation(session: SessionDep, ident: str) -> JSONResponse:
    """One conversation in the single-file seed layout (by conversation_id or row uuid), lossless."""
    document = export_conversation(session=session, ident=ident)
    return JSONResponse(document)
