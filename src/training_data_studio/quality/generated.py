"""The measure of a generated conversation: the usual one, plus what only generation can know.

:func:`generated_measure` returns the :class:`~training_data_studio.conversations.store.Measure` the
generator passes to ``save_conversation``: every quality check, plus

* "copies its example" (:mod:`.checks.copying`), against the texts of the examples its prompt showed;
* the generator's own warnings that no quality check measures (a score clamped into its range, with the
  original; a history given as summaries), as warning issues, so they show in review.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ..conversations.document import ConversationDoc
from ..conversations.store import Measure, Measured
from .checks import QualityIssue, evaluate
from .checks.base import Severity
from .checks.copying import copies_example
from .measure import measured
from .metrics import compute_metrics

GENERATION_CHECK = "generation_checks"


def generated_measure(*, example_texts: Sequence[str], warnings: Sequence[Mapping[str, str]]) -> Measure:
    """A measure for one generated conversation. ``warnings`` are the generator's, as ``{code, path,
    message}``."""

    def measure(doc: ConversationDoc, *, tier: str, status: str, is_seed: bool) -> Measured:
        metrics = compute_metrics(doc.pairs)
        evaluation = evaluate(doc.pairs, tier=tier, status=status, is_seed=is_seed, metrics=metrics)
        issues = tuple(
            QualityIssue(
                GENERATION_CHECK,
                f"{warning['path']}: {warning['message']}",
                "Review the value the generator kept",
                severity=Severity.WARNING,
            )
            for warning in warnings
        )
        evaluation = dataclasses.replace(
            evaluation,
            checks=(*evaluation.checks, copies_example(doc.pairs, example_texts)),
            score_issues=(*evaluation.score_issues, *issues),
        )
        return measured(metrics, evaluation)

    return measure
