"""`tds training-file create|add|remove|list|download` on a real database and folder storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers.training_files import insert_v4_conversation
from training_data_studio import cli
from training_data_studio.core.db import Database
from training_data_studio.exports.v4_schema import schema_problems
from training_data_studio.training_files.storage import FolderStorage


def test_the_training_file_commands(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with database.session_scope() as session:
        for number in range(1, 4):
            insert_v4_conversation(session, f"conv_{number:03d}", number=number, turns=2)
    monkeypatch.setattr(cli.training_file, "connected_database", lambda: Database(database.target, pool_size=1))
    monkeypatch.setattr(cli.training_file, "_storage", lambda: FolderStorage(tmp_path / "store"))
    runner = CliRunner()

    created = runner.invoke(cli.app, ["training-file", "create", "cli-file", "conv_001", "conv_002"])
    assert created.exit_code == 0, created.output
    assert "cli-file v1: 2 conversations, 4 pairs" in created.output
    added = runner.invoke(cli.app, ["training-file", "add", "cli-file", "--status", "approved"])
    assert added.exit_code == 0, added.output
    assert "v2: 3 conversations, 6 pairs" in added.output
    removed = runner.invoke(cli.app, ["training-file", "remove", "cli-file", "conv_001"])
    assert "v3: 2 conversations" in removed.output
    listed = runner.invoke(cli.app, ["training-file", "list"])
    assert "cli-file" in listed.output
    assert "v3" in listed.output

    out = tmp_path / "out"
    out.mkdir()
    got = runner.invoke(cli.app, ["training-file", "download", "cli-file", "--out", str(out), "--version", "2"])
    assert got.exit_code == 0, got.output
    document = json.loads((out / "cli_file_v2.v4.json").read_text())
    assert schema_problems(document) == []
    assert document["training_file_metadata"]["total_conversations"] == 3
    jsonl = runner.invoke(
        cli.app, ["training-file", "download", "cli-file", "--out", str(out / "x.jsonl"), "--format", "v4-jsonl"]
    )
    assert jsonl.exit_code == 0, jsonl.output
    assert "_meta" in (out / "x.jsonl").read_text().splitlines()[0]

    duplicate = runner.invoke(cli.app, ["training-file", "create", "cli-file", "conv_003"])
    assert duplicate.exit_code == 1
    assert "exists already" in duplicate.output
    bad = runner.invoke(cli.app, ["training-file", "create", "other", "conv_003", "--status", "approved"])
    assert bad.exit_code == 2
    assert "either conversation_ids or filters" in bad.output
    wrong = runner.invoke(cli.app, ["training-file", "download", "cli-file", "--out", str(out), "--format", "csv"])
    assert wrong.exit_code == 2
