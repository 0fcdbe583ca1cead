"""A lean conversation of the user's later layouts (an emotion named, nothing else of its context; a UUID
for an id) shows on its page, in the JSON API and in its PDF and CSV exports: absent values are absent, not an error."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.helpers.later_layouts import make_block, make_lean_pair, make_training_file, message, reply
from tests.helpers.seed_files import write_json
from training_data_studio.core.db import Database
from training_data_studio.imports.service import import_paths


def test_a_conversation_that_names_only_its_emotion_shows_on_its_page_and_in_the_api(
    database: Database, client: TestClient, tmp_path: Path
) -> None:
    pair = make_lean_pair("leanest", 1, user_input=message(1), target=reply(1))
    pair["emotional_context"] = {"detected_emotions": {"primary": "doubt"}}
    block = make_block([pair])
    conversation_id = block["conversation_metadata"]["conversation_id"]
    path = write_json(tmp_path, "leanest.json", make_training_file([block]))
    with database.session_scope() as s:
        (report,) = import_paths(session=s, paths=[path], user="dana").files
        assert report.status == "imported", [e.text for e in report.errors]

    api = client.get(f"/api/train-data/conversations/{conversation_id}")
    assert api.status_code == 200, api.text
    context = api.json()["turns"][0]["emotional_context"]
    assert context["primary_emotion"] == "doubt"
    assert (context["primary_confidence"], context["intensity"], context["valence"], context["client_needs"]) == (
        None,
        None,
        None,
        None,
    )
    page = client.get(f"/conversations/{conversation_id}")
    assert page.status_code == 200, page.text[-500:]
    assert "doubt" in page.text
    assert "% confident" not in page.text
    for kind in ("pdf", "csv"):
        exported = client.get(f"/api/train-data/conversations/{conversation_id}/export.{kind}")
        assert exported.status_code == 200, (kind, exported.text[-500:])
