"""JSON routes for conversations: the filtered list, one conversation's detail, review decisions, and the
detail's CSV and PDF downloads."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ..core.deps import SessionDep, UserDep
from ..core.errors import ConflictError
from . import service
from .export_csv import CSV_MEDIA_TYPE, conversation_csv
from .report_pdf import PDF_MEDIA_TYPE, conversation_report_pdf
from .schemas import ConversationDetail, ConversationFilters, ConversationPage, StatusChange, StatusRead

router = APIRouter(prefix="/api/train-data", tags=["conversations"])

ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "No such conversation: `{error: {code, message}}`."},
    409: {"description": "The conversation's state does not allow this change."},
    422: {"description": "Invalid input: `{error: {code, message, fields}}`."},
}
EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: ERRORS[404],
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
    detail = service.get_conversation_detail(session=session, ident=ident)
    if not detail.turns:
        raise ConflictError(
            f"Conversation {detail.conversation_id} (#{detail.conversation_number}) is {detail.generation_status} "
            "and has no turns yet: there is nothing to export. Import or generate it first."
        )
    return detail


@router.get("/conversations", response_model=ConversationPage, responses={422: ERRORS[422]})
def list_conversations(session: SessionDep, filters: Annotated[ConversationFilters, Query()]) -> ConversationPage:
    """One page of conversations matching every filter, with filtered and overall counts."""
    return service.list_conversations(session=session, filters=filters)


@router.get("/conversations/{ident}", response_model=ConversationDetail, responses={404: ERRORS[404]})
def read_conversation(session: SessionDep, ident: str) -> ConversationDetail:
    """A conversation (by conversation_id or uuid) with its turns, annotations and quality metrics."""
    return service.get_conversation_detail(session=session, ident=ident)


@router.patch("/conversations/{ident}/status", response_model=StatusRead, responses=ERRORS)
def change_status(session: SessionDep, user: UserDep, ident: str, change: StatusChange) -> StatusRead:
    """Mark a generated conversation reviewed, approved or flagged (or back to generated), as the current user."""
    return service.change_status(session=session, ident=ident, change=change, user=user.id)


@router.post("/conversations/{ident}/approve", response_model=StatusRead, responses=ERRORS)
def approve(session: SessionDep, user: UserDep, ident: str) -> StatusRead:
    """Approve a generated conversation for training, as the current user."""
    return service.change_status(session=session, ident=ident, change=StatusChange(status="approved"), user=user.id)


@router.get(
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


@router.get(
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
