"""The `tds bench import` entry in docs/benchmarks.md: machine, date, load, that the quality checks ran, and a
verdict that counts only turns and quality rows found in the database."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from training_data_studio.bench.import_bench import ImportBenchResult, append_to_docs
from training_data_studio.quality.checks import ALL_CHECKS

RESULT = ImportBenchResult(
    mode="server",
    server_version="15.20",
    files=9,
    copies=100,
    conversations=900,
    turns=3500,
    sentences=27300,
    seconds=5.0,
    parse_seconds=1.0,
    errors=0,
    client_cpu_seconds=4.2,
    server_cpu_seconds=4.1,
    load_average=(0.4, 1.3),
    turns_written=3500,
    quality_rows=900,
)


def test_the_entry_names_machine_date_load_and_the_quality_checks(tmp_path: Path) -> None:
    path = append_to_docs(RESULT, tmp_path / "benchmarks.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n")
    assert re.search(r"## Seed import \(server database\), \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert "CPUs, Python" in text
    assert "Load average: 0.4 at the start, 1.3 at the end" in text
    assert f"all {len(ALL_CHECKS)} computed checks run on every conversation" in text
    assert "3500 turns and 900 quality_metrics rows counted in the database" in text
    assert "**700 turns/s**" in text
    assert "Target: >= 500 turns/s: met" in text


def test_the_target_needs_every_turn_and_quality_row_in_the_database() -> None:
    assert RESULT.met_target
    assert not dataclasses.replace(RESULT, turns_written=3499).met_target
    assert not dataclasses.replace(RESULT, quality_rows=899).met_target
    assert not dataclasses.replace(RESULT, seconds=7.1).met_target
    assert not dataclasses.replace(RESULT, errors=1).met_target
