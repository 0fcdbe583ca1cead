"""`GET /api/train-data/quality/duplicates`: near-copies among the stored conversations."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.helpers.export_factories import insert_conversation, make_pairs
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.quality.duplicates import conversation_texts

URL = "/api/train-data/quality/duplicates"
REPLY = (
    "It makes sense to feel stuck when every account looks permanent. Let us pick one small step you can "
    "undo next month if it feels wrong, and look at what your own numbers say about the timing."
)


def _conversations(session: Session) -> None:
    original = make_pairs("orig_001", 2)
    original[1]["target_response"] = REPLY
    copy = make_pairs("orig_001", 2)  # the same words, under another id
    copy[1]["target_response"] = REPLY.replace("next month", "next quarter")
    for pair in copy:
        pair["id"] = pair["id"].replace("orig_001", "copy_001")
        pair["conversation_id"] = "copy_001"
    insert_conversation(session, "orig_001", number=101, pairs=original)
    insert_conversation(session, "copy_001", number=102, pairs=copy, status="generated")
    rng = random.Random(4)
    words = [f"word{n}" for n in range(500)]
    for number in range(3):
        pairs = make_pairs(f"other_{number}", 2)
        for pair in pairs:  # the factory's texts differ only by id: make these truly different
            pair["current_user_input"] = " ".join(rng.choices(words, k=30))
            pair["target_response"] = " ".join(rng.choices(words, k=60))
        insert_conversation(session, f"other_{number}", number=110 + number, pairs=pairs)


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with database.session_scope() as session:
        _conversations(session)
    with TestClient(create_app(Settings(TDS_USER="dana"), database)) as test_client:  # type: ignore[call-arg]
        yield test_client


def test_texts_are_the_turns_in_order(session: Session) -> None:
    _conversations(session)
    texts = dict(conversation_texts(session=session))
    assert len(texts) == 5
    lines = texts["orig_001"].splitlines()
    assert lines[0] == "orig_001 asks question 1 about their budget."
    assert lines[-1] == REPLY
    assert list(dict(conversation_texts(session=session, statuses=["generated"]))) == ["copy_001"]


def test_the_route_reports_the_near_copy_only(client: TestClient) -> None:
    body = client.get(URL).json()
    assert body["threshold"] == 0.5
    assert body["conversations_compared"] == 5
    [pair] = body["pairs"]
    assert (pair["first_conversation_id"], pair["second_conversation_id"]) == ("copy_001", "orig_001")
    assert 0.5 <= pair["jaccard"] < 1
    assert 0 < pair["estimated_jaccard"] <= 1


def test_threshold_and_status_filters(client: TestClient) -> None:
    assert client.get(URL, params={"threshold": 0.99}).json()["pairs"] == []
    assert client.get(URL, params={"status": "approved"}).json()["conversations_compared"] == 4
    assert client.get(URL, params={"threshold": 0}).status_code == 422
    assert client.get(URL, params={"threshold": 1.5}).status_code == 422
