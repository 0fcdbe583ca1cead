"""Per-turn review: a note and a flag on one turn, saved from the detail page or the API, kept in the audit."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import factories as f
from training_data_studio.core.db import Database
from training_data_studio.models import TurnReview

from .conftest import USER

HTMX = {"HX-Request": "true"}
CONVERSATION = "fp_review_001"


@pytest.fixture
def two_turns(database: Database) -> None:
    with database.session_scope() as s:
        conversation = f.insert_conversation(
            s, conversation_id=CONVERSATION, generation_status="generated", turn_count=2
        )
        for number in (1, 2):
            f.insert_turn(s, conversation, number)


def _rows(database: Database) -> int:
    with database.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(TurnReview)) or 0)


@pytest.mark.usefixtures("two_turns")
def test_a_note_and_a_flag_per_turn_are_kept_with_their_history(client: TestClient, database: Database) -> None:
    url = f"/api/train-data/conversations/{CONVERSATION}/turns/2/reviews"
    first = client.post(url, json={"note": "  Too many numbers at once.  ", "flagged": True})
    assert first.status_code == 200, first.text
    assert (first.json()["note"], first.json()["flagged"], first.json()["reviewer"]) == (
        "Too many numbers at once.",
        True,
        USER,
    )
    assert client.post(url, json={"note": "Too many numbers at once.", "flagged": True}).status_code == 200
    assert _rows(database) == 1  # the same state again records nothing
    client.post(url, json={"note": "Fixed by splitting the answer.", "flagged": False})
    history = client.get(url).json()
    assert [(h["note"], h["flagged"]) for h in history] == [
        ("Fixed by splitting the answer.", False),
        ("Too many numbers at once.", True),
    ]
    assert client.get(f"/api/train-data/conversations/{CONVERSATION}/turns/1/reviews").json() == []


@pytest.mark.usefixtures("two_turns")
def test_an_unknown_turn_or_conversation_is_a_clear_404(client: TestClient) -> None:
    response = client.post(f"/api/train-data/conversations/{CONVERSATION}/turns/3/reviews", json={"flagged": True})
    assert response.status_code == 404
    assert CONVERSATION in response.json()["error"]["message"]
    assert "3" in response.json()["error"]["message"]
    response = client.post("/api/train-data/conversations/no_such_one/turns/1/reviews", json={"flagged": True})
    assert response.status_code == 404
    response = client.post(f"/api/train-data/conversations/{CONVERSATION}/turns/1/reviews", json={"note": "x" * 5001})
    assert response.status_code == 422


@pytest.mark.usefixtures("two_turns")
def test_the_detail_page_saves_a_turn_review_in_place(client: TestClient, database: Database) -> None:
    page = client.get(f"/conversations/{CONVERSATION}").text
    assert page.count("data-turn-review=") == 2
    assert re.search(r'<label class="field-label" for="turn-note-\d+-2">Note on turn 2</label>', page)

    response = client.post(
        f"/conversations/{CONVERSATION}/turns/2/review",
        data={"note": "Check the tone here.", "flagged": "true"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    html = response.text
    assert html.lstrip().startswith('<form class="turn-review"')
    assert "Check the tone here.</textarea>" in html
    assert re.search(r'name="flagged" value="true"\s+checked', html)
    assert "Flagged, with a note · saved by" in html
    assert 'hx-swap-oob="true"' in html  # the turn's summary line shows the flag too
    assert "Turn 2 of fp_review_001 saved (flagged)." in response.headers["HX-Trigger"]
    assert _rows(database) == 1

    reloaded = client.get(f"/conversations/{CONVERSATION}").text
    assert reloaded.count('class="chip chip-flagged">Flagged</span>') == 1
    assert "Check the tone here.</textarea>" in reloaded

    plain = client.post(f"/conversations/{CONVERSATION}/turns/1/review", data={"note": ""}, follow_redirects=False)
    assert plain.status_code == 303  # without JavaScript: back to the page
    assert _rows(database) == 1  # an empty review of a never-reviewed turn records nothing
