"""Review decisions and their audit trail: single decisions (API and page), readiness following the status,
bulk "approve all 5.0" / "flag all below 4.0" (previewed, bounded, confirmed), and bad input."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.quality.conftest import USER, Dataset
from training_data_studio.core.db import Database
from training_data_studio.models import ConversationReview, QualityMetrics, TrainingConversation

API = "/api/train-data"
HTMX = {"HX-Request": "true"}


def _audit(database: Database, row_id: uuid.UUID) -> list[tuple[str, str, str | None, str, str]]:
    with database.session_scope() as s:
        rows = s.execute(
            select(R.from_status, R.to_status, R.notes, R.reviewer, R.source)
            .where(R.conversation_id == row_id)
            .order_by(R.created_at, R.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


R = ConversationReview


def _state(database: Database, row_id: uuid.UUID) -> tuple[str, bool, bool]:
    with database.session_scope() as s:
        status = s.scalar(select(TrainingConversation.generation_status).where(TrainingConversation.id == row_id))
        ready, needs = s.execute(
            select(QualityMetrics.ready_for_training, QualityMetrics.needs_review).where(
                QualityMetrics.conversation_id == row_id
            )
        ).one()
    assert status is not None
    return status, ready, needs


def test_each_decision_is_audited_and_readiness_follows(
    client: TestClient, database: Database, dataset: Dataset
) -> None:
    row_id = dataset.ids["gen_perfect"]
    assert _state(database, row_id) == ("generated", False, True)

    approved = client.patch(
        f"{API}/conversations/gen_perfect/status", json={"status": "approved", "reviewer_notes": "Warm and exact."}
    )
    assert approved.status_code == 200, approved.text
    assert _state(database, row_id) == ("approved", True, False)

    flagged = client.patch(f"{API}/conversations/gen_perfect/status", json={"status": "flagged"})
    assert flagged.status_code == 200
    assert _state(database, row_id) == ("flagged", False, True)

    again = client.post(f"{API}/conversations/gen_perfect/approve")
    assert again.status_code == 200
    assert _audit(database, row_id) == [
        ("generated", "approved", "Warm and exact.", USER, "review"),
        ("approved", "flagged", None, USER, "review"),
        ("flagged", "approved", None, USER, "review"),
    ]

    history = client.get(f"{API}/quality/reviews", params={"conversation_id": "gen_perfect"}).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("flagged", "approved"),
        ("approved", "flagged"),
        ("generated", "approved"),
    ]
    assert client.get(f"{API}/quality/reviews", params={"conversation_id": "nobody_001"}).status_code == 404


def test_an_incomplete_conversation_is_not_ready_even_approved(
    client: TestClient, database: Database, dataset: Dataset
) -> None:
    assert client.post(f"{API}/conversations/gen_incomplete/approve").status_code == 200
    assert _state(database, dataset.ids["gen_incomplete"]) == ("approved", False, True)


def test_a_flagged_seed_is_not_ready(client: TestClient, database: Database, dataset: Dataset) -> None:
    assert _state(database, dataset.ids["seed_jennifer"]) == ("approved", True, False)
    assert client.patch(f"{API}/conversations/seed_jennifer/status", json={"status": "flagged"}).status_code == 200
    assert _state(database, dataset.ids["seed_jennifer"]) == ("flagged", False, True)
    assert client.patch(f"{API}/conversations/seed_jennifer/status", json={"status": "generated"}).status_code == 200
    assert _state(database, dataset.ids["seed_jennifer"]) == ("generated", True, False)  # a seed needs no approval


def test_the_detail_page_buttons_are_audited_too(client: TestClient, database: Database, dataset: Dataset) -> None:
    response = client.post(
        "/conversations/gen_low/status", data={"status": "reviewed", "reviewer_notes": "Check turn 4."}, headers=HTMX
    )
    assert response.status_code == 200
    assert _audit(database, dataset.ids["gen_low"]) == [("generated", "reviewed", "Check turn 4.", USER, "review")]


def test_an_unknown_status_is_refused_and_not_audited(client: TestClient, database: Database, dataset: Dataset) -> None:
    response = client.patch(f"{API}/conversations/gen_perfect/status", json={"status": "perfect"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "status" in error["fields"]
    assert _audit(database, dataset.ids["gen_perfect"]) == []


# --------------------------------------------------------------------------------------------------
# Bulk actions
# --------------------------------------------------------------------------------------------------


def _ids(preview: dict[str, Any]) -> list[str]:
    return [candidate["conversation_id"] for candidate in preview["candidates"]]


def test_approve_all_five_point_zero(client: TestClient, database: Database, dataset: Dataset) -> None:
    preview = client.get(f"{API}/quality/bulk/approve-perfect").json()
    assert _ids(preview) == ["gen_perfect"]  # not the incomplete 5.0, not the seeds (already approved)
    assert (preview["total_matching"], preview["limit"], preview["target_status"]) == (1, 500, "approved")

    result = client.post(
        f"{API}/quality/bulk/approve-perfect",
        json={"conversation_ids": ["gen_perfect", "gen_low", "nobody_001"], "confirm": True},
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["changed"] == ["gen_perfect"]
    assert body["skipped"] == [
        {"conversation_id": "gen_low", "reason": "no longer matches this action (changed since)"},
        {"conversation_id": "nobody_001", "reason": "no such conversation"},
    ]
    assert _state(database, dataset.ids["gen_perfect"]) == ("approved", True, False)
    assert _audit(database, dataset.ids["gen_perfect"]) == [
        ("generated", "approved", "Bulk approval: self-reported 5.0 with complete annotation.", USER, "bulk_approve")
    ]
    assert _audit(database, dataset.ids["gen_low"]) == []
    assert client.get(f"{API}/quality/bulk/approve-perfect").json()["candidates"] == []


def test_flag_all_below_four(client: TestClient, database: Database, dataset: Dataset) -> None:
    preview = client.get(f"{API}/quality/bulk/flag-low").json()
    assert _ids(preview) == ["gen_low", "gen_reviewed_low"]  # never the approved one
    result = client.post(
        f"{API}/quality/bulk/flag-low",
        json={"conversation_ids": _ids(preview), "confirm": True, "reviewer_notes": "Below 4: rework."},
    ).json()
    assert result["changed"] == ["gen_low", "gen_reviewed_low"]
    assert _audit(database, dataset.ids["gen_low"]) == [("generated", "flagged", "Below 4: rework.", USER, "bulk_flag")]
    assert _audit(database, dataset.ids["gen_reviewed_low"]) == [
        ("reviewed", "flagged", "Below 4: rework.", USER, "bulk_flag")
    ]
    assert _state(database, dataset.ids["gen_approved_low"])[0] == "approved"


def test_bulk_bad_input_gets_the_error_shape(client: TestClient, database: Database, dataset: Dataset) -> None:
    url = f"{API}/quality/bulk/flag-low"
    empty = client.post(url, json={"conversation_ids": [], "confirm": True})
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "validation_error"
    assert "conversation_ids" in empty.json()["error"]["fields"]

    unconfirmed = client.post(url, json={"conversation_ids": ["gen_low"], "confirm": False})
    assert unconfirmed.status_code == 422
    assert "confirm the bulk action" in unconfirmed.json()["error"]["message"]

    too_many = client.post(url, json={"conversation_ids": [f"c_{n}" for n in range(501)], "confirm": True})
    assert too_many.status_code == 422

    unknown = client.post(f"{API}/quality/bulk/delete-all", json={"conversation_ids": ["gen_low"], "confirm": True})
    assert unknown.status_code == 422
    assert "action" in unknown.json()["error"]["fields"]

    assert _audit(database, dataset.ids["gen_low"]) == []


def test_bulk_from_the_dashboard_dialog(client: TestClient, database: Database, dataset: Dataset) -> None:
    dialog = client.get("/quality/bulk/flag-low", headers=HTMX)
    assert dialog.status_code == 200
    assert "<html" not in dialog.text
    assert dialog.text.count('name="conversation_ids"') == 2
    assert "Flag 2 conversations" in dialog.text

    refused = client.post("/quality/bulk/flag-low", data={"conversation_ids": ["gen_low"]}, headers=HTMX)
    assert refused.status_code == 204  # an HTMX request gets the error as a toast
    assert "confirm the bulk action" in refused.headers["HX-Trigger"]

    done = client.post(
        "/quality/bulk/flag-low",
        data={"conversation_ids": ["gen_low", "gen_reviewed_low"], "confirm": "true"},
        headers=HTMX,
    )
    assert done.status_code == 200
    assert "2 conversations flagged for review" in done.text
    assert "2 conversation(s) flagged." in done.headers["HX-Trigger"]
    assert _state(database, dataset.ids["gen_low"])[0] == "flagged"

    page = client.get("/quality/bulk/approve-perfect")  # without JavaScript: a page of its own
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Approve 1 conversation" in page.text
