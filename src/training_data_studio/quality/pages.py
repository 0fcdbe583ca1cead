"""HTML routes of the quality feature: the Quality dashboard, its bulk review dialogs and the near-duplicates."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from ..conversations.schemas import STATUS_LABELS, TIER_LABELS
from ..core.deps import SessionDep, UserDep
from ..core.errors import AppError
from ..core.templating import templates
from . import dashboard, review
from .checks import CHECK_LABELS, COMPLETENESS_KEYS
from .judge import RUBRIC_VERSION
from .schemas import PAGE_SIZES, SCORE_MAX, SCORE_MIN, BulkAction, BulkRequest, QualityDashboard, QualityFilters

router = APIRouter(tags=["pages"], include_in_schema=False)

RECENT_REVIEWS = 10
# Chart colours per status, as in the style guide.
STATUS_COLOURS = {
    "planned": "#9aa3b2",
    "in_progress": "#3b6fd8",
    "incomplete": "#8a5a00",
    "generated": "#6d3bd6",
    "reviewed": "#0f7a94",
    "approved": "#17803d",
    "flagged": "#c27c0e",
    "failed": "#b42318",
}
# Short names of the completeness checks for the list's narrow column (the full label is the tooltip).
COMPLETENESS_LABELS = {
    "annotation_blocks_present": "Annotation",
    "emotional_context_complete": "Emotional context",
    "emotional_progression_tracked": "Progression",
    "primary_strategy_with_rationale": "Strategy + rationale",
    "all_sentences_analysed": "All sentences",
    "word_choice_rationales": "Rationales 3–6",
}
Action = Annotated[BulkAction, Path()]


def _renders_block(request: Request) -> bool:
    """An HTMX swap gets the page's block alone; a history restore the whole page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def _chart_data(board: QualityDashboard) -> dict[str, Any]:
    return {
        "histogram": {
            "labels": [b.label for b in board.histograms.self_reported],
            "counts": [b.count for b in board.histograms.self_reported],
        },
        "computed": {
            "labels": [b.label for b in board.histograms.computed],
            "counts": [b.count for b in board.histograms.computed],
        },
        "statuses": {
            "labels": [s.label for s in board.statuses],
            "counts": [s.count for s in board.statuses],
            "colours": [STATUS_COLOURS.get(s.status, "#9aa3b2") for s in board.statuses],
        },
        "trend": {
            "labels": [p.day.isoformat() for p in board.trend],
            "self_reported": [p.self_reported for p in board.trend],
            "computed": [None if p.computed_score is None else round(100 * p.computed_score, 1) for p in board.trend],
        },
    }


def _display_context() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "tier_labels": TIER_LABELS,
        "check_labels": CHECK_LABELS,
        "completeness_keys": COMPLETENESS_KEYS,
        "completeness_labels": COMPLETENESS_LABELS,
        "page_sizes": PAGE_SIZES,
        "score_bounds": (SCORE_MIN, SCORE_MAX),
        "statuses": list(STATUS_LABELS),
    }


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request, session: SessionDep, filters: Annotated[QualityFilters, Query()]) -> Response:
    """The Quality dashboard; an HTMX request from its filters gets the conversation list alone."""
    context: dict[str, Any] = {"filters": filters, **_display_context()}
    if _renders_block(request):
        context["page"] = dashboard.quality_page(session=session, filters=filters)
        response = templates.TemplateResponse(request, "quality_dashboard.html", context, block_name="quality_results")
        response.headers["HX-Push-Url"] = filters.url()
        return response
    board = dashboard.dashboard(session=session, filters=filters)
    context |= {
        "board": board,
        "page": board.conversations,
        "chart_data": _chart_data(board),
        "bulk_counts": review.bulk_counts(session=session),
        "reviews": review.list_reviews(session=session, limit=RECENT_REVIEWS),
        "rubric_version": RUBRIC_VERSION,
    }
    return templates.TemplateResponse(request, "quality_dashboard.html", context)


@router.get("/quality/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, session: SessionDep) -> Response:
    """Near-duplicate conversation pairs above the threshold (loaded into the dashboard after the page)."""
    report = dashboard.duplicate_pairs(session=session)
    block = "duplicates_section" if _renders_block(request) else None
    return templates.TemplateResponse(request, "quality_duplicates.html", {"report": report}, block_name=block)


@router.get("/quality/bulk/{action}", response_class=HTMLResponse)
def bulk_preview_page(request: Request, session: SessionDep, action: Action) -> Response:
    """What a bulk action would change: the list to confirm (the dashboard shows it in a dialog)."""
    preview = review.bulk_preview(session=session, action=action)
    block = "bulk_body" if _renders_block(request) else None
    return templates.TemplateResponse(
        request, "quality_bulk.html", {"preview": preview, "result": None, **_display_context()}, block_name=block
    )


@router.post("/quality/bulk/{action}", response_class=HTMLResponse)
def bulk_action_form(
    request: Request,
    session: SessionDep,
    user: UserDep,
    action: Action,
    conversation_ids: Annotated[list[str] | None, Form()] = None,
    confirm: Annotated[str, Form()] = "",
    reviewer_notes: Annotated[str, Form()] = "",
) -> Response:
    """Run a confirmed bulk action from its dialog and show what changed."""
    try:
        body = BulkRequest(
            conversation_ids=conversation_ids or [],
            confirm=confirm.strip().lower() in ("true", "on", "yes", "1"),
            reviewer_notes=reviewer_notes.strip() or None,
        )
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "form": str(e["msg"]) for e in exc.errors()}
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise AppError("validation_error", f"The bulk action was not run: {message}", 422, fields) from exc
    result = review.run_bulk_action(session=session, action=action, request=body, user=user.id)
    preview = review.bulk_preview(session=session, action=action)
    partial = _renders_block(request)
    response = templates.TemplateResponse(
        request,
        "quality_bulk.html",
        {"preview": preview, "result": result, **_display_context()},
        block_name="bulk_body" if partial else None,
    )
    verb = "approved" if result.target_status == "approved" else "flagged"
    toast = {"message": f"{len(result.changed)} conversation(s) {verb}.", "kind": "success"}
    response.headers["HX-Trigger"] = json.dumps({"showToast": toast})
    return response
