"""The Quality dashboard's reads: summaries, histograms, trend, pass rates, seed-vs-generated comparison,
template ranking, the filtered table and the near-duplicate pairs."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from ..conversations.schemas import STATUS_LABELS
from ..models import ConversationTemplate, QualityJudgement, QualityMetrics, TrainingConversation
from . import duplicates
from .checks import ALL_CHECKS, COMPLETENESS_KEYS
from .schemas import (
    Averages,
    CheckComparison,
    CheckPassRate,
    Comparison,
    DimensionComparison,
    DuplicatePairRead,
    DuplicateReport,
    HistogramBin,
    Histograms,
    IssueRead,
    JudgeAverages,
    QualityDashboard,
    QualityFilters,
    QualityPage,
    QualityRow,
    ScoreAverages,
    StatusCount,
    TemplateQuality,
    TrendPoint,
    ValidationSummary,
)

C = TrainingConversation
Q = QualityMetrics

# Differences the comparison highlights (the requirement's "significant quality deviations").
SIGNIFICANT_SCORE_DIFFERENCE = 0.5
SIGNIFICANT_PASS_RATE_POINTS = 20.0
ISSUES_SHOWN_PER_ROW = 5
TREND_MAX_DAYS = 366
_DIMENSIONS = (
    ("overall", "Overall quality", Q.overall_quality_score),
    ("empathy", "Empathy", Q.empathy_score),
    ("clarity", "Clarity", Q.clarity_score),
    ("appropriateness", "Appropriateness", Q.appropriateness_score),
    ("brand_voice", "Brand voice", Q.brand_voice_alignment),
)


# --------------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------------


def _float(value: Decimal | float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _conditions(filters: QualityFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.score_min is not None:
        conditions.append(Q.overall_quality_score >= filters.score_min)
    if filters.score_max is not None:
        conditions.append(Q.overall_quality_score <= filters.score_max)
    if filters.needs_review:
        conditions.append(Q.needs_review.is_(True))
    if filters.incomplete:
        conditions.append(Q.all_required_fields_complete.is_(False))
    if filters.status:
        conditions.append(C.generation_status.in_(filters.status))
    return conditions


def _failed_check() -> ColumnElement[bool]:
    return func.coalesce(Q.computed_score < 1, False)


def _group_summaries(session: Session) -> dict[bool, Any]:
    """Per seed flag: counts, mean scores and the validation counts."""
    rows = session.execute(
        select(
            C.is_seed_example.label("seed"),
            func.count().label("conversations"),
            *(func.avg(column).label(key) for key, _, column in _DIMENSIONS),
            func.avg(Q.computed_score).label("computed"),
            func.count().filter(Q.all_required_fields_complete).label("complete"),
            func.count().filter(Q.ready_for_training).label("ready"),
            func.count().filter(Q.needs_review).label("needs_review"),
            func.count().filter(_failed_check()).label("failed_checks"),
        )
        .select_from(Q)
        .join(C, C.id == Q.conversation_id)
        .group_by(C.is_seed_example)
    ).all()
    return {row.seed: row for row in rows}


def _averages(session: Session) -> Averages:
    overall = session.execute(
        select(*(func.avg(column) for _, _, column in _DIMENSIONS), func.avg(Q.computed_score)).select_from(Q)
    ).one()
    return Averages(
        self_reported=ScoreAverages(
            **{key: _float(value) for (key, _, _), value in zip(_DIMENSIONS, overall[:5], strict=True)}
        ),
        computed_score=_float(overall[5], 3),
        judge=_judge_averages(session),
    )


def _latest_judgements() -> Any:
    J = QualityJudgement
    return (
        select(J)
        .ext(distinct_on(J.conversation_id))
        .order_by(J.conversation_id, J.created_at.desc(), J.id.desc())
        .subquery("latest_judgement")
    )


def _judge_averages(session: Session) -> JudgeAverages:
    latest = _latest_judgements()
    row = session.execute(
        select(
            func.count(),
            func.avg(latest.c.empathy_score),
            func.avg(latest.c.clarity_score),
            func.avg(latest.c.appropriateness_score),
            func.avg(latest.c.brand_voice_score),
        ).select_from(latest)
    ).one()
    return JudgeAverages(
        judged=row[0],
        empathy=_float(row[1]),
        clarity=_float(row[2]),
        appropriateness=_float(row[3]),
        brand_voice=_float(row[4]),
    )


def _histograms(session: Session) -> Histograms:
    scores = session.execute(select(Q.overall_quality_score, Q.computed_score)).all()
    self_bins = [
        HistogramBin(label=f"{low:.1f}–{low + 0.5:.1f}" if low < 4.5 else "4.5–5.0", low=low, high=low + 0.5, count=0)
        for low in (1.0 + 0.5 * i for i in range(8))
    ]
    computed_bins = [
        HistogramBin(label=f"{10 * i}–{10 * i + 10}%", low=i / 10, high=(i + 1) / 10, count=0) for i in range(10)
    ]
    for overall, computed in scores:
        if overall is not None:
            self_bins[min(7, int((float(overall) - 1.0) / 0.5))].count += 1
        if computed is not None:
            computed_bins[min(9, int(float(computed) * 10))].count += 1
    return Histograms(self_reported=self_bins, computed=computed_bins)


def _statuses(session: Session) -> list[StatusCount]:
    rows = dict(session.execute(select(C.generation_status, func.count()).group_by(C.generation_status)).all())
    return [
        StatusCount(status=status, label=label, count=rows[status])
        for status, label in STATUS_LABELS.items()
        if status in rows
    ]


def _trend(session: Session) -> list[TrendPoint]:
    day = func.date(func.coalesce(C.generation_date, C.created_at)).label("day")
    rows = session.execute(
        select(day, func.count(), func.avg(Q.overall_quality_score), func.avg(Q.computed_score))
        .select_from(Q)
        .join(C, C.id == Q.conversation_id)
        .group_by(day)
        .order_by(day.desc())
        .limit(TREND_MAX_DAYS)
    ).all()
    return [
        TrendPoint(day=d, conversations=n, self_reported=_float(s), computed_score=_float(c, 3))
        for d, n, s, c in reversed(rows)
    ]


_PASS_RATES_SQL = text(
    """
    SELECT c.is_seed_example AS seed, e->>'key' AS key,
           count(*) FILTER (WHERE e->>'passed' = 'true') AS passed,
           count(*) FILTER (WHERE e->>'passed' IN ('true', 'false')) AS applicable
    FROM quality_metrics q
    JOIN training_conversations c ON c.id = q.conversation_id
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(q.checks, '[]'::jsonb)) AS e
    GROUP BY 1, 2
    """
)


def _pass_rates(session: Session) -> dict[bool | None, dict[str, tuple[int, int]]]:
    """{seed flag: {check key: (passed, applicable)}}, plus None for both groups together."""
    rates: dict[bool | None, dict[str, tuple[int, int]]] = {True: {}, False: {}, None: {}}
    for seed, key, passed, applicable in session.execute(_PASS_RATES_SQL):
        rates[seed][key] = (passed, applicable)
        total_passed, total_applicable = rates[None].get(key, (0, 0))
        rates[None][key] = (total_passed + passed, total_applicable + applicable)
    return rates


def _rate(counts: tuple[int, int] | None) -> float | None:
    if not counts or not counts[1]:
        return None
    return round(counts[0] / counts[1], 4)


def _check_pass_rates(rates: dict[bool | None, dict[str, tuple[int, int]]]) -> list[CheckPassRate]:
    result = []
    for check in ALL_CHECKS:
        passed, applicable = rates[None].get(check.key, (0, 0))
        result.append(
            CheckPassRate(
                key=check.key,
                label=check.label,
                group=check.group.value,
                passed=passed,
                applicable=applicable,
                rate=_rate((passed, applicable)),
            )
        )
    return result


def _difference(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else round(second - first, 2)


def _comparison(groups: dict[bool, Any], rates: dict[bool | None, dict[str, tuple[int, int]]]) -> Comparison:
    seed, generated = groups.get(True), groups.get(False)
    dimensions = []
    for key, label, _ in _DIMENSIONS:
        seed_mean = _float(getattr(seed, key)) if seed is not None else None
        generated_mean = _float(getattr(generated, key)) if generated is not None else None
        difference = _difference(seed_mean, generated_mean)
        dimensions.append(
            DimensionComparison(
                key=key,
                label=f"{label} (self-reported)",
                seed=seed_mean,
                generated=generated_mean,
                difference=difference,
                significant=difference is not None and abs(difference) >= SIGNIFICANT_SCORE_DIFFERENCE,
            )
        )
    checks = []
    seed_score = _float(seed.computed, 4) if seed is not None else None
    generated_score = _float(generated.computed, 4) if generated is not None else None
    comparisons = [("computed_score", "All checks (computed score)", seed_score, generated_score)]
    comparisons += [
        (check.key, check.label, _rate(rates[True].get(check.key)), _rate(rates[False].get(check.key)))
        for check in ALL_CHECKS
    ]
    for key, label, seed_rate, generated_rate in comparisons:
        points = None if seed_rate is None or generated_rate is None else round(100 * (generated_rate - seed_rate), 1)
        checks.append(
            CheckComparison(
                key=key,
                label=label,
                seed_rate=seed_rate,
                generated_rate=generated_rate,
                difference_points=points,
                significant=points is not None and abs(points) >= SIGNIFICANT_PASS_RATE_POINTS,
            )
        )
    return Comparison(
        seed_count=seed.conversations if seed is not None else 0,
        generated_count=generated.conversations if generated is not None else 0,
        dimensions=dimensions,
        checks=checks,
    )


def _templates(session: Session) -> list[TemplateQuality]:
    computed = func.avg(Q.computed_score)
    overall = func.avg(Q.overall_quality_score)
    rows = session.execute(
        select(
            C.tier,
            C.tier_template,
            func.max(ConversationTemplate.template_name),
            func.count(),
            overall,
            computed,
            func.count().filter(Q.ready_for_training),
        )
        .select_from(Q)
        .join(C, C.id == Q.conversation_id)
        .outerjoin(ConversationTemplate, ConversationTemplate.template_id == C.tier_template)
        .where(C.is_seed_example.is_(False), C.tier_template.is_not(None))
        .group_by(C.tier, C.tier_template)
        .order_by(computed.desc().nulls_last(), overall.desc().nulls_last(), C.tier_template)
    ).all()
    return [
        TemplateQuality(
            tier=tier,
            template=key,
            label=name or key.replace("_", " ").capitalize(),
            conversations=count,
            self_reported=_float(mean_overall),
            computed_score=_float(mean_computed, 3),
            ready_for_training=ready,
        )
        for tier, key, name, count, mean_overall, mean_computed, ready in rows
    ]


ROW_COLUMNS = (
    C.conversation_id,
    C.conversation_number,
    C.generation_status,
    C.tier,
    C.tier_template,
    C.is_seed_example,
    C.reviewed_by,
    C.review_date,
    Q.overall_quality_score,
    Q.empathy_score,
    Q.clarity_score,
    Q.appropriateness_score,
    Q.brand_voice_alignment,
    Q.computed_score,
    Q.checks,
    Q.issues,
    Q.ready_for_training,
    Q.needs_review,
)


def _quality_row(row: Any) -> QualityRow:
    checks = row.checks or []
    issues = row.issues or []
    by_key = {check.get("key"): check.get("passed") for check in checks}
    return QualityRow(
        conversation_id=row.conversation_id,
        conversation_number=row.conversation_number,
        status=row.generation_status,
        tier=row.tier,
        template=row.tier_template,
        is_seed=row.is_seed_example,
        overall=_float(row.overall_quality_score),
        empathy=_float(row.empathy_score),
        clarity=_float(row.clarity_score),
        appropriateness=_float(row.appropriateness_score),
        brand_voice=_float(row.brand_voice_alignment),
        computed_score=_float(row.computed_score, 3),
        checks_passed=sum(1 for check in checks if check.get("passed") is True),
        checks_applicable=sum(1 for check in checks if check.get("passed") is not None),
        completeness={key: by_key.get(key) for key in COMPLETENESS_KEYS},
        ready_for_training=row.ready_for_training,
        needs_review=row.needs_review,
        reviewed_by=row.reviewed_by,
        review_date=row.review_date,
        issue_count=len(issues),
        issues=[IssueRead.model_validate(issue) for issue in issues[:ISSUES_SHOWN_PER_ROW]],
    )


def quality_page(*, session: Session, filters: QualityFilters) -> QualityPage:
    """Conversations matching the filters, least-passing first, with their issues and guidance."""
    conditions = _conditions(filters)
    total = session.execute(
        select(func.count()).select_from(Q).join(C, C.id == Q.conversation_id).where(*conditions)
    ).scalar_one()
    rows = session.execute(
        select(*ROW_COLUMNS)
        .select_from(Q)
        .join(C, C.id == Q.conversation_id)
        .where(*conditions)
        .order_by(Q.computed_score.asc().nulls_first(), C.conversation_number)
        .limit(filters.page_size)
        .offset((filters.page - 1) * filters.page_size)
    ).all()
    return QualityPage(
        items=[_quality_row(row) for row in rows],
        total=total,
        page=filters.page,
        page_size=filters.page_size,
        pages=max(1, math.ceil(total / filters.page_size)),
    )


def duplicate_pairs(
    *, session: Session, threshold: float = duplicates.DEFAULT_THRESHOLD, statuses: list[str] | None = None
) -> DuplicateReport:
    """Pairs of conversations whose wording overlaps at or above the threshold (Jaccard of word 3-grams)."""
    compared, pairs = duplicates.duplicate_report(session=session, threshold=threshold, statuses=statuses)
    return DuplicateReport(
        threshold=threshold,
        conversations_compared=compared,
        pairs=[
            DuplicatePairRead(
                first_conversation_id=p.first_id,
                second_conversation_id=p.second_id,
                jaccard=round(p.jaccard, 4),
                estimated_jaccard=round(p.estimated_jaccard, 4),
            )
            for p in pairs
        ],
    )


def dashboard(*, session: Session, filters: QualityFilters, include_duplicates: bool = False) -> QualityDashboard:
    """Everything the Quality page shows: averages, charts' data, validation, comparison, ranking, the list."""
    groups = _group_summaries(session)
    rates = _pass_rates(session)
    rows = list(groups.values())
    return QualityDashboard(
        averages=_averages(session),
        histograms=_histograms(session),
        statuses=_statuses(session),
        trend=_trend(session),
        validation=ValidationSummary(
            total=sum(row.conversations for row in rows),
            complete_annotation=sum(row.complete for row in rows),
            ready_for_training=sum(row.ready for row in rows),
            needs_review=sum(row.needs_review for row in rows),
            failed_checks=sum(row.failed_checks for row in rows),
        ),
        check_pass_rates=_check_pass_rates(rates),
        comparison=_comparison(groups, rates),
        templates=_templates(session),
        conversations=quality_page(session=session, filters=filters),
        duplicates=duplicate_pairs(session=session) if include_duplicates else None,
    )
