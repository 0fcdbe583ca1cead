"""GET one conversation, and the review-status changes with their conflicts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from tests.helpers import factories as f
from tests.integration.test_status_and_auth import SECRET, token
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.models import QualityMetrics, TrainingConversation

from .conftest import USER, Dataset

API = "/api/train-data/conversations"


def test_detail_by_conversation_id_and_by_uuid(client: TestClient, dataset: Dataset, database: Database) -> None:
    with database.session_scope() as s:
        f.insert_quality_metrics(s, dataset.uuid_of(2))
    by_id = client.get(f"{API}/fp_jennifer_002")
    assert by_id.status_code == 200
    body = by_id.json()
    assert body["conversation_number"] == 2
    assert [t["turn_number"] for t in body["turns"]] == [1, 2]
    turn = body["turns"][0]
    assert turn["user_input"] == "I have no emergency fund at all."
    assert turn["emotional_context"]["primary_emotion"] == "worry"
    assert turn["emotional_context"]["emotional_indicators"] == {"worry_words": ["not sure", "scared"]}
    assert turn["response_strategy"]["primary_strategy"] == "validate_then_explain"
    assert [s["sentence_number"] for s in turn["sentences"]] == [1, 2]
    assert body["quality_metrics"]["empathy_score"] == 4.5
    assert (body["previous_id"], body["next_id"]) == ("fp_marcus_001", "fp_david_003")

    by_uuid = client.get(f"{API}/{dataset.uuid_of(2)}")
    assert by_uuid.status_code == 200
    assert by_uuid.json() == body


@pytest.mark.usefixtures("dataset")
def test_a_planned_conversation_has_no_turns_and_the_first_has_no_previous(client: TestClient) -> None:
    body = client.get(f"{API}/fp_marcus_001").json()
    assert body["turns"] == []
    assert body["quality_metrics"] is None
    assert (body["previous_id"], body["next_id"]) == (None, "fp_jennifer_002")


@pytest.mark.usefixtures("dataset")
@pytest.mark.parametrize(
    "ident",
    [
        "no_such_conversation",
        "00000000-0000-0000-0000-000000000000",
        "'; DROP TABLE training_conversations; --",
        "x" * 500,
        "%00",
        "fp_marcus_001%20OR%201=1",
        "..%2F..%2Fetc",
    ],
)
def test_missing_or_malformed_ids_are_404_never_500(client: TestClient, ident: str) -> None:
    for response in (
        client.get(f"{API}/{ident}"),
        client.patch(f"{API}/{ident}/status", json={"status": "reviewed"}),
        client.post(f"{API}/{ident}/approve"),
    ):
        assert response.status_code == 404, (ident, response.text)
        assert response.json()["error"]["code"] == "not_found"


def row(database: Database, conversation_id: str) -> TrainingConversation:
    with database.session_scope() as s:
        return s.execute(
            select(TrainingConversation).where(TrainingConversation.conversation_id == conversation_id)
        ).scalar_one()


@pytest.mark.usefixtures("dataset")
def test_review_flow_records_who_and_when(client: TestClient, database: Database) -> None:
    response = client.patch(f"{API}/fp_jennifer_002/status", json={"status": "reviewed", "reviewer_notes": "Warm."})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["generation_status"] == "reviewed"
    assert body["human_reviewed"] is True
    assert body["reviewed_by"] == USER
    assert body["reviewer_notes"] == "Warm."
    assert body["review_date"]

    approved = client.post(f"{API}/fp_jennifer_002/approve")
    assert approved.status_code == 200
    assert approved.json()["generation_status"] == "approved"
    assert approved.json()["reviewer_notes"] == "Warm."  # notes are kept unless sent
    stored = row(database, "fp_jennifer_002")
    assert (stored.generation_status, stored.human_reviewed, stored.reviewed_by, stored.updated_by) == (
        "approved",
        True,
        USER,
        USER,
    )

    flagged = client.patch(f"{API}/fp_jennifer_002/status", json={"status": "flagged", "reviewer_notes": ""})
    assert flagged.json()["generation_status"] == "flagged"
    assert flagged.json()["reviewer_notes"] is None

    back = client.patch(f"{API}/fp_jennifer_002/status", json={"status": "generated"})
    assert back.json()["generation_status"] == "generated"
    assert back.json()["human_reviewed"] is False


def test_approval_marks_the_quality_metrics(client: TestClient, dataset: Dataset, database: Database) -> None:
    with database.session_scope() as s:
        f.insert_quality_metrics(s, dataset.uuid_of(2))
    assert client.post(f"{API}/fp_jennifer_002/approve").status_code == 200
    with database.session_scope() as s:
        metrics = s.execute(select(QualityMetrics).where(QualityMetrics.conversation_id == dataset.uuid_of(2)))
        assert metrics.scalar_one().reviewer_approved is True


@pytest.mark.usefixtures("dataset")
@pytest.mark.parametrize(
    ("ident", "status"),
    [
        ("fp_marcus_001", "approved"),  # planned, no turns
        ("fp_marcus_001", "reviewed"),
        ("fp_marcus_001", "generated"),
    ],
)
def test_transitions_that_make_no_sense_are_409(
    client: TestClient, database: Database, ident: str, status: str
) -> None:
    before = row(database, ident)
    response = client.patch(f"{API}/{ident}/status", json={"status": status})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "conflict"
    after = row(database, ident)
    assert (after.generation_status, after.reviewed_by) == (before.generation_status, before.reviewed_by)


@pytest.mark.parametrize("status", ["planned", "in_progress", "failed"])
def test_a_conversation_not_generated_cannot_be_reviewed_even_with_turns(
    client: TestClient, dataset: Dataset, database: Database, status: str
) -> None:
    with database.session_scope() as s:
        f.set_status(s, dataset.uuid_of(2), status)
    for decision in ("reviewed", "approved", "flagged", "generated"):
        response = client.patch(f"{API}/fp_jennifer_002/status", json={"status": decision})
        assert response.status_code == 409, (status, decision)
        assert f"is {status}" in response.json()["error"]["message"]


@pytest.mark.usefixtures("dataset")
def test_repeating_a_decision_is_harmless(client: TestClient) -> None:
    assert client.post(f"{API}/fp_david_003/approve").json()["generation_status"] == "approved"
    assert client.post(f"{API}/fp_david_003/approve").status_code == 200


@pytest.mark.usefixtures("dataset")
@pytest.mark.parametrize(
    "body",
    [
        {"status": "planned"},
        {"status": "in_progress"},
        {"status": "deleted"},
        {},
        {"status": "approved", "extra": 1},
        {"status": "approved", "reviewer_notes": "x" * 5001},
    ],
)
def test_invalid_status_bodies_are_422(client: TestClient, body: dict[str, object]) -> None:
    response = client.patch(f"{API}/fp_jennifer_002/status", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.usefixtures("dataset")
def test_a_body_that_is_not_json_is_a_client_error(client: TestClient) -> None:
    response = client.patch(
        f"{API}/fp_jennifer_002/status", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.fixture
def secured_client(database: Database) -> Iterator[TestClient]:
    settings = Settings(SUPABASE_JWT_SECRET=SecretStr(SECRET))  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


@pytest.mark.usefixtures("dataset")
def test_a_signed_in_user_reviews_under_rls_and_is_recorded(secured_client: TestClient, database: Database) -> None:
    user = "7d3c1a9e-0000-4000-8000-000000000001"
    headers = {"Authorization": f"Bearer {token(user)}"}
    assert secured_client.get(API).status_code == 401
    listing = secured_client.get(API, headers=headers)
    assert listing.status_code == 200
    assert listing.json()["counts"]["total"] == 6
    response = secured_client.post(f"{API}/fp_jennifer_002/approve", headers=headers)
    assert response.status_code == 200, response.text
    assert row(database, "fp_jennifer_002").reviewed_by == user
    assert secured_client.get(API, headers=headers).json()["counts"]["generated"] == 4
