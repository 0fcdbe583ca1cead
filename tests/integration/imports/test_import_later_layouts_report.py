"""The import report of a v4 training file (read in place) as the user sees it: `tds import` names the pairs
merged and the incomplete conversation, and the Import page shows per-conversation progress and a "Pairs
merged" column."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.imports.test_import_cli import _tds
from tests.integration.imports.test_import_page import HX, POLL_SECONDS, _follow, _token
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database, DatabaseTarget
from training_data_studio.imports import service
from training_data_studio.imports.schemas import ProgressEvent

V4_EXAMPLE = "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json"


def _expected(path: Path) -> tuple[int, int, int]:
    """Conversations, half pairs and conversations holding fewer pairs than declared, counted in the file."""
    blocks = json.loads(path.read_text(encoding="utf-8"))["conversations"]
    nulls = sum(1 for block in blocks for pair in block["training_pairs"] if pair["target_response"] is None)
    short = sum(1 for b in blocks if b["conversation_metadata"]["total_turns"] > len(b["training_pairs"]))
    return len(blocks), nulls, short


def test_tds_import_names_the_pairs_merged(
    db_target: DatabaseTarget, database: Database, tmp_path: Path, upstream_seeds: Path
) -> None:
    path = upstream_seeds / V4_EXAMPLE
    conversations, merged, short = _expected(path)

    result = _tds(db_target, tmp_path, "import", str(path))

    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith(f"✓ {path}"))
    assert f": {conversations} conversations (" in line
    assert f", {merged} pairs merged" in line
    assert f", {short} incomplete" in line
    assert "warning: $.conversations[0].conversation_metadata.total_turns: declares" in result.stdout


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    settings = Settings(TDS_USER="dana")  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def test_the_import_page_shows_progress_per_conversation_and_the_pairs_merged(
    client: TestClient, upstream_seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = upstream_seeds / V4_EXAMPLE
    conversations, merged, _ = _expected(path)
    second_checked = threading.Event()
    resume = threading.Event()
    real_import = service.import_uploads

    # The real import, held after its second conversation so that the page can be read mid-file.
    def import_pausing_after_the_second_conversation(**kwargs: Any) -> Any:
        report = kwargs.pop("on_progress")

        def relay(event: ProgressEvent) -> None:
            report(event)
            if event.kind == "conversation_checked" and event.conversation == 2:
                second_checked.set()
                resume.wait(POLL_SECONDS)

        return real_import(on_progress=relay, **kwargs)

    monkeypatch.setattr(service, "import_uploads", import_pausing_after_the_second_conversation)
    started = client.post("/import", files=[("files", (path.name, path.read_bytes(), "application/json"))], headers=HX)
    assert started.status_code == 200, started.text

    assert second_checked.wait(POLL_SECONDS)
    middle = client.get(f"/import/progress/{_token(started.text)}", headers=HX)
    assert f"Checked conversation 2 of {conversations} of this file…" in middle.text

    resume.set()
    summary = _follow(client, middle).text
    assert "Import finished" in summary
    assert "Pairs merged" in summary
    row = re.search(rf"<td class=\"mono\">{re.escape(path.name)}</td>(.*?)</tr>", summary, re.S)
    assert row, summary
    cells = re.findall(r'<td class="text-right">(\d+)', row.group(1))
    # Conversations, turns, sentences, pairs merged, duplicates, warnings, errors.
    assert cells[0] == str(conversations)
    assert cells[3] == str(merged)


def test_the_matrix_shows_an_incomplete_conversation_and_filters_on_it(
    client: TestClient, database: Database, upstream_seeds: Path
) -> None:
    path = upstream_seeds / V4_EXAMPLE
    blocks = json.loads(path.read_text(encoding="utf-8"))["conversations"]
    short = [
        b["conversation_metadata"]["conversation_id"]
        for b in blocks
        if b["conversation_metadata"]["total_turns"] > len(b["training_pairs"])
    ]
    assert short, "the example has a conversation holding fewer pairs than it declares"
    with database.session_scope() as session:
        service.import_paths(session=session, paths=[path], user="dana")

    page = client.get("/", params={"status": "incomplete"})

    assert page.status_code == 200, page.text
    assert '<input type="checkbox" name="status" value="incomplete" checked>' in page.text
    assert 'class="badge badge-incomplete"' in page.text
    for conversation_id in short:
        assert conversation_id in page.text
    complete = [
        b["conversation_metadata"]["conversation_id"]
        for b in blocks
        if b["conversation_metadata"]["conversation_id"] not in short
    ]
    for conversation_id in complete:
        assert conversation_id not in page.text
