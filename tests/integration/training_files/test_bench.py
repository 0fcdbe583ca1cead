"""`tds bench training-file` on a small scale: the loaded rows, the timed creation and the docs section."""

from __future__ import annotations

import json
from pathlib import Path

from training_data_studio.bench.training_file_bench import (
    TrainingFileBenchResult,
    _load,
    _timed_create,
    append_to_docs,
)
from training_data_studio.core.db import Database


def test_creates_a_file_of_the_loaded_conversations_and_writes_a_section(database: Database, tmp_path: Path) -> None:
    _load(database, 12)
    url = database.target.url.render_as_string(hide_password=False)
    seconds, peak, version = _timed_create(url, database.target.mode, str(tmp_path / "store"))
    assert version["conversation_count"] == 12
    assert version["pair_count"] >= 12
    assert seconds > 0
    assert peak > 0
    stored = next((tmp_path / "store").rglob("training-file.v4.json"))
    assert json.loads(stored.read_bytes())["training_file_metadata"]["total_conversations"] == 12

    result = TrainingFileBenchResult(12, version["pair_count"], seconds, peak, {"a": 1}, "machine", "embedded", 1.5)
    text = append_to_docs(result, tmp_path / "benchmarks.md").read_text()
    assert "## Training file (`tds bench training-file`)" in text
    assert "load average at the end 1.5" in text
