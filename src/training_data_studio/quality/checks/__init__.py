"""Deterministic quality checks over a conversation document: computed, not taken on trust.

Three groups, one module each: :mod:`.completeness` (is every part of the annotation there),
:mod:`.counts` (turns, sentences, words, words per sentence) and :mod:`.voice` (the consultant's habits a
program can test). Every check is a pure function of the document (and its tier) that passes, fails with
one issue per place to fix ("Missing emotional indicators on turn 2" -> "Review turn 2: ..."), or does not
apply.

:func:`evaluate` is the one computation behind a ``quality_metrics`` row: the importer's counts and
self-reported scores (``quality/metrics.py``) plus every check. ``save_conversation`` (import and
generation) stores it with the conversation; ``quality.service.recompute_metrics`` recomputes it.

Row semantics
-------------
* ``computed_score``: the share of applicable checks passed (0..1);
* ``checks``: every check's result; ``issues``: every failed check's issues, then a warning for each
  self-reported score below 4.0 ("Low brand voice score (3.5/5.0)" -> "Review Elena consistency");
* ``all_required_fields_complete``: every completeness check passed;
* ``ready_for_training``: complete, and approved or a seed example, and not flagged (a reviewer's flag
  outranks the seed flag); ``needs_review``: not ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ...conversations.document import TrainingPair
from ...conversations.readiness import is_ready_for_training
from ..metrics import ConversationMetrics, compute_metrics
from . import completeness, counts, voice
from .base import Check, CheckResult, ConversationView, Group, QualityIssue, Severity

__all__ = [
    "ALL_CHECKS",
    "CHECK_LABELS",
    "COMPLETENESS_KEYS",
    "CheckResult",
    "Group",
    "QualityEvaluation",
    "QualityIssue",
    "evaluate",
    "is_ready_for_training",
    "run_checks",
]

ALL_CHECKS: tuple[Check, ...] = (*completeness.CHECKS, *counts.CHECKS, *voice.CHECKS)
CHECK_LABELS: dict[str, str] = {check.key: check.label for check in ALL_CHECKS}
COMPLETENESS_KEYS: tuple[str, ...] = tuple(check.key for check in completeness.CHECKS)

# A self-reported score below this gets a warning issue (the requirement's "flag all < 4.0").
SELF_REPORTED_FLOOR = Decimal("4.0")
# Self-reported score column -> (name in the issue, what to review).
SCORE_GUIDANCE: dict[str, tuple[str, str]] = {
    "overall_quality_score": ("overall quality", "Review the whole conversation"),
    "empathy_score": ("empathy", "Review emotional attunement: name and validate the client's feelings"),
    "clarity_score": ("clarity", "Review explanations for plain language and one idea at a time"),
    "appropriateness_score": ("appropriateness", "Review boundaries, referrals and tone"),
    "brand_voice_alignment": ("brand voice", "Review Elena consistency"),
}
_THREE_DECIMALS = Decimal("0.001")
_METRIC_COLUMNS = tuple(field.name for field in fields(ConversationMetrics))


def run_checks(
    pairs: Sequence[TrainingPair], *, tier: str | None = None, metrics: ConversationMetrics | None = None
) -> list[CheckResult]:
    """Every check, in a fixed order (completeness, counts, voice), over one conversation's pairs."""
    view = ConversationView(pairs, tier, metrics)
    return [check(view) for check in ALL_CHECKS]


def _score_issues(metrics: ConversationMetrics) -> list[QualityIssue]:
    issues = []
    for column, (name, action) in SCORE_GUIDANCE.items():
        value: Decimal | None = getattr(metrics, column)
        if value is not None and value < SELF_REPORTED_FLOOR:
            issues.append(
                QualityIssue(
                    "self_reported_scores",
                    f"Low {name} score ({value}/5.0)",
                    action,
                    severity=Severity.WARNING,
                )
            )
    return issues


@dataclass(frozen=True)
class QualityEvaluation:
    metrics: ConversationMetrics
    checks: tuple[CheckResult, ...]
    score_issues: tuple[QualityIssue, ...]
    status: str
    is_seed: bool

    @property
    def applicable(self) -> int:
        return sum(1 for check in self.checks if check.applicable)

    @property
    def passed(self) -> int:
        return sum(1 for check in self.checks if check.passed)

    @property
    def computed_score(self) -> Decimal | None:
        if not self.applicable:
            return None
        return (Decimal(self.passed) / Decimal(self.applicable)).quantize(_THREE_DECIMALS, rounding=ROUND_HALF_UP)

    @property
    def complete(self) -> bool:
        results = [check for check in self.checks if check.key in COMPLETENESS_KEYS]
        return self.metrics.total_turns > 0 and all(check.passed for check in results)

    @property
    def ready_for_training(self) -> bool:
        return is_ready_for_training(complete=self.complete, status=self.status, is_seed=self.is_seed)

    @property
    def issues(self) -> list[QualityIssue]:
        return [issue for check in self.checks for issue in check.issues] + list(self.score_issues)

    def as_row(self) -> dict[str, Any]:
        """The ``quality_metrics`` columns (all but id, conversation_id, reviewer fields and timestamps)."""
        ready = self.ready_for_training
        return {
            # The importer's columns, copied shallowly (dataclasses.asdict deep-copies: slow, and all are scalars).
            **{name: getattr(self.metrics, name) for name in _METRIC_COLUMNS},
            "computed_score": self.computed_score,
            "checks": [check.as_json() for check in self.checks],
            "issues": [issue.as_json() for issue in self.issues],
            "all_required_fields_complete": self.complete,
            "ready_for_training": ready,
            "needs_review": not ready,
        }


def evaluate(
    pairs: Sequence[TrainingPair],
    *,
    tier: str | None,
    status: str,
    is_seed: bool,
    metrics: ConversationMetrics | None = None,
) -> QualityEvaluation:
    """Counts, self-reported scores and every check for one conversation (``metrics`` if already computed)."""
    measured = metrics if metrics is not None else compute_metrics(pairs)
    return QualityEvaluation(
        metrics=measured,
        checks=tuple(run_checks(pairs, tier=tier, metrics=measured)),
        score_issues=tuple(_score_issues(measured)),
        status=status,
        is_seed=is_seed,
    )
