"""The quality report as CSV: one row per conversation, formula-safe."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import QualityMetrics, TrainingConversation
from .checks import COMPLETENESS_KEYS
from .dashboard import ROW_COLUMNS

C = TrainingConversation
Q = QualityMetrics

# --------------------------------------------------------------------------------------------------
# CSV report
# --------------------------------------------------------------------------------------------------

REPORT_COLUMNS = (
    "conversation_id",
    "conversation_number",
    "status",
    "tier",
    "template",
    "is_seed_example",
    "overall_quality_score",
    "empathy_score",
    "clarity_score",
    "appropriateness_score",
    "brand_voice_score",
    "computed_score",
    "checks_passed",
    "checks_applicable",
    *COMPLETENESS_KEYS,
    "all_required_fields_complete",
    "ready_for_training",
    "needs_review",
    "issue_count",
    "reviewed_by",
    "review_date",
)
# A cell starting with one of these is read as a formula by spreadsheets; such text gets a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float | int):
        return str(value)
    text_value = str(value)
    return "'" + text_value if text_value.startswith(_FORMULA_STARTS) else text_value


def quality_report_csv(*, session: Session) -> str:
    """One row per conversation with content: scores, computed score, completeness, issues, status, reviewer."""
    rows = session.execute(
        select(*ROW_COLUMNS, Q.all_required_fields_complete)
        .select_from(Q)
        .join(C, C.id == Q.conversation_id)
        .order_by(C.conversation_number)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        checks = row.checks or []
        by_key = {check.get("key"): check.get("passed") for check in checks}
        writer.writerow(
            _cell(value)
            for value in (
                row.conversation_id,
                row.conversation_number,
                row.generation_status,
                row.tier,
                row.tier_template,
                row.is_seed_example,
                row.overall_quality_score,
                row.empathy_score,
                row.clarity_score,
                row.appropriateness_score,
                row.brand_voice_alignment,
                row.computed_score,
                sum(1 for check in checks if check.get("passed") is True),
                sum(1 for check in checks if check.get("passed") is not None),
                *(by_key.get(key) for key in COMPLETENESS_KEYS),
                row.all_required_fields_complete,
                row.ready_for_training,
                row.needs_review,
                len(row.issues or []),
                row.reviewed_by,
                row.review_date.isoformat() if row.review_date else None,
            )
        )
    return out.getvalue()
