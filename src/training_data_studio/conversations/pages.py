"""HTML routes for conversations: the Matrix (`/`) and a conversation's detail, full page or slide-over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ConfigDict

from ..core.deps import SessionDep, UserDep
from ..core.templating import templates
from . import revisions, service, turn_reviews
from .brief import BriefPlan, BriefTurn, check_brief
from .schemas import (
    PAGE_SIZES,
    QUALITY_MAX,
    QUALITY_MIN,
    STATUS_LABELS,
    TIER_LABELS,
    ConversationDetail,
    ConversationFilters,
    ConversationRow,
    StatusChange,
    TurnReviewChange,
)
from .selection import failed_conversations, remaining_conversations, seed_slot_count

router = APIRouter(tags=["pages"], include_in_schema=False)


class StatusChangeForm(StatusChange):
    """The review form's fields; it also carries the CSRF token, which the middleware has checked."""

    model_config = ConfigDict(extra="ignore")


class TurnReviewForm(TurnReviewChange):
    """The turn review form's fields; it also carries the CSRF token, which the middleware has checked."""

    model_config = ConfigDict(extra="ignore")


def _renders_block(request: Request) -> bool:
    """An HTMX swap gets the page's block alone; a history restore (back/forward cache miss) the whole page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def _display_context() -> dict[str, Any]:
    return {
        "tier_labels": TIER_LABELS,
        "status_labels": STATUS_LABELS,
        "page_sizes": PAGE_SIZES,
        "quality_bounds": (QUALITY_MIN, QUALITY_MAX),
    }


@router.get("/", response_class=HTMLResponse)
def matrix_page(request: Request, session: SessionDep, filters: Annotated[ConversationFilters, Query()]) -> Response:
    """The Matrix: every conversation, filtered, sorted and paginated from the URL's query string."""
    page = service.list_conversations(session=session, filters=filters)
    partial = _renders_block(request)
    context: dict[str, Any] = {"page": page, "filters": filters, **_display_context()}
    if not partial:
        context["options"] = service.filter_options(session=session)
        # "Process All Remaining (N)" counts exactly what it would generate.
        context["planned_count"] = len(remaining_conversations(session))
        context["failed_count"] = len(failed_conversations(session))
        context["seed_slot_count"] = seed_slot_count(session)
        # Live row updates ignore the stored events the stream starts with, older than this page.
        context["events_since"] = datetime.now(UTC).isoformat()
    response = templates.TemplateResponse(
        request, "matrix.html", context, block_name="matrix_results" if partial else None
    )
    if partial:
        # The form sends every field, empty ones too; the address bar gets the short, canonical URL instead.
        response.headers["HX-Push-Url"] = filters.url("/")
    return response


def _brief(detail: ConversationDetail) -> dict[str, Any] | None:
    """The on-brief check of a conversation's turns against its own plan row, for the detail page."""
    plan = BriefPlan(detail.topic_category, detail.topic_description, detail.starting_emotion, detail.ending_emotion)
    turns = []
    for t in detail.turns:
        ec = t.emotional_context
        labels = [e for e in (ec.primary_emotion, ec.secondary_emotion, ec.tertiary_emotion) if e] if ec else []
        if ec and ec.current_turn_emotion:
            labels.append(ec.current_turn_emotion)
        turns.append(BriefTurn(t.user_input, t.target_response, labels))
    result = check_brief(plan, turns)
    if result is None:
        return None
    return {"result": result, "summary": result.summary(plan)}


def _detail_response(request: Request, session: SessionDep, ident: str, *, status_code: int = 200) -> Response:
    detail = service.get_conversation_detail(session=session, ident=ident)
    partial = _renders_block(request)
    # The same block fills the Matrix's slide-over (which adds a close button) or stands on its own page.
    panel = partial and request.headers.get("hx-target") == "slide-over"
    context = {
        "c": detail,
        "detail_json": detail.model_dump_json(indent=2),
        "panel": panel,
        "regenerate_refusal": revisions.refusal(detail),
        "revisions": revisions.list_revisions(session, detail.id),
        "turn_reviews": turn_reviews.current_reviews(session=session, conversation=detail.id),
        "brief": _brief(detail),
        "oob": False,
        "saved": False,
        **_display_context(),
    }
    return templates.TemplateResponse(
        request,
        "conversation_detail.html",
        context,
        block_name="detail_body" if partial else None,
        status_code=status_code,
    )


@router.get("/conversations/{ident}", response_class=HTMLResponse)
def conversation_page(request: Request, session: SessionDep, ident: str) -> Response:
    """A conversation's detail: the full page, or the slide-over's content for an HTMX request."""
    return _detail_response(request, session, ident)


@router.get("/conversations/{ident}/row", response_class=HTMLResponse)
def conversation_row(request: Request, session: SessionDep, ident: str) -> Response:
    """One Matrix row alone, for refreshing it in place when generation changes its status."""
    detail = service.get_conversation_detail(session=session, ident=ident)
    row = ConversationRow.model_validate(detail.model_dump(include=set(ConversationRow.model_fields)))
    return templates.TemplateResponse(
        request, "matrix.html", {"row": row, **_display_context()}, block_name="matrix_row"
    )


@router.post("/conversations/{ident}/status", response_class=HTMLResponse)
def conversation_status_form(
    request: Request,
    session: SessionDep,
    user: UserDep,
    ident: str,
    form: Annotated[StatusChangeForm, Form()],
) -> Response:
    """Record a review decision from the detail's buttons, then show the updated detail."""
    change = StatusChange(status=form.status, reviewer_notes=form.reviewer_notes)
    result = service.change_status(session=session, ident=ident, change=change, user=user.id)
    if not _renders_block(request):  # a plain form post (no JavaScript): back to the page, as a GET
        return RedirectResponse(f"/conversations/{result.conversation_id}", status_code=303)
    response = _detail_response(request, session, ident)
    label = STATUS_LABELS.get(result.generation_status, result.generation_status).lower()
    toast = {"message": f"{result.conversation_id} marked {label}.", "kind": "success"}
    response.headers["HX-Trigger"] = json.dumps({"showToast": toast})
    return response


@router.post("/conversations/{ident}/turns/{turn_number}/review", response_class=HTMLResponse)
def turn_review_form(
    request: Request,
    session: SessionDep,
    user: UserDep,
    ident: str,
    turn_number: Annotated[int, Path(ge=1, le=10_000)],
    form: Annotated[TurnReviewForm, Form()],
) -> Response:
    """Save one turn's note and flag from the detail, then show that turn's review form again."""
    change = TurnReviewChange(note=form.note, flagged=form.flagged)
    saved = turn_reviews.save_review(session=session, ident=ident, turn_number=turn_number, change=change, user=user.id)
    detail = service.get_conversation_detail(session=session, ident=ident)
    if not _renders_block(request):  # a plain form post (no JavaScript): back to the page, as a GET
        return RedirectResponse(f"/conversations/{detail.conversation_id}", status_code=303)
    context = {
        "c": {"conversation_id": detail.conversation_id, "conversation_number": detail.conversation_number},
        "t": {"turn_number": turn_number},
        "n": detail.conversation_number,
        "turn_reviews": {turn_number: saved} if saved else {},
        "oob": True,
        "saved": True,
        **_display_context(),
    }
    response = templates.TemplateResponse(request, "conversation_detail.html", context, block_name="turn_review")
    state = "flagged" if saved and saved.flagged else "not flagged"
    toast = {"message": f"Turn {turn_number} of {detail.conversation_id} saved ({state}).", "kind": "success"}
    response.headers["HX-Trigger"] = json.dumps({"showToast": toast})
    return response
