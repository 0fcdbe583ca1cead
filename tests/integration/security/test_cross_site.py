"""Cross-site request forgery: every unsafe route refuses a write sent by another site's page, and accepts
the same request from the app's own page; API clients that are not browsers keep working."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import factories as f
from tests.helpers.browser import APP_ORIGIN, AUTH_MODES, AuthMode, auth_mode, cross_site, page_token, same_origin
from tests.helpers.databases import PgServer, cloned_database
from training_data_studio.app import create_app
from training_data_studio.core.csrf import COOKIE
from training_data_studio.core.db import Database
from training_data_studio.models import TrainingConversation

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PATH_VALUES = {"ident": "fp_marcus_001", "template_ref": "no_such_template", "action": "approve"}


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        # FastAPI keeps an included router as one entry (app.py includes them without a prefix).
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        else:
            yield route


def _unsafe_routes() -> list[tuple[str, str]]:
    found = []
    for route in _routes(create_app().routes):
        if isinstance(route, APIRoute):
            found.extend((method, route.path) for method in sorted(route.methods & set(UNSAFE)))
    return found


UNSAFE_ROUTES = _unsafe_routes()


def _url(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), str(uuid.uuid4())), path)


def _error_code(response: Any) -> str | None:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return body.get("error", {}).get("code") if isinstance(body, dict) else None
    return None


def test_the_app_has_unsafe_routes_to_check() -> None:
    # Guards the parametrisation below: an empty list would make every test of it pass vacuously.
    assert len(UNSAFE_ROUTES) >= 30
    assert ("POST", "/generate/process-all") in UNSAFE_ROUTES


@pytest.fixture(scope="module", params=AUTH_MODES)
def route_client(
    request: pytest.FixtureRequest, test_server: PgServer, template_database: str
) -> Iterator[tuple[TestClient, AuthMode]]:
    """One database for the route-by-route tests of a mode: they write nothing (made-up ids, no bodies)."""
    mode = auth_mode(request.param)
    with cloned_database(test_server, template_database) as target:
        database = Database(target, pool_size=2)
        try:
            with TestClient(create_app(mode.settings, database)) as test_client:
                yield test_client, mode
        finally:
            database.dispose()


@pytest.mark.parametrize(("method", "path"), UNSAFE_ROUTES)
def test_a_write_from_another_site_is_refused(
    route_client: tuple[TestClient, AuthMode], method: str, path: str
) -> None:
    client, mode = route_client
    headers = {**cross_site(mode.headers), "Accept": "application/json"}
    response = client.request(method, _url(path), headers=headers)
    assert response.status_code == 403, response.text
    assert _error_code(response) == "cross_site_request"


@pytest.mark.parametrize(("method", "path"), UNSAFE_ROUTES)
def test_the_same_write_from_the_apps_own_page_reaches_the_route(
    route_client: tuple[TestClient, AuthMode], method: str, path: str
) -> None:
    client, mode = route_client
    headers = {**same_origin(client, mode.headers), "Accept": "application/json"}
    response = client.request(method, _url(path), headers=headers)
    # The made-up ids and empty bodies get the route's own answer (404, 422, ...), never the CSRF refusal.
    assert _error_code(response) not in ("cross_site_request", "csrf_token"), response.text
    assert response.status_code != 500, response.text


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"}, "another port of the same host"),
        ({"Origin": "null"}, "a sandboxed frame or a data: page"),
        ({"Sec-Fetch-Site": "cross-site"}, "Fetch Metadata only"),
        ({"Sec-Fetch-Site": "same-site"}, "a sibling site, Fetch Metadata only"),
        ({"Referer": "http://evil.example/page"}, "an old browser that sends only Referer"),
        ({"Origin": "https://testserver.evil.example"}, "a look-alike host name"),
        ({"Origin": APP_ORIGIN, "Sec-Fetch-Site": "cross-site"}, "an Origin contradicted by Fetch Metadata"),
    ],
)
def test_every_sign_of_another_origin_is_refused(
    client: TestClient, mode: AuthMode, extra: dict[str, str], why: str
) -> None:
    response = client.post("/api/train-data/conversations/fp_x/approve", headers={**mode.headers, **extra})
    assert response.status_code == 403, why
    assert response.json()["error"]["code"] == "cross_site_request", why


def test_a_cross_site_approve_changes_nothing(client: TestClient, mode: AuthMode, database: Database) -> None:
    with database.session_scope() as s:
        f.insert_generated_conversation(s, conversation_id="fp_marcus_001")
    url = "/api/train-data/conversations/fp_marcus_001/approve"
    assert client.post(url, headers=cross_site(mode.headers)).status_code == 403
    with database.session_scope() as s:
        status = s.scalar(
            select(TrainingConversation.generation_status).where(
                TrainingConversation.conversation_id == "fp_marcus_001"
            )
        )
    assert status == "generated"
    # The same request from the app's page goes through.
    assert client.post(url, headers=same_origin(client, mode.headers)).status_code == 200


def test_a_same_origin_write_without_the_token_is_refused(client: TestClient, mode: AuthMode) -> None:
    page_token(client, mode.headers)
    headers = {**mode.headers, "Origin": APP_ORIGIN, "Sec-Fetch-Site": "same-origin"}
    response = client.post("/api/train-data/conversations/fp_x/approve", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_token"
    wrong = {**headers, "X-CSRF-Token": "A" * 43}
    assert client.post("/api/train-data/conversations/fp_x/approve", headers=wrong).json()["error"]["code"] == (
        "csrf_token"
    )


def test_a_plain_form_post_carries_the_token_in_its_body(
    client: TestClient, mode: AuthMode, database: Database
) -> None:
    """No JavaScript: the hidden field of the form is the token."""
    with database.session_scope() as s:
        f.insert_generated_conversation(s, conversation_id="fp_marcus_001")
    page = client.get("/conversations/fp_marcus_001", headers=mode.headers)
    assert page.status_code == 200
    token = client.cookies.get(COOKIE)
    assert token
    assert f'name="csrf_token" value="{token}"' in page.text
    assert f'"X-CSRF-Token": "{token}"' in page.text  # what HTMX sends as a header
    browser = {**mode.headers, "Origin": APP_ORIGIN, "Sec-Fetch-Site": "same-origin"}
    url = "/conversations/fp_marcus_001/status"
    refused = client.post(url, data={"status": "approved"}, headers=browser, follow_redirects=False)
    assert refused.status_code == 403
    accepted = client.post(
        url, data={"csrf_token": token, "status": "approved"}, headers=browser, follow_redirects=False
    )
    assert accepted.status_code == 303, accepted.text


def test_an_upload_form_carries_the_token_in_its_first_part(client: TestClient, mode: AuthMode) -> None:
    token = page_token(client, mode.headers)
    browser = {**mode.headers, "Origin": APP_ORIGIN, "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
    files = [("files", ("empty.json", b"{}", "application/json"))]
    refused = client.post("/import", files=files, headers=browser)
    assert refused.status_code == 403
    accepted = client.post("/import", data={"csrf_token": token}, files=files, headers=browser)
    assert _error_code(accepted) not in ("cross_site_request", "csrf_token")
    assert accepted.status_code < 500


def test_api_clients_that_are_not_browsers_need_no_token(
    client: TestClient, mode: AuthMode, database: Database
) -> None:
    """The CLI, curl or a script: no Origin, Referer or Sec-Fetch-Site, so no page can have sent it."""
    with database.session_scope() as s:
        f.insert_generated_conversation(s, conversation_id="fp_marcus_001")
    client.cookies.clear()
    response = client.post("/api/train-data/conversations/fp_marcus_001/approve", headers=mode.headers)
    assert response.status_code == 200, response.text


def test_reads_from_another_site_are_not_refused(client: TestClient, mode: AuthMode) -> None:
    """A cross-site GET changes nothing (and the browser keeps its answer from the other page)."""
    assert client.get("/api/status", headers=cross_site(mode.headers)).status_code == 200


def test_the_token_cookie_is_http_only_lax_and_secure_over_https(client: TestClient, mode: AuthMode) -> None:
    plain = client.get("/api/status", headers=mode.headers).headers["set-cookie"]
    assert "HttpOnly" in plain
    assert "SameSite=Lax" in plain
    assert "Secure" not in plain
    client.cookies.clear()
    with TestClient(client.app, base_url="https://testserver") as secure_client:
        cookie = secure_client.get("/api/status", headers=mode.headers).headers["set-cookie"]
    assert "Secure" in cookie
