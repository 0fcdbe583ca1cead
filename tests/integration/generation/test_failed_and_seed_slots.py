"""Failed conversations are generated again from the Matrix (one, a selection, or all failed at once), and the
plan's seed slots say what they are before any import and are generated only when the user chooses to."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.models import GenerationJob, GenerationJobItem, TrainingConversation
from training_data_studio.plan import service as plan

HTMX = {"HX-Request": "true"}
CONFIGURED = {"TDS_USER": "dana@example.com", "ANTHROPIC_API_KEY": "test-key"}
FAILED = (11, 12, 57)
C = TrainingConversation


@pytest.fixture
def plan_only(database: Database) -> Database:
    """The shipped plan as `tds db seed` leaves it before any import: rows 1-10 are empty seed slots."""
    with database.session_scope() as s:
        plan.load_templates(s, plan.read_templates(), user="dana")
        plan.load_plan(s, plan.read_plan(), user="dana")
        s.execute(
            update(C)
            .where(C.conversation_number.in_(FAILED))
            .values(generation_status="failed", generation_error="The model's reply was not valid JSON.")
        )
    return database


@pytest.fixture
def client(plan_only: Database) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(**CONFIGURED), plan_only)) as test_client:  # type: ignore[arg-type]
        yield test_client


def _row(html: str, number: int) -> str:
    match = re.search(rf'<tr [^>]*data-conversation-number="{number}".*?</tr>', html, re.S)
    assert match, f"no row #{number}"
    return match.group(0)


def _job_items(database: Database, location: str) -> tuple[GenerationJob, list[int]]:
    job_id = uuid.UUID(location.removeprefix("/jobs/"))
    with database.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        numbers = s.scalars(
            select(C.conversation_number)
            .join(GenerationJobItem, GenerationJobItem.conversation_id == C.id)
            .where(GenerationJobItem.job_id == job_id)
            .order_by(GenerationJobItem.position)
        ).all()
        s.expunge(job)
        return job, list(numbers)


def test_a_failed_row_offers_retry_and_the_toolbar_retry_all_failed(client: TestClient) -> None:
    html = client.get("/").text
    failed_row = _row(html, 11)
    assert "data-generatable" in failed_row
    assert re.search(r"data-generate-row>Retry<", failed_row)
    assert re.search(r"data-generate-row>Generate<", _row(html, 13))
    assert re.search(r'id="retry-failed"\s+hx-get="/generate/failed"', html)  # enabled: no disabled attribute
    assert "Retry all failed (3)" in html
    assert re.search(r"87 planned or in progress · 3 failed", html)


def test_without_failures_retry_all_failed_is_disabled_and_says_why(plan_only: Database, client: TestClient) -> None:
    with plan_only.session_scope() as s:
        s.execute(update(C).where(C.generation_status == "failed").values(generation_status="planned"))
    html = client.get("/").text
    assert re.search(r'id="retry-failed" disabled title="No conversation has failed: there is nothing to retry', html)
    assert 'aria-describedby="retry-failed-why"' in html
    assert re.search(r'id="retry-failed-why">No conversation has failed', html)


def test_the_single_dialog_of_a_failed_conversation_confirms_a_new_attempt(client: TestClient) -> None:
    html = client.get("/generate/single", params={"conversation": "11"}, headers=HTMX).text
    assert "data-confirm-generation" in html
    assert "data-single-problem" not in html
    response = client.post("/generate/single", data={"conversation_id": "11"}, headers=HTMX)
    assert response.status_code == 200, response.text
    assert response.headers["HX-Redirect"].startswith("/jobs/")


def test_a_selection_of_planned_and_failed_conversations_generates_both(
    client: TestClient, plan_only: Database
) -> None:
    html = client.get("/generate/batch", params=[("selected", "11"), ("selected", "13")], headers=HTMX).text
    assert "Generate selected (2)" in html
    assert html.count('name="conversation_ids"') == 2
    response = client.post("/generate/batch", data={"conversation_ids": ["11", "13"]}, headers=HTMX)
    assert response.status_code == 200, response.text
    _, numbers = _job_items(plan_only, response.headers["HX-Redirect"])
    assert numbers == [11, 13]


def test_retry_all_failed_lists_every_failed_conversation_and_starts_them(
    client: TestClient, plan_only: Database
) -> None:
    html = client.get("/generate/failed", headers=HTMX).text
    assert "Retry all failed (3)" in html
    listed = re.findall(r'name="conversation_ids" value="([^"]+)"', html)
    assert len(listed) == 3
    assert "data-from-selection" not in html  # confirming it leaves the Matrix selection alone
    response = client.post("/generate/batch", data={"conversation_ids": listed}, headers=HTMX)
    assert response.status_code == 200, response.text
    _, numbers = _job_items(plan_only, response.headers["HX-Redirect"])
    assert numbers == list(FAILED)


def test_a_generated_conversation_is_still_refused_with_the_way_out(plan_only: Database, client: TestClient) -> None:
    with plan_only.session_scope() as s:
        s.execute(update(C).where(C.conversation_number == 14).values(generation_status="generated", turn_count=3))
    response = client.post("/generate/batch", data={"conversation_ids": ["14"]}, headers=HTMX)
    assert response.status_code == 204
    trigger = response.headers["HX-Trigger"]
    assert "Only planned, failed or incomplete conversations can be generated" in trigger
    assert "#14 (generated)" in trigger
    assert "Regenerate a generated conversation from its page instead." in trigger


def test_seed_slots_say_what_they_are_before_an_import(client: TestClient, plan_only: Database) -> None:
    html = client.get("/").text
    slot = _row(html, 1)
    assert "data-seed-slot" in slot
    assert "Seed slot — import the seed file or generate it" in slot
    assert re.search(r"data-generate-row>Generate<", slot)
    assert "10 seed slots wait for their seed files" in html

    detail = client.get(f"/conversations/{conversation_id_of(plan_only, 1)}").text
    assert "was imported from a seed file" not in detail
    assert "#1 is a seed slot: import its seed file, or generate it instead." in detail
    assert re.search(r"data-generate-detail>Generate<", detail)
    failed = client.get(f"/conversations/{conversation_id_of(plan_only, 11)}").text
    assert re.search(r"data-generate-detail>Retry generation<", failed)


def conversation_id_of(database: Database, number: int) -> str:
    with database.session_scope() as s:
        ident = s.scalar(select(C.conversation_id).where(C.conversation_number == number))
    assert ident is not None
    return ident


def test_process_all_leaves_seed_slots_out_unless_the_user_includes_them(
    client: TestClient, plan_only: Database
) -> None:
    html = client.get("/generate/process-all", headers=HTMX).text
    assert "Process all remaining (87)" in html  # 90 non-seed rows, 3 of them failed
    assert "10 seed slots are left out: they wait" in html
    assert 'hx-get="/generate/process-all?seed_slots=true"' in html
    assert 'name="include_seed_slots"' not in html

    html = client.get("/generate/process-all", params={"seed_slots": "true"}, headers=HTMX).text
    assert "Process all remaining (97)" in html
    assert "The 10 seed slots are included" in html
    assert '<input type="hidden" name="include_seed_slots" value="true">' in html

    response = client.post("/generate/process-all", data={"include_seed_slots": "true"}, headers=HTMX)
    assert response.status_code == 200, response.text
    job, numbers = _job_items(plan_only, response.headers["HX-Redirect"])
    assert job.total_conversations == 97
    assert set(range(1, 11)) <= set(numbers)


def test_the_api_includes_seed_slots_only_when_asked(client: TestClient, plan_only: Database) -> None:
    response = client.post("/api/train-data/generate/process-all", json={"options": {}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["total_conversations"] == 87
    assert not {item["conversation_number"] for item in body["items"]} & set(range(1, 11))
