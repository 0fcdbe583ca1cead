"""The Import page: upload with live progress per file, the summary, dry run, the runs list, a run's detail and
rolling a run back from the page."""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, text

from tests.helpers.seed_files import good_seed, table_counts
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.core.errors import AppError
from training_data_studio.imports import pages, service
from training_data_studio.imports.pages import ImportProgressStore
from training_data_studio.imports.schemas import ProgressEvent
from training_data_studio.models import ImportRun, TrainingConversation, TrainingTurn

HX = {"HX-Request": "true"}
POLL = re.compile(r'hx-get="(/import/progress/[^"]+)"\s+hx-trigger="every 300ms"')
# Not JSON: a doubled comma on line 3.
BROKEN = b'{\n  "training_pairs": [\n    {"id": "x",,}\n  ]\n}\n'
POLL_SECONDS = 30


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    settings = Settings(TDS_USER="dana")  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _file(name: str, content: bytes) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, content, "application/json"))


def _seed(conversation_id: str, turns: int = 2) -> bytes:
    return json.dumps(good_seed(conversation_id, turns)).encode("utf-8")


def _poll_url(panel: str) -> str | None:
    match = POLL.search(panel)
    return html.unescape(match.group(1)) if match else None


def _token(panel: str) -> str:
    match = re.search(r"/import/progress/([\w-]+)", panel)
    assert match, panel
    return match.group(1)


def _follow(client: TestClient, response: httpx.Response) -> httpx.Response:
    """Poll as the browser does (the panel's own URL) until the panel stops polling; the last 200 answer."""
    deadline = time.monotonic() + POLL_SECONDS
    while (url := _poll_url(response.text)) is not None:
        assert time.monotonic() < deadline, f"the import did not finish within {POLL_SECONDS} s"
        time.sleep(0.05)
        polled = client.get(url, headers=HX)
        assert polled.status_code in (200, 204), polled.text
        if polled.status_code == 200:
            response = polled
    return response


def _stat(panel: str, label: str) -> int:
    match = re.search(rf'<span class="stat-label">{label}</span>\s*<span class="stat-value">(\d+)</span>', panel)
    assert match, f"no {label} tile in the summary"
    return int(match.group(1))


def _import(client: TestClient, *files: tuple[str, tuple[str, bytes, str]], **form: str) -> httpx.Response:
    started = client.post("/import", files=list(files), data=form, headers=HX)
    assert started.status_code == 200, started.text
    return _follow(client, started)


def _run_id(summary: str) -> uuid.UUID:
    match = re.search(r'href="/import/runs/([0-9a-f-]{36})"', summary)
    assert match, summary
    return uuid.UUID(match.group(1))


def test_the_page_renders_the_form_and_an_empty_runs_list(client: TestClient) -> None:
    page = client.get("/import")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/import" class="is-active" aria-current="page">Import</a>' in text
    # The drop zone is the label of a real, keyboard-reachable file input.
    assert re.search(r'<label class="dropzone" for="import-files" data-dropzone>', text)
    assert re.search(
        r'<input id="import-files" name="files" type="file" accept="\.json,application/json" multiple', text
    )
    assert 'hx-post="/import" hx-encoding="multipart/form-data"' in text
    for option in ("repair", "replace", "dry_run"):
        hint = f"import-{option.replace('_', '-')}-hint"
        assert f'name="{option}" value="true" aria-describedby="{hint}"' in text
        assert f'id="{hint}"' in text
    assert '<div id="import-live" aria-live="polite">' in text
    assert "No import yet" in text


def test_upload_shows_progress_per_file_then_a_summary_naming_each_error(
    client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_file_done = threading.Event()
    resume = threading.Event()
    real_import = service.import_uploads

    def import_pausing_after_the_first_file(**kwargs: Any) -> Any:
        report = kwargs.pop("on_progress")

        def relay(event: ProgressEvent) -> None:
            report(event)
            if event.kind == "file_finished" and event.index == 1:
                first_file_done.set()
                resume.wait(POLL_SECONDS)

        return real_import(on_progress=relay, **kwargs)

    monkeypatch.setattr(service, "import_uploads", import_pausing_after_the_first_file)
    with pytest.raises(json.JSONDecodeError) as syntax:
        json.loads(BROKEN)
    place = f"line {syntax.value.lineno}, column {syntax.value.colno}"

    started = client.post(
        "/import", files=[_file("good.json", _seed("conv_good")), _file("broken.json", BROKEN)], headers=HX
    )
    assert started.status_code == 200
    assert 'id="import-progress"' in started.text
    assert _poll_url(started.text) is not None
    assert "<html" not in started.text  # the panel alone, not the page

    assert first_file_done.wait(POLL_SECONDS)
    middle = client.get(f"/import/progress/{_token(started.text)}", headers=HX)
    assert middle.status_code == 200
    assert "Importing file 1 of 2…" in middle.text
    assert "Processed 2 turns…" in middle.text
    assert "Saved 4 sentence breakdowns…" in middle.text
    assert 'aria-valuenow="1"' in middle.text
    assert "1 of 2 files done" in middle.text
    unchanged_url = _poll_url(middle.text)
    assert unchanged_url is not None
    # Nothing new while the import is paused: an empty answer, so the panel is not redrawn.
    assert client.get(unchanged_url, headers=HX).status_code == 204

    resume.set()
    finished = _follow(client, middle)
    summary = finished.text
    assert "Import finished" in summary
    assert "completed with errors" in summary
    assert (_stat(summary, "Conversations"), _stat(summary, "Turns"), _stat(summary, "Sentences")) == (1, 2, 4)
    assert (_stat(summary, "Duplicates"), _stat(summary, "Warnings"), _stat(summary, "Errors")) == (0, 0, 1)
    assert "broken.json" in summary
    assert place in summary
    assert "is not valid JSON" in summary
    assert "<code>$.training_pairs[0]</code>" in summary
    trigger = json.loads(finished.headers["HX-Trigger"])
    assert trigger["importFinished"] == _token(started.text)
    assert trigger["showToast"]["kind"] == "error"
    assert "1 of 2 file(s) failed" in trigger["showToast"]["message"]

    run_id = _run_id(summary)
    with database.session_scope() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        assert (run.status, run.created_by, run.error_count) == ("completed_with_errors", "dana", 1)
        assert session.scalars(select(TrainingConversation.conversation_id)).all() == ["conv_good"]
        assert session.scalar(select(func.count()).select_from(TrainingTurn)) == 2

    runs = client.get("/import", headers=HX)
    assert "<html" not in runs.text
    assert f'data-run-id="{run_id}"' in runs.text
    assert f'hx-post="/import/runs/{run_id}/rollback"' in runs.text


def test_a_dry_run_reports_and_writes_nothing(client: TestClient, database: Database) -> None:
    summary = _import(client, _file("a.json", _seed("conv_dry", 3)), dry_run="true").text
    assert "Dry run finished" in summary
    assert "Nothing was written" in summary
    assert (_stat(summary, "Conversations"), _stat(summary, "Turns")) == (1, 3)
    assert 'href="/import/runs/' not in summary
    with database.session_scope() as session:
        assert set(table_counts(session).values()) == {0}
    assert "No import yet" in client.get("/import").text


def test_rollback_from_the_runs_list_removes_the_runs_rows(client: TestClient, database: Database) -> None:
    run_id = _run_id(_import(client, _file("a.json", _seed("conv_a")), _file("b.json", _seed("conv_b", 3))).text)
    page = client.get("/import").text
    assert f'<dialog id="rollback-{run_id}" class="modal"' in page
    assert f'data-open-dialog="#rollback-{run_id}"' in page

    response = client.post(f"/import/runs/{run_id}/rollback", headers={**HX, "HX-Target": "import-runs"})
    assert response.status_code == 200
    assert '<section id="import-runs"' in response.text
    assert "rolled back" in response.text
    assert f'hx-post="/import/runs/{run_id}/rollback"' not in response.text
    toast = json.loads(response.headers["HX-Trigger"])["showToast"]
    assert toast == {"message": f"Rolled back import {str(run_id)[:8]}: 2 conversation(s) deleted.", "kind": "success"}
    with database.session_scope() as session:
        counts = table_counts(session)
        run = session.get(ImportRun, run_id)
        assert run is not None
        assert (run.status, run.rolled_back_by) == ("rolled_back", "dana")
    assert {table: n for table, n in counts.items() if n} == {"import_runs": 1, "import_run_items": 2}

    again = client.post(f"/import/runs/{run_id}/rollback", headers=HX)
    assert again.status_code == 204
    refused = json.loads(again.headers["HX-Trigger"])["showToast"]
    assert refused["kind"] == "error"
    assert "already rolled back" in refused["message"]


def test_a_runs_detail_lists_its_files_and_rolls_back_in_place(client: TestClient, database: Database) -> None:
    # Without JavaScript the form post waits for the import, then shows the result on its own address.
    posted = client.post(
        "/import",
        files=[_file("good.json", _seed("conv_good")), _file("broken.json", BROKEN)],
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/import/progress/")
    result = client.get(posted.headers["location"])
    assert "<html" in result.text
    assert "Import finished" in result.text
    run_id = _run_id(result.text)

    detail = client.get(f"/import/runs/{run_id}")
    assert detail.status_code == 200
    assert "good.json" in detail.text
    assert "broken.json" in detail.text
    assert "is not valid JSON" in detail.text
    assert '<a class="mono" href="/conversations/conv_good">conv_good</a>' in detail.text
    assert 'hx-target="#run-detail"' in detail.text

    response = client.post(f"/import/runs/{run_id}/rollback", headers={**HX, "HX-Target": "run-detail"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="run-detail"')
    assert '<span class="badge badge-cancelled">rolled back</span>' in response.text
    assert "Roll back</button>" not in response.text
    with database.session_scope() as session:
        assert session.scalars(select(TrainingConversation.id)).all() == []

    assert client.get(f"/import/runs/{uuid.uuid4()}").status_code == 404


def test_an_import_that_breaks_shows_the_error_in_its_summary(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_import(**kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(service, "import_uploads", broken_import)
    finished = _import(client, _file("a.json", _seed("conv_a")))
    assert "Import failed" in finished.text
    assert pages.FAILED_IMPORT_MESSAGE in finished.text
    assert "disk" not in finished.text  # the cause is logged, not shown
    assert json.loads(finished.headers["HX-Trigger"])["showToast"]["kind"] == "error"


def test_bad_requests_get_a_toast_or_a_plain_message(client: TestClient) -> None:
    nothing = client.post("/import", files=[("files", ("", b"", "application/octet-stream"))], headers=HX)
    assert nothing.status_code == 204
    assert json.loads(nothing.headers["HX-Trigger"])["showToast"] == {
        "message": "Choose at least one .json seed file to import.",
        "kind": "error",
    }
    lost = client.get("/import/progress/no-such-token", headers=HX)
    assert lost.status_code == 200
    assert "no longer followed here" in lost.text
    assert _poll_url(lost.text) is None


def test_a_signed_in_user_imports_from_the_page_under_rls(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "test-jwt-secret-that-is-long-enough-for-hs256"
    user = str(uuid.uuid4())
    claims = {"sub": user, "role": "authenticated", "aud": "authenticated", "exp": int(time.time()) + 3600}
    roles: list[str] = []
    real_import = service.import_uploads

    def import_noting_the_role(**kwargs: Any) -> Any:
        roles.append(kwargs["session"].execute(text("SELECT current_user")).scalar_one())
        return real_import(**kwargs)

    monkeypatch.setattr(service, "import_uploads", import_noting_the_role)
    settings = Settings(SUPABASE_JWT_SECRET=SecretStr(secret))  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as secured:
        assert secured.get("/import").status_code == 401
        secured.cookies.set("sb-access-token", jwt.encode(claims, secret, algorithm="HS256"))
        summary = _import(secured, _file("a.json", _seed("conv_a"))).text
        assert "Every file was imported." in summary
        assert f'data-run-id="{_run_id(summary)}"' in secured.get("/import").text
    # The background import ran as the signed-in user, under row-level security.
    assert roles == ["authenticated"]
    with database.session_scope() as session:
        assert session.scalars(select(ImportRun.created_by)).one() == user


def test_the_progress_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    store = ImportProgressStore(clock=lambda: now[0])
    running = [store.start(files=1, dry_run=False) for _ in range(pages.MAX_ACTIVE_IMPORTS)]
    with pytest.raises(AppError) as refused:
        store.start(files=1, dry_run=False)
    assert refused.value.status == 429

    store.finish(running[0].token, error="stopped")
    finished = store.get(running[0].token)
    assert finished is not None
    assert finished.finished
    assert finished.done.is_set()
    store.start(files=1, dry_run=False)  # a finished import frees its place

    now[0] += pages.KEEP_FINISHED_SECONDS + 1
    assert store.get(running[0].token) is None
    assert len(store) == pages.MAX_ACTIVE_IMPORTS

    monkeypatch.setattr(pages, "MAX_FINISHED", 2)
    for entry in running[1:]:
        now[0] += 1
        store.finish(entry.token, error="stopped")
    kept = [entry.token for entry in running if store.get(entry.token) is not None]
    assert kept == [entry.token for entry in running[-2:]]
