"""The detail page says whether the turns are about what their plan row asked for."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import factories as f
from training_data_studio.core.db import Database

ESTATE = {
    "topic_category": "Estate division family conflict",
    "topic_description": "Executor of his father's estate while his siblings argue over the house.",
    "starting_emotion": "Grief",
    "ending_emotion": "Healing",
}
RSU_TURNS = [
    ("My RSUs vest next month and I am overwhelmed by the tax bill.", "Let us map the vesting schedule first."),
    ("So I sell some shares at vest?", "Yes: selling enough covers the withholding gap, and you feel confident."),
]
ESTATE_TURNS = [
    (
        "Since my father died my siblings fight about the estate and the house. The grief is heavy.",
        "As executor you can slow the division down while you grieve.",
    ),
    ("Maybe we can sell the house together.", "That is a start of healing between you and your siblings."),
]


def _conversation(database: Database, conversation_id: str, turns: list[tuple[str, str]]) -> None:
    with database.session_scope() as s:
        row = f.insert_conversation(
            s, conversation_id=conversation_id, generation_status="generated", turn_count=len(turns), **ESTATE
        )
        for number, (client, reply) in enumerate(turns, start=1):
            f.insert_turn(s, row, number, user_input=client, target_response=reply)


def test_content_off_its_brief_is_shown_as_such(client: TestClient, database: Database) -> None:
    _conversation(database, "fp_off_brief", RSU_TURNS)
    _conversation(database, "fp_on_brief", ESTATE_TURNS)
    off = client.get("/conversations/fp_off_brief").text
    assert 'data-brief="off"' in off
    assert "Looks off its brief." in off
    assert "The planned start, Grief, is not found in the first turn" in off
    assert "executor" in off.split("Planned topic words not in the turns:")[1].split("</p>")[0]
    on = client.get("/conversations/fp_on_brief").text
    assert 'data-brief="on"' in on
    assert "The planned start, Grief, is found in the first turn" in on


def test_a_conversation_without_turns_has_no_brief_verdict(client: TestClient, database: Database) -> None:
    with database.session_scope() as s:
        f.insert_conversation(s, conversation_id="fp_planned_only", **ESTATE)
    assert "data-brief=" not in client.get("/conversations/fp_planned_only").text
