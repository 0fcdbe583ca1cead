"""`tds bench db` on a small scale: the generated rows, the timed query and the docs section."""

from __future__ import annotations

from pathlib import Path

import pytest

from training_data_studio.bench.db_bench import (
    BENCH_FILTERS,
    DbBenchResult,
    append_to_docs,
    load_rows,
    time_query,
)
from training_data_studio.conversations.service import dataset_counts
from training_data_studio.core.db import Database
from training_data_studio.core.errors import AppError


def test_loads_rows_times_the_matrix_query_and_writes_a_section(database: Database, tmp_path: Path) -> None:
    load_rows(database.target.conninfo, 2_000)
    with database.session_scope() as s:
        counts = dataset_counts(session=s)
    assert counts.total == 2_000
    assert counts.seed == 10
    assert set(counts.by_persona) == {"Marcus", "Jennifer", "David", "Mixed"}

    timing = time_query(database, BENCH_FILTERS, "filtered", warmups=1, runs=5)
    assert len(timing.samples_ms) == 5
    assert 0 < timing.matched < 2_000
    assert timing.returned == min(50, timing.matched)
    assert timing.p50 <= timing.p95 <= timing.max

    result = DbBenchResult("embedded", "18", 2_000, 1.0, timing, timing, 0.5)
    docs = append_to_docs(result, tmp_path / "benchmarks.md")
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "## Matrix query (embedded database)" in text
    assert f"p95 {timing.p95:.2f} ms" in text

    with pytest.raises(AppError, match="already holds 2000 conversations"):
        load_rows(database.target.conninfo, 2_000)
