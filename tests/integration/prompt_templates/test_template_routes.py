"""The template manager's JSON API and pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.plan import service as plan

API = "/api/train-data/templates"


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with database.session_scope() as session:
        plan.load_templates(session, plan.read_templates(), user="dana")
        plan.load_plan(session, plan.read_plan(), user="dana")
    settings = Settings(TDS_USER="dana")  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def test_list_and_read(client: TestClient) -> None:
    listed = client.get(API).json()
    assert len(listed) == 7
    assert {"template_id", "tier", "version", "is_active", "planned_count", "generated_count"} <= set(listed[0])
    one = client.get(f"{API}/anxiety_to_confidence").json()
    assert one["version"] == 1
    assert one["versions"][0]["version"] == 1
    assert "persona_name" in one["variables"]
    assert client.get(f"{API}/{one['id']}").json()["template_id"] == "anxiety_to_confidence"


def test_patch_makes_a_new_version(client: TestClient) -> None:
    response = client.patch(
        f"{API}/anxiety_to_confidence",
        json={"template_instructions": "Be brief with {{persona_name}}.", "change_note": "shorter"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 2
    assert body["updated_by"] == "dana"
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert body["versions"][0]["change_note"] == "shorter"


def test_patch_with_an_undefined_variable_is_422_naming_it(client: TestClient) -> None:
    response = client.patch(f"{API}/tier3_edge", json={"template_prompt": "Hi {{first_name}}"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "template_invalid"
    assert "{{first_name}}" in error["message"]
    assert "line 1, column 4" in error["message"]
    assert "first_name" in error["fields"]["template_prompt"]
    assert client.get(f"{API}/tier3_edge").json()["version"] == 1


def test_patch_refuses_unknown_fields_and_stale_versions(client: TestClient) -> None:
    assert client.patch(f"{API}/tier3_edge", json={"tier": "tier1_template"}).status_code == 422
    assert client.patch(f"{API}/tier3_edge", json={"template_name": "x", "expected_version": 5}).status_code == 409
    assert client.patch(f"{API}/nope", json={"template_name": "x"}).status_code == 404


def test_activate_and_deactivate(client: TestClient) -> None:
    assert client.post(f"{API}/tier3_edge/deactivate").json()["is_active"] is False
    listed = {t["template_id"]: t for t in client.get(API).json()}
    assert listed["tier3_edge"]["is_active"] is False
    assert client.post(f"{API}/tier3_edge/activate").json()["is_active"] is True


def test_preview(client: TestClient) -> None:
    body = client.get(f"{API}/tier2_scenario/preview", params={"conversation_number": 51}).json()
    assert body["conversation_number"] == 51
    assert "{{" not in body["text"]
    assert "Elena Morales, CFP" in body["text"]
    assert client.get(f"{API}/tier2_scenario/preview", params={"conversation_number": 5000}).status_code == 404
    assert client.get(f"{API}/tier2_scenario/preview").status_code == 422


def test_template_pages(client: TestClient) -> None:
    listing = client.get("/templates")
    assert listing.status_code == 200
    assert "Template A" in listing.text
    assert "coming_soon" not in listing.text
    detail = client.get("/templates/confusion_to_clarity")
    assert detail.status_code == 200
    assert "Version history" in detail.text
    assert "Elena Morales, CFP" in detail.text
    chosen = client.get("/templates/confusion_to_clarity", params={"conversation_number": 2})
    assert "fp_marcus_003" in chosen.text


def test_page_partials(client: TestClient) -> None:
    htmx = {"HX-Request": "true"}
    ok = client.post("/templates/tier3_edge/validate", data={"template_prompt": "Hi {{persona_name}}"}, headers=htmx)
    assert ok.status_code == 200
    assert "known variable" in ok.text
    assert "<html" not in ok.text
    bad = client.post("/templates/tier3_edge/validate", data={"template_prompt": "Hi\n {{nope}}"}, headers=htmx)
    assert "line 2, column 2" in bad.text
    assert "{{nope}}" in bad.text
    preview = client.get("/templates/tier3_edge/preview", params={"conversation_number": 86}, headers=htmx)
    assert preview.status_code == 200
    assert 'id="preview"' in preview.text
    assert "<html" not in preview.text


def test_edit_form_saves_or_shows_the_problem(client: TestClient) -> None:
    form = {
        "template_name": "Edge cases",
        "template_prompt": "Talk to {{persona_name}} about {{topic_category}}.",
        "template_instructions": "",
        "quality_requirements": '{"min_quality_score": 4.5}',
        "change_note": "simpler",
        "expected_version": "1",
    }
    saved = client.post("/templates/tier3_edge", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/templates/tier3_edge"
    assert client.get(f"{API}/tier3_edge").json()["quality_requirements"] == {"min_quality_score": 4.5}

    bad = client.post("/templates/tier3_edge", data={**form, "template_prompt": "{{age}}", "expected_version": "2"})
    assert bad.status_code == 422
    assert "{{age}}" in bad.text
    assert "{{age}}</textarea>" in bad.text
    bad_json = client.post("/templates/tier3_edge", data={**form, "quality_requirements": "{", "expected_version": "2"})
    assert bad_json.status_code == 422
    assert "not valid JSON" in bad_json.text
    stale = client.post("/templates/tier3_edge", data=form)
    assert stale.status_code == 409
    assert client.get(f"{API}/tier3_edge").json()["version"] == 2


def test_activation_buttons(client: TestClient) -> None:
    response = client.post("/templates/tier3_edge/deactivate", follow_redirects=False)
    assert response.status_code == 303
    page = client.get("/templates/tier3_edge")
    assert re.search(r"<button[^>]*>Activate</button>", page.text)


def test_saving_the_unchanged_form_from_a_browser_makes_no_version(client: TestClient) -> None:
    current = client.get(f"{API}/grief_to_healing").json()
    form = {
        "template_name": current["template_name"],
        "template_prompt": current["template_prompt"].replace("\n", "\r\n"),  # how browsers send textareas
        "template_instructions": current["template_instructions"].replace("\n", "\r\n"),
        "quality_requirements": json.dumps(current["quality_requirements"], indent=2),
        "change_note": "",
        "expected_version": "1",
    }
    assert client.post("/templates/grief_to_healing", data=form, follow_redirects=False).status_code == 303
    assert client.get(f"{API}/grief_to_healing").json()["version"] == 1
