"""DNS rebinding (the Host allow-list), the security headers, the request body cap, and inputs that used to
cause a 500: each in both auth modes."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.helpers import factories as f
from tests.helpers.browser import AuthMode, auth_mode, same_origin
from training_data_studio.app import create_app
from training_data_studio.core.body_limit import MAX_BODY_BYTES
from training_data_studio.core.db import Database
from training_data_studio.models import TrainingConversation
from training_data_studio.plan import service as plan
from training_data_studio.plan.seed import seed_default_data

TEMPLATE_API = "/api/train-data/templates"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]:8000", ""])
def test_a_foreign_host_name_is_refused_with_400(client: TestClient, mode: AuthMode, host: str) -> None:
    for method, path in [("GET", "/api/status"), ("GET", "/status"), ("POST", "/api/train-data/quality/recompute")]:
        response = client.request(method, path, headers={**mode.headers, "Host": host})
        assert response.status_code == 400, (method, path, host)
        if path.startswith("/api"):
            assert response.json()["error"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost:5173", "LOCALHOST"])
def test_the_default_names_are_served_on_any_port(client: TestClient, mode: AuthMode, host: str) -> None:
    assert client.get("/api/status", headers={**mode.headers, "Host": host}).status_code == 200


def test_tds_host_and_tds_allowed_hosts_add_names(database: Database) -> None:
    mode = auth_mode("local", TDS_HOST="studio.lan", TDS_ALLOWED_HOSTS="tds.example.org, Other.Example")
    with TestClient(create_app(mode.settings, database)) as client:
        for host in ("studio.lan:8000", "tds.example.org", "other.example"):
            assert client.get("/api/status", headers={"Host": host}).status_code == 200, host
        assert client.get("/api/status", headers={"Host": "testserver"}).status_code == 400  # not configured here


def test_every_answer_carries_the_security_headers(client: TestClient, mode: AuthMode) -> None:
    for path in ("/status", "/api/status", "/static/js/app.js", "/api/no-such-route"):
        headers = client.get(path, headers=mode.headers).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy, path
        assert "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"


def test_no_page_has_an_inline_script(client: TestClient, mode: AuthMode, database: Database) -> None:
    """script-src 'self' blocks inline scripts: every page must load its code from /static."""
    with database.session_scope() as s:
        seed_default_data(s, user="dana")
        f.insert_generated_conversation(s, conversation_id="fp_inline_check")
    pages = ("/", "/jobs", "/quality", "/quality/duplicates", "/templates", "/import", "/exports", "/training-files")
    for path in (*pages, "/status"):
        page = client.get(path, headers=mode.headers)
        assert page.status_code == 200, path
        for tag in page.text.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert "src=" in opening or 'type="application/json"' in opening, (path, opening)
        assert " hx-on" not in page.text, path  # htmx evaluates hx-on with Function(): needs 'unsafe-eval'


def test_a_body_over_the_cap_is_refused_before_it_is_read(client: TestClient, mode: AuthMode) -> None:
    big = b'{"template_name": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    headers = {**mode.headers, "Content-Type": "application/json"}
    response = client.patch(f"{TEMPLATE_API}/some_template", content=big, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"

    def chunks():  # no Content-Length: the cap counts the bytes as they arrive
        yield b'{"template_name": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    streamed = client.patch(f"{TEMPLATE_API}/some_template", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "body_too_large"


def test_a_browser_form_over_the_cap_is_refused_too(client: TestClient, mode: AuthMode) -> None:
    headers = {**same_origin(client, mode.headers), "Accept": "application/json"}
    response = client.post("/exports", data={"format": "x" * (MAX_BODY_BYTES + 10)}, headers=headers)
    assert response.status_code == 413


def test_uploads_keep_their_own_limit(client: TestClient, mode: AuthMode) -> None:
    """A seed file a little over the general cap is still imported (the importer's limit is 20 MB a file)."""
    padding = " " * (MAX_BODY_BYTES + 1000)
    document = '{"conversation_id": "big_one", "turns": []}' + padding
    upload = [("files", ("big.json", document.encode(), "application/json"))]
    response = client.post("/api/train-data/import/seed", files=upload, headers=mode.headers)
    assert response.status_code != 413
    assert response.status_code < 500, response.text


@pytest.fixture
def templates(database: Database) -> str:
    with database.session_scope() as s:
        seed_default_data(s, user="dana")
    return "confusion_to_clarity"


@pytest.mark.parametrize(
    "body",
    [
        {"template_name": "a\u0000b"},
        {"template_prompt": "Hello\u0000 {{ persona_name }}"},
        {"template_instructions": "\u0000"},
        {"change_note": "note\u0000"},
        {"template_name": "x", "expected_version": 99999999999999999999},
    ],
)
def test_values_postgres_cannot_store_are_a_422(client: TestClient, mode: AuthMode, templates: str, body: dict) -> None:
    response = client.patch(f"{TEMPLATE_API}/{templates}", json=body, headers=mode.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_the_template_form_refuses_nul_with_its_errors(client: TestClient, mode: AuthMode, templates: str) -> None:
    headers = same_origin(client, mode.headers)
    form = {
        "csrf_token": headers["X-CSRF-Token"],
        "template_name": "a\u0000b",
        "template_prompt": "Hi",
        "expected_version": "1",
    }
    response = client.post(f"/templates/{templates}", data=form, headers=headers)
    assert response.status_code == 422
    assert "NUL" in response.text


def test_a_huge_conversation_number_on_the_preview_is_a_422(client: TestClient, mode: AuthMode, templates: str) -> None:
    huge = "99999999999999999999"
    api = client.get(f"{TEMPLATE_API}/{templates}/preview", params={"conversation_number": huge}, headers=mode.headers)
    assert api.status_code == 422, api.text
    page = client.get(f"/templates/{templates}", params={"conversation_number": huge}, headers=mode.headers)
    assert page.status_code == 422, page.text


def test_a_nul_in_a_query_value_is_a_422(client: TestClient, mode: AuthMode) -> None:
    response = client.get("/api/train-data/quality/duplicates?status=a%00b", headers=mode.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_an_unknown_job_id_in_sign_in_mode_is_a_404_not_a_500(client: TestClient, mode: AuthMode) -> None:
    response = client.post(f"/api/train-data/jobs/{uuid.uuid4()}/cancel", headers=mode.headers)
    assert response.status_code == 404


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_flash_cookie_is_secure_over_https(database: Database, mode: AuthMode, scheme: str) -> None:
    with database.session_scope() as s:
        plan.load_templates(s, plan.read_templates(), user="dana")
        plan.load_plan(s, plan.read_plan(), user="dana")
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.is_seed_example)
            .values(generation_status="approved")
        )
    configured = auth_mode(mode.name, ANTHROPIC_API_KEY="test-key")
    app = create_app(configured.settings, database)
    with TestClient(app, base_url=f"{scheme}://testserver") as client:
        headers = {**same_origin(client, configured.headers), "Origin": f"{scheme}://testserver"}
        response = client.post(
            "/generate/single",
            data={"conversation_id": "11", "csrf_token": headers["X-CSRF-Token"]},
            headers=headers,
            follow_redirects=False,
        )
    assert response.status_code == 303, response.text
    flash = next(c for c in response.headers.get_list("set-cookie") if c.startswith("tds_flash="))
    assert ("Secure" in flash) is (scheme == "https")
