"""Sorting the Matrix on topic, tier, turns and the emotional arc, and emotions filtered and counted by a key that
folds case and whitespace while the stored spelling is kept."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.helpers import factories as f
from training_data_studio.conversations import service
from training_data_studio.conversations.emotions import emotion_key
from training_data_studio.conversations.schemas import ConversationFilters
from training_data_studio.core.db import Database
from training_data_studio.models import TrainingConversation

URL = "/api/train-data/conversations"
C = TrainingConversation


def numbers(client: TestClient, params: Any) -> list[int]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return [item["conversation_number"] for item in response.json()["items"]]


@pytest.fixture
def with_turns(database: Database, dataset: object) -> None:
    with database.session_scope() as s:
        for number, turns in {1: 2, 2: 0, 3: 5, 4: 4, 5: 2, 6: 4}.items():
            s.execute(update(C).where(C.conversation_number == number).values(turn_count=turns))


@pytest.mark.usefixtures("with_turns")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "topic"}, [1, 2, 5, 4, 3, 6]),  # Budget, Credit, Equity, Job, Retirement, Wedding
        ({"sort": "topic", "order": "desc"}, [6, 3, 4, 5, 2, 1]),
        ({"sort": "tier"}, [1, 2, 6, 3, 5, 4]),  # tier 1, 2, 3; ties in number order
        ({"sort": "tier", "order": "desc"}, [4, 3, 5, 1, 2, 6]),
        ({"sort": "turns"}, [2, 1, 5, 4, 6, 3]),
        ({"sort": "turns", "order": "desc"}, [3, 4, 6, 1, 5, 2]),
        # anxiety, conflict, confusion, distress, overwhelm, shame
        ({"sort": "arc"}, [3, 6, 1, 4, 5, 2]),
        ({"sort": "arc", "order": "desc"}, [2, 5, 4, 1, 6, 3]),
    ],
)
def test_sorting_on_the_new_columns(client: TestClient, params: dict[str, str], expected: list[int]) -> None:
    assert numbers(client, params) == expected


def test_the_matrix_headers_link_every_sortable_column(client: TestClient, dataset: object) -> None:
    html = client.get("/", params={"sort": "turns", "order": "desc"}).text
    for key in ("number", "persona", "topic", "tier", "arc", "turns", "status", "quality"):
        assert f'hx-get="/?sort={key}' in html, key
    assert "sorted by turn count (descending)" in html


@pytest.fixture
def spellings(database: Database, dataset: object) -> None:
    """Three more spellings of the dataset's one "Anxiety" (#3): the most frequent is "Anxiety"."""
    with database.session_scope() as s:
        for number, spelling in ((7, "Anxiety"), (8, "  anxiety "), (9, "ANXIETY\t")):
            f.insert_conversation(s, conversation_number=number, starting_emotion=spelling, ending_emotion="calm")


@pytest.mark.usefixtures("spellings")
@pytest.mark.parametrize("asked", ["Anxiety", "anxiety", " ANXIETY  "])
def test_every_spelling_of_an_emotion_filters_alike(client: TestClient, asked: str) -> None:
    assert numbers(client, {"starting_emotion": asked}) == [3, 7, 8, 9]


@pytest.mark.usefixtures("spellings")
def test_one_option_per_emotion_with_its_count_and_the_original_kept(client: TestClient, session: Session) -> None:
    options = service.filter_options(session=session).starting_emotions
    anxiety = [o for o in options if o.value == "anxiety"]
    assert len(anxiety) == 1
    assert (anxiety[0].label, anxiety[0].count) == ("Anxiety", 4)
    assert len({o.value for o in options}) == len(options)
    # What was written is what is stored and shown.
    items = client.get(URL, params={"starting_emotion": "anxiety"}).json()["items"]
    assert [i["starting_emotion"] for i in items] == ["Anxiety", "Anxiety", "  anxiety ", "ANXIETY\t"]
    html = client.get("/").text
    assert html.count('name="starting_emotion" value="anxiety"') == 1
    assert 'value="anxiety" > Anxiety <span class="muted">(4)</span>' in html


def test_the_filter_url_carries_the_key() -> None:
    filters = ConversationFilters(starting_emotion=["  Over  whelm ", "overwhelm"])
    assert filters.starting_emotion == ["over whelm", "overwhelm"]
    assert emotion_key("Over\t\twhelm\n") == "over whelm"


def test_the_python_key_and_the_database_key_agree(session: Session) -> None:
    for value in ("Anxiety", "  anxiety ", "ANXIETY\t", "Over \n whelm", "calm"):
        in_sql = session.execute(
            text(r"SELECT lower(btrim(regexp_replace(:v, '\s+', ' ', 'g')))"), {"v": value}
        ).scalar_one()
        assert in_sql == emotion_key(value), value


def test_the_emotion_filter_and_the_sorts_use_their_indexes(session: Session, dataset: object) -> None:
    """With sequential scans priced out, the planner picks the migration's indexes for these queries."""
    session.execute(text("SET LOCAL enable_seqscan = off"))
    filters = ConversationFilters(starting_emotion=["anxiety"])
    condition = service._conditions(filters)
    stmt = select(C.conversation_number).where(*condition)
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = "\n".join(session.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert "idx_conversations_starting_emotion_key" in plan, plan
    for sort, index in (("topic", "idx_conversations_topic_number"), ("turns", "idx_conversations_turns_number")):
        ordered = select(C.conversation_number).order_by(*service._order_by(ConversationFilters(sort=sort), None))
        compiled = ordered.limit(25).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(session.execute(text(f"EXPLAIN {compiled}")).scalars())
        assert index in plan, plan
