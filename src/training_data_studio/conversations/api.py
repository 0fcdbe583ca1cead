"""JSON routes for conversations: the filtered list, one conversation's detail, review decisions and the
versions a regeneration replaced."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..core.deps import SessionDep, UserDep
from . import revisions, service
from .schemas import (
    ConversationDetail,
    ConversationFilters,
    ConversationPage,
    RevisionRead,
    StatusChange,
    StatusRead,
)

router = APIRouter(prefix="/api/train-data", tags=["conversations"])

ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "No such conversation: `{error: {code, message}}`."},
    409: {"description": "The conversation's state does not allow this change."},
    422: {"description": "Invalid input: `{error: {code, message, fields}}`."},
}


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
    "/conversations/{ident}/revisions",
    response_model=list[RevisionRead],
    responses={404: {"description": "No such conversation: `{error: {code, message}}`."}},
)
def list_revisions(ident: str, session: SessionDep) -> list[RevisionRead]:
    """The versions a conversation had before it was regenerated, newest first."""
    return revisions.revisions_of(session, ident)


@router.get(
    "/conversations/{ident}/revisions/{revision_number}",
    responses={404: {"description": "No such conversation or revision: `{error: {code, message}}`."}},
)
def read_revision(
    ident: str, revision_number: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep
) -> dict[str, Any]:
    """A replaced version in the single-conversation seed layout, as its export returned it then."""
    return revisions.revision_document(session, ident, revision_number)
