"""JSON routes of the exports: a training set (run an export into the server-side store, read its manifest,
download its files), and one conversation's detail as a CSV (one row per turn) or a PDF report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from ..conversations import service as conversations
from ..conversations.schemas import ConversationDetail
from ..core.deps import SessionDep, UserDep
from ..core.errors import ConflictError
from . import service
from .conversation_csv import CSV_MEDIA_TYPE, conversation_csv
from .conversation_pdf import PDF_MEDIA_TYPE, conversation_report_pdf
from .schemas import ExportManifest, ExportOptions, ExportRead

router = APIRouter(prefix="/api/train-data/exports", tags=["exports"])

MEDIA_TYPES = {".jsonl": "application/jsonl", ".json": "application/json"}


def get_exports_root(request: Request) -> Path:
    """Where exports are stored: ``app.state.exports_dir`` when set, else ./.data/exports."""
    root: Path = getattr(request.app.state, "exports_dir", service.DEFAULT_EXPORTS_DIR)
    return root


ExportsRootDep = Annotated[Path, Depends(get_exports_root)]


def export_read(result: service.ExportResult) -> ExportRead:
    folder = result.directory.name
    downloads = {
        name: f"/api/train-data/exports/{folder}/files/{name}"
        for name in [*result.manifest.files, service.MANIFEST_NAME]
    }
    return ExportRead(
        export_id=result.manifest.export_id,
        folder=folder,
        manifest=result.manifest,
        check=result.check,
        downloads=downloads,
    )


@router.post("", response_model=ExportRead, status_code=201)
def create_export(options: ExportOptions, session: SessionDep, user: UserDep, root: ExportsRootDep) -> ExportRead:
    """Export the selected conversations as a checked, immutable snapshot and return its manifest."""
    return export_read(service.export_to_store(session=session, options=options, root=root))


@router.get("/{export_id}", response_model=ExportManifest)
def read_export(export_id: str, user: UserDep, root: ExportsRootDep) -> ExportManifest:
    """The manifest of a stored export."""
    _, manifest = service.stored_export(root, export_id)
    return manifest


@router.get("/{export_id}/files/{name}")
def download_export_file(export_id: str, name: str, user: UserDep, root: ExportsRootDep) -> FileResponse:
    """Download one file of a stored export (only the files its manifest lists)."""
    path = service.stored_file(root, export_id, name)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"), filename=name)


# The detail view's downloads live under the conversation's own path.
conversation_router = APIRouter(prefix="/api/train-data", tags=["conversations"])

ERRORS_404 = {"description": "No such conversation: `{error: {code, message}}`."}
EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: ERRORS_404,
    409: {"description": "The conversation has no turns yet (planned, in progress or failed): nothing to export."},
}

# A conversation_id comes from imported files and the plan; only these characters go into a download's name.
UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]+")


class CSVResponse(Response):
    media_type = CSV_MEDIA_TYPE


class PDFResponse(Response):
    media_type = PDF_MEDIA_TYPE


def _download_headers(conversation_id: str, extension: str) -> dict[str, str]:
    stem = UNSAFE_FILENAME_CHARACTERS.sub("_", conversation_id).strip("._")[:100] or "conversation"
    return {"Content-Disposition": f'attachment; filename="{stem}.{extension}"'}


def _exportable_detail(session: SessionDep, ident: str) -> ConversationDetail:
    """The detail to export; 404 when unknown, 409 (as the JSON export) when it has no turns yet."""
    detail = conversations.get_conversation_detail(session=session, ident=ident)
    if not detail.turns:
        raise ConflictError(
            f"Conversation {detail.conversation_id} (#{detail.conversation_number}) is {detail.generation_status} "
            "and has no turns yet: there is nothing to export. Import or generate it first."
        )
    return detail


@conversation_router.get(
    "/conversations/{ident}/export.csv",
    response_class=CSVResponse,
    responses={
        200: {"description": "UTF-8 CSV (with a byte-order mark), a header row, then one row per turn."},
        **EXPORT_ERRORS,
    },
)
def export_conversation_csv(session: SessionDep, ident: str) -> CSVResponse:
    """One conversation (by conversation_id or uuid) as a CSV download: one row per turn with its annotations."""
    detail = _exportable_detail(session, ident)
    return CSVResponse(conversation_csv(detail), headers=_download_headers(detail.conversation_id, "csv"))


@conversation_router.get(
    "/conversations/{ident}/export.pdf",
    response_class=PDFResponse,
    responses={
        200: {
            "description": "A readable report: metadata, every turn with its annotations, quality metrics.",
            "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **EXPORT_ERRORS,
    },
)
def export_conversation_pdf(session: SessionDep, ident: str) -> PDFResponse:
    """One conversation (by conversation_id or uuid) as a PDF report download."""
    detail = _exportable_detail(session, ident)
    return PDFResponse(conversation_report_pdf(detail), headers=_download_headers(detail.conversation_id, "pdf"))
