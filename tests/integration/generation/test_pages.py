"""The generation pages: the confirmation dialogs on the Matrix, starting a job from them, the jobs list, a
job's dashboard and its pause / resume / cancel / retry buttons (real Procrastinate queue, no worker)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from training_data_studio.app import create_app
from training_data_studio.conversations import selection
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.generation import schemas, service
from training_data_studio.generation.queue import ProcrastinateQueue
from training_data_studio.jobs import make_app
from training_data_studio.llm.factory import GenerationUnavailable
from training_data_studio.models import GenerationJob, GenerationJobItem, TrainingConversation
from training_data_studio.plan import service as plan

HTMX = {"HX-Request": "true"}
CONFIGURED = {"TDS_USER": "dana@example.com", "ANTHROPIC_API_KEY": "test-key"}


@pytest.fixture
def planned(database: Database) -> Database:
    """The shipped plan: 100 conversations, the ten seeds approved, 90 planned."""
    with database.session_scope() as s:
        plan.load_templates(s, plan.read_templates(), user="dana")
        plan.load_plan(s, plan.read_plan(), user="dana")
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.is_seed_example)
            .values(generation_status="approved")
        )
    return database


def _client(database: Database, **env: str) -> Iterator[TestClient]:
    settings = Settings(**env)  # type: ignore[arg-type]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


@pytest.fixture
def client(planned: Database) -> Iterator[TestClient]:
    yield from _client(planned, **CONFIGURED)


@pytest.fixture
def unconfigured(planned: Database) -> Iterator[TestClient]:
    yield from _client(planned, TDS_USER="dana", ANTHROPIC_API_KEY="", TDS_OPENAI_BASE_URL="", TDS_OPENAI_MODEL="")


def _job(database: Database, numbers: list[int], job_type: schemas.JobType = "batch") -> uuid.UUID:
    """A job created and queued as the API would (the real queue; no worker runs it)."""
    app = make_app(database.target).open()
    try:
        with database.session_scope() as s:
            job = service.create_job(
                s,
                job_type=job_type,
                conversations=selection.resolve_conversations(s, [str(n) for n in numbers]),
                options=schemas.JobOptions(budget_usd=Decimal("5")),
                user="dana",
                provider="anthropic",
                model="claude-sonnet-4-6",
            )
            service.enqueue_job(s, ProcrastinateQueue(app), job)
            return job.id
    finally:
        app.close()


def _status(database: Database, job_id: uuid.UUID) -> str:
    with database.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        return job.status


def test_the_matrix_wires_the_three_generate_buttons(client: TestClient) -> None:
    html = client.get("/").text
    assert re.search(r'id="process-all"[^>]*hx-get="/generate/process-all"', html, re.S)
    assert "Process All Remaining (90)" in html
    disabled_with_reason = (
        r'id="generate-selected" disabled\s+title="Select planned or failed[^"]*"[^>]*hx-get="/generate/batch"'
    )
    assert re.search(disabled_with_reason, html)
    assert "Generate Selected (<span data-count>0</span>)" in html
    assert 'hx-get="/generate/single?conversation=' in html
    assert 'sse-connect="/api/train-data/events"' in html
    assert 'id="generate-dialog-host"' in html
    assert 'data-status="planned"' in html


def test_a_single_row_renders_alone_for_live_refresh(client: TestClient) -> None:
    conversation_id = client.get("/api/train-data/conversations", params={"status": "planned"}).json()["items"][0][
        "conversation_id"
    ]
    response = client.get(f"/conversations/{conversation_id}/row")
    assert response.status_code == 200
    html = response.text.strip()
    assert html.startswith("<tr")
    assert html.endswith("</tr>")
    assert html.count("<tr") == 1
    assert f'data-conversation="{conversation_id}"' in html
    assert 'data-status="planned"' in html
    assert client.get("/conversations/no_such_conversation/row").status_code == 404


def test_the_single_dialog_shows_the_conversation_template_and_estimates(client: TestClient) -> None:
    response = client.get("/generate/single", params={"conversation": "11"}, headers=HTMX)
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<dialog class="modal modal-lg" id="generate-dialog"')
    assert "<html" not in html
    assert "Generate conversation #11" in html
    assert "Conversation ID" in html
    assert "Persona" in html
    assert "Emotional arc" in html
    assert re.search(r'<a href="/templates/[a-z0-9_]+">', html)  # the template that will be used
    assert "about 5 min" in html  # the default estimate before any history: four turns, one call each
    assert "$0.32" in html
    assert 'name="conversation_id"' in html
    assert 'name="economy"' not in html  # economy mode is for batches
    assert 'name="budget_usd"' in html
    # SMTP_URL is not set: the e-mail opt-in is disabled and says why.
    assert re.search(r'name="notify" value="true"\s+disabled', html)
    assert "E-mail is not configured: set SMTP_URL" in html
    assert "data-confirm-generation" in html


def test_the_single_dialog_of_a_conversation_that_is_not_planned_offers_no_confirm(client: TestClient) -> None:
    html = client.get("/generate/single", params={"conversation": "1"}, headers=HTMX).text
    assert "Only planned, failed or incomplete conversations can be generated; this one is approved." in html
    assert "data-confirm-generation" not in html
    response = client.get("/generate/single", params={"conversation": "no_such_one"}, headers=HTMX)
    assert response.status_code == 204
    assert "No conversation with id or number no_such_one" in response.headers["HX-Trigger"]


def test_the_batch_dialog_lists_the_planned_selection_totals_and_the_pacing_warning(client: TestClient) -> None:
    response = client.get("/generate/batch", params=[("selected", "11"), ("selected", "12"), ("selected", "1")])
    assert response.status_code == 200
    html = response.text
    assert "<!doctype html>" in html  # without HTMX: a page of its own
    assert "Generate selected (2)" in html
    assert "#1 (approved)" in html  # the approved seed is left out, and the dialog says so
    assert html.count('name="conversation_ids"') == 2
    assert "$0.64" in html  # 2 x the default 32 cents
    assert "10 min of model time" in html
    assert "paced by the provider's rate limits rather than strictly" in html
    assert 'name="economy" value="true"' in html
    assert "half the price (about $0.32)" in html
    assert "Generate 2 conversations" in html


def test_the_process_all_dialog_groups_by_tier_in_order(client: TestClient) -> None:
    html = client.get("/generate/process-all", headers=HTMX).text
    assert "Process all remaining (90)" in html
    tiers = re.findall(r"<dt>(Tier \d[^<]*)</dt><dd><span class=\"mono\">(\d+)</span>", html)
    assert tiers == [("Tier 1 · Template", "40"), ("Tier 2 · Scenario", "35"), ("Tier 3 · Edge", "15")]
    assert "Tier 1 → Tier 2 → Tier 3" in html
    assert "This is a long-running process. You can close the browser and check back later" in html
    assert "$28.80" in html  # 90 x 32 cents
    assert "Send email notification when complete" in html
    assert "Process all 90" in html


def test_without_a_model_the_dialog_explains_and_offers_no_confirm(unconfigured: TestClient) -> None:
    html = unconfigured.get("/generate/batch", params={"selected": ["11", "12"]}, headers=HTMX).text
    assert GenerationUnavailable().message in html
    assert "ANTHROPIC_API_KEY" in html
    assert "TDS_OPENAI_BASE_URL" in html
    assert "data-confirm-generation" not in html
    assert ">Close</button>" in html
    response = unconfigured.post("/generate/batch", data={"conversation_ids": ["11"]}, headers=HTMX)
    assert response.status_code == 204  # the error arrives as a toast
    assert "Generation is not configured" in response.headers["HX-Trigger"]


def test_confirming_starts_the_job_and_opens_its_dashboard_with_a_toast(client: TestClient, planned: Database) -> None:
    response = client.post(
        "/generate/batch",
        data={"conversation_ids": ["11", "12", "13"], "budget_usd": "12.50"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    location = response.headers["HX-Redirect"]
    job_id = uuid.UUID(location.removeprefix("/jobs/"))
    with planned.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        assert (job.job_type, job.total_conversations, job.status) == ("batch", 3, "queued")
        assert job.budget_cents == Decimal("1250")
        assert job.created_by == "dana@example.com"
        queued = s.scalar(
            select(func.count())
            .select_from(GenerationJobItem)
            .where(GenerationJobItem.procrastinate_job_id.is_not(None))
        )
        assert queued == 3
    page = client.get(location)
    assert page.status_code == 200
    assert "Job started: 3 conversations queued." in page.text  # the flash, shown once as a toast
    assert "tds_flash" in page.headers.get("set-cookie", "")  # ... and deleted
    assert "Job started" not in client.get(location).text


def test_a_plain_form_post_redirects_and_a_bad_budget_is_shown_in_the_form(
    client: TestClient, planned: Database
) -> None:
    bad = client.post("/generate/single", data={"conversation_id": "11", "budget_usd": "lots"}, headers=HTMX)
    assert bad.status_code == 200
    assert "<dialog" not in bad.text
    assert bad.text.lstrip().startswith('<form id="generate-form"')
    assert 'aria-invalid="true"' in bad.text
    assert "Enter an amount in dollars" in bad.text
    no_address = client.post("/generate/process-all", data={"notify": "true", "notify_email": ""}, headers=HTMX)
    assert "Enter the address to notify." in no_address.text
    with planned.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(GenerationJob)) == 0

    plain = client.post("/generate/single", data={"conversation_id": "11"}, follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"].startswith("/jobs/")
    again = client.post("/generate/single", data={"conversation_id": "11"}, headers=HTMX)
    assert again.status_code == 204  # already queued: a conflict, as a toast
    assert "already queued" in again.headers["HX-Trigger"]


def test_the_jobs_list_and_the_dashboard_render_from_the_database(client: TestClient, planned: Database) -> None:
    empty = client.get("/jobs").text
    assert "No generation jobs yet" in empty
    job_id = _job(planned, [11, 12, 51, 86], job_type="batch")
    listing = client.get("/jobs").text
    assert f'href="/jobs/{job_id}"' in listing
    assert "badge badge-queued" in listing
    assert "0 of 4" in listing
    assert 'sse-connect="/api/train-data/events"' in listing
    assert "<html" not in client.get("/jobs", headers=HTMX).text

    page = client.get(f"/jobs/{job_id}").text
    assert f'sse-connect="/api/train-data/jobs/{job_id}/events"' in page
    assert 'sse-swap="job_event"' in page
    assert 'hx-trigger="job-refresh"' in page
    assert "<strong>0</strong> of 4 conversations finished" in page
    for tier in ("Tier 1 · Template", "Tier 2 · Scenario", "Tier 3 · Edge"):
        assert tier in page
    assert "Job created for 4 conversations." in page  # the step log so far
    assert f'href="/api/train-data/jobs/{job_id}/log"' in page
    assert 'id="job-pause"' in page
    assert 'id="job-cancel"' in page
    assert 'id="job-resume"' not in page
    assert "of $5.00 budget" in page
    assert "waiting for a worker" in page
    live = client.get(f"/jobs/{job_id}", headers=HTMX).text
    assert "<html" not in live
    assert 'id="job-log"' not in live
    assert 'data-job-status="queued"' in live
    assert client.get(f"/jobs/{uuid.uuid4()}").status_code == 404


def test_pause_resume_and_cancel_buttons_change_the_state(client: TestClient, planned: Database) -> None:
    job_id = _job(planned, [11, 12, 13])
    paused = client.post(f"/jobs/{job_id}/pause", headers=HTMX)
    assert paused.status_code == 200
    assert 'data-job-status="paused"' in paused.text
    assert 'id="job-resume"' in paused.text
    assert 'id="job-pause"' not in paused.text
    assert "Job paused" in paused.headers["HX-Trigger"]
    assert _status(planned, job_id) == "paused"

    again = client.post(f"/jobs/{job_id}/pause", headers=HTMX)
    assert again.status_code == 204
    assert "cannot be paused" in again.headers["HX-Trigger"]

    resumed = client.post(f"/jobs/{job_id}/resume", headers=HTMX)
    assert 'data-job-status="queued"' in resumed.text
    assert 'id="job-pause"' in resumed.text
    assert _status(planned, job_id) == "queued"

    cancelled = client.post(f"/jobs/{job_id}/cancel", follow_redirects=False)
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/jobs/{job_id}"
    assert _status(planned, job_id) == "cancelled"
    page = client.get(f"/jobs/{job_id}").text
    assert "job-pause" not in page
    assert "job-resume" not in page
    assert "job-cancel" not in page


def test_a_finished_job_shows_its_summary_chart_failures_and_retry(client: TestClient, planned: Database) -> None:
    job_id = _job(planned, [11, 12, 13])
    with planned.session_scope() as s:
        a, b, c = service.job_items(s, job_id)
        a.status, a.quality_score, a.cost_cents, a.duration_seconds = "succeeded", Decimal("4.5"), Decimal("21"), 80
        b.status, b.quality_score, b.cost_cents, b.duration_seconds = "succeeded", Decimal("3.0"), Decimal("19"), 95
        c.status, c.error, c.attempts = "failed", "The reply was cut off twice.", 3
        s.flush()
        service.refresh_job_totals(s, job_id)
    page = client.get(f"/jobs/{job_id}").text
    assert 'data-job-status="completed"' in page
    assert "data-job-summary" in page
    assert "66.7%" in page  # success rate
    assert "3.8 / 5.0" in page  # average quality
    assert "$0.40" in page
    assert 'canvas data-chart="' in page
    assert 'role="img"' in page
    assert 'id="quality-table"' in page
    assert re.search(r"<td>4–4.9</td><td class=\"text-right mono\">1</td>", page)
    assert "The reply was cut off twice." in page
    assert 'id="job-retry"' in page
    assert "Recent completions" in page

    retried = client.post(f"/jobs/{job_id}/retry-failed", headers=HTMX)
    assert retried.status_code == 200
    assert 'data-job-status="queued"' in retried.text
    assert "queued again" in retried.headers["HX-Trigger"]


def test_identifiers_no_conversation_can_have_are_unknown_not_server_errors(client: TestClient) -> None:
    """Found by the API fuzz test: NUL (which PostgreSQL text cannot hold), non-ASCII digits and numbers past
    int4 used to reach the database and fail there with a 500."""
    for ident in ("\x00", "fp_\x00", "²", "99999999999", "1" * 5000):
        response = client.get("/api/train-data/generate/estimate", params={"ids": [ident]})
        assert response.status_code == 404, (ident[:20], response.text[:200])
        assert response.json()["error"]["code"] == "unknown_conversation"
    batch = client.post("/api/train-data/generate/batch", json={"conversation_ids": ["11", "\x00"]})
    assert batch.status_code == 404


def _queued_tasks(database: Database) -> int:
    with psycopg.connect(database.target.conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()
    assert row is not None
    return int(row[0])


def test_tasks_reach_the_workers_only_with_the_transaction_that_created_their_items(planned: Database) -> None:
    """Found by the browser tests: tasks deferred through the queue's own pool could be run before the job's
    items were committed; the worker found no item and dropped the task, leaving the job in progress forever."""
    app = make_app(planned.target).open()
    try:
        with planned.session_scope() as s:
            job = service.create_job(
                s,
                job_type="batch",
                conversations=selection.resolve_conversations(s, ["11", "12"]),
                options=schemas.JobOptions(),
                user="dana",
                provider="anthropic",
                model="claude-sonnet-4-6",
            )
            service.enqueue_job(s, ProcrastinateQueue(app), job)
            assert _queued_tasks(planned) == 0  # not visible outside the transaction yet
        assert _queued_tasks(planned) == 2
    finally:
        app.close()
