"""JSON routes of the quality feature: the dashboard's data, the CSV report, bulk review actions and their
audit trail, recomputation, near-duplicates and the LLM judge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from ..core.deps import SessionDep, SettingsDep, UserDep
from ..core.storable import StorableText
from . import dashboard, duplicates, judge, report_csv, review, service
from .schemas import (
    BulkAction,
    BulkPreview,
    BulkRequest,
    BulkResult,
    DuplicateReport,
    JudgementRead,
    JudgeReport,
    JudgeRequest,
    QualityDashboard,
    QualityFilters,
    RecomputeReport,
    RecomputeRequest,
    ReviewRead,
)

router = APIRouter(prefix="/api/train-data/quality", tags=["quality"])

ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "No such conversation: `{error: {code, message}}`."},
    409: {"description": "The conversation's state does not allow this change."},
    422: {"description": "Invalid input: `{error: {code, message, fields}}`."},
}
Action = Annotated[BulkAction, Path(description="approve-perfect (approve all 5.0) or flag-low (flag all < 4.0).")]
ConversationQuery = Annotated[
    str | None, Query(pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="Only this conversation (conversation_id).")
]


@router.get("/duplicates", response_model=DuplicateReport)
def near_duplicates(
    session: SessionDep,
    user: UserDep,
    threshold: Annotated[float, Query(gt=0, le=1)] = duplicates.DEFAULT_THRESHOLD,
    status: Annotated[list[StorableText] | None, Query(description="Only conversations with these statuses.")] = None,
) -> DuplicateReport:
    """Pairs of conversations whose wording overlaps at or above the threshold (Jaccard of word 3-grams)."""
    return dashboard.duplicate_pairs(session=session, threshold=threshold, statuses=status)


@router.get("/metrics", response_model=QualityDashboard, responses={422: ERRORS[422]})
def quality_metrics(
    session: SessionDep,
    filters: Annotated[QualityFilters, Query()],
    include_duplicates: Annotated[
        bool, Query(alias="duplicates", description="Also compute near-duplicate pairs (slow on large sets).")
    ] = False,
) -> QualityDashboard:
    """The quality dashboard: averages, distributions, validation summary, comparison, ranking, filtered list."""
    return dashboard.dashboard(session=session, filters=filters, include_duplicates=include_duplicates)


@router.get("/report.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def quality_report(session: SessionDep) -> Response:
    """The quality report: one CSV row per conversation with scores, completeness, issues, status, reviewer."""
    return Response(
        report_csv.quality_report_csv(session=session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="quality-report.csv"'},
    )


@router.get("/bulk/{action}", response_model=BulkPreview, responses={422: ERRORS[422]})
def preview_bulk_action(session: SessionDep, action: Action) -> BulkPreview:
    """Which conversations a bulk action would change now; confirm by posting their ids back."""
    return review.bulk_preview(session=session, action=action)


@router.post("/bulk/{action}", response_model=BulkResult, responses={422: ERRORS[422]})
def run_bulk_action(session: SessionDep, user: UserDep, action: Action, request: BulkRequest) -> BulkResult:
    """Apply a confirmed bulk action to the listed conversations that still match it; each change is audited."""
    return review.run_bulk_action(session=session, action=action, request=request, user=user.id)


@router.get("/reviews", response_model=list[ReviewRead], responses={404: ERRORS[404], 422: ERRORS[422]})
def review_history(
    session: SessionDep,
    conversation_id: ConversationQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = review.REVIEWS_LIMIT,
) -> list[ReviewRead]:
    """The audit trail: status changes, newest first (of one conversation when given)."""
    return review.list_reviews(session=session, conversation=conversation_id, limit=limit)


@router.post("/recompute", response_model=RecomputeReport, responses={404: ERRORS[404], 422: ERRORS[422]})
def recompute(session: SessionDep, request: RecomputeRequest | None = None) -> RecomputeReport:
    """Recompute the stored metrics and checks of the listed conversations (or of all of them)."""
    ids = request.conversation_ids if request is not None else None
    return service.recompute_all(session=session, conversation_ids=ids)


@router.post(
    "/judgements",
    response_model=JudgeReport,
    responses={404: ERRORS[404], 422: ERRORS[422], 503: {"description": "No LLM is configured."}},
)
def judge_conversations(
    session: SessionDep, settings: SettingsDep, user: UserDep, request: JudgeRequest
) -> JudgeReport:
    """Ask the LLM judge to score the listed conversations against the rubric; stores each usable judgement."""
    return judge.judge_conversations(
        session=session, settings=settings, conversation_ids=request.conversation_ids, user=user.id
    )


@router.get("/judgements", response_model=list[JudgementRead], responses={404: ERRORS[404], 422: ERRORS[422]})
def judgements(
    session: SessionDep,
    conversation_id: ConversationQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JudgementRead]:
    """Stored judgements, newest first (of one conversation when given)."""
    return judge.list_judgements(session=session, conversation=conversation_id, limit=limit)
