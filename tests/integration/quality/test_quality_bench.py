"""`tds bench quality`: the recompute path over a database, and the section it appends to the docs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from training_data_studio.bench.duplicates_bench import run_duplicates_bench
from training_data_studio.bench.quality_bench import (
    QualityBenchResult,
    append_to_docs,
    load_and_recompute,
    run_metrics_phase,
    synthetic_conversations,
)
from training_data_studio.core.db import Database
from training_data_studio.models import QualityMetrics


def test_recompute_over_the_database_and_the_docs_section(database: Database, tmp_path: Path) -> None:
    conversations = synthetic_conversations(30)
    phase = load_and_recompute(database, conversations)
    assert phase.conversations == 30
    assert phase.seconds > 0
    with database.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(QualityMetrics)) == 30
        assert s.scalar(select(func.count()).where(QualityMetrics.computed_score < 1)) > 0

    result = QualityBenchResult(run_metrics_phase(conversations), phase, run_duplicates_bench(200, 2), 100.0)
    assert "metrics: 30 conversations" in result.describe()
    docs = append_to_docs(result, tmp_path / "benchmarks.md")
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "## Quality checks and near-duplicates, " in text
    assert "- Metrics: **" in text
    assert "`recompute_all`" in text
    assert "planted pairs found 2/2" in text
