"""JSON routes for conversations: the filtered list, one conversation's detail, review decisions and the
versions a regeneration replaced."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..core.deps import SessionDep, UserDep
from . import revisions, service, turn_reviews
from .schemas import (
    ConversationDetail,
    ConversationFilters,
    ConversationPage,
    RevisionRead,
    StatusChange,
    StatusRead,
    TurnReviewChange,
    TurnReviewRead,
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


TURN_NUMBER = Annotated[int, Path(ge=1, le=10_000, description="The turn's number within its conversation.")]


@router.get("/conversations/{ident}/turns/{turn_number}/reviews", response_model=list[TurnReviewRead], responses=ERRORS)
def read_turn_reviews(ident: str, turn_number: TURN_NUMBER, session: SessionDep) -> list[TurnReviewRead]:
    """Every saved note and flag of one turn, newest first (the first is its current state)."""
    return turn_reviews.history(session=session, ident=ident, turn_number=turn_number)


@router.post(
    "/conversations/{ident}/turns/{turn_number}/reviews", response_model=TurnReviewRead | None, responses=ERRORS
)
def save_turn_review(
    ident: str, turn_number: TURN_NUMBER, change: TurnReviewChange, session: SessionDep, user: UserDep
) -> TurnReviewRead | None:
    """Record a note and a flag on one turn, in the reviewer's name, and return its current state; an unchanged
    state records nothing (null when the turn was never reviewed and the body says nothing either)."""
    return turn_reviews.save_review(session=session, ident=ident, turn_number=turn_number, change=change, user=user.id)
