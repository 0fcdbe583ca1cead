"""The browser-facing defences in a real Chromium: a page served from another port cannot submit a form to
the app, and no page of the app logs a Content-Security-Policy violation while it is used."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from .conftest import _free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

Api = Callable[..., dict[str, Any]]
PAGES = [
    "/",
    "/jobs",
    "/quality",
    "/quality/duplicates",
    "/templates",
    "/import",
    "/exports",
    "/training-files",
    "/status",
]


class OtherSite:
    """An attacker's page on another port of 127.0.0.1: a form that posts to the app as soon as it loads."""

    def __init__(self, target: str) -> None:
        page = (
            "<!doctype html><title>other site</title>"
            f'<form id="f" method="post" action="{target}">'
            '<input name="status" value="approved"></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtherSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raw_page(browser: Browser) -> Iterator[Page]:
    """A page without the suite's console-error guard: the app's refusal page is expected here."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _status(app_url: str, ident: str) -> str:
    response = httpx.get(f"{app_url}/api/train-data/conversations/{ident}", timeout=10)
    response.raise_for_status()
    return str(response.json()["generation_status"])


def test_a_form_on_another_port_cannot_change_a_conversation(raw_page: Page, app_url: str, api: Api) -> None:
    generated = api(status="generated")["items"]
    assert generated, "the e2e data has generated conversations"
    ident = generated[0]["conversation_id"]
    with OtherSite(f"{app_url}/conversations/{ident}/status") as other:
        with raw_page.expect_response(lambda r: r.url.startswith(app_url) and r.request.method == "POST") as info:
            raw_page.goto(other.url)
        answer = info.value
        assert answer.status == 403
        assert "another origin" in answer.text()
    assert _status(app_url, ident) == "generated"


def test_no_page_logs_a_content_security_policy_violation(page: Page, app_url: str) -> None:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    for path in PAGES:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    # The Alpine components (CSP build): the Matrix's quality range and a conversation's tabs; then a static script.
    page.goto("/")
    page.locator("#f-quality-min").fill("4.5")
    page.locator("#f-quality-min").dispatch_event("input")
    page.wait_for_function("() => document.querySelector('.range-value').innerText.startsWith('4.5')")
    page.goto("/conversations/fp_marcus_002")
    page.get_by_role("tab", name="Quality").click()
    page.get_by_role("tabpanel", name="Quality").wait_for(state="visible")
    page.goto("/import")
    page.locator("#import-files").set_input_files(
        files=[{"name": "one.json", "mimeType": "application/json", "buffer": b"{}"}]
    )
    # The Import page's own static script lists the chosen files, one line each with its size.
    page.wait_for_function(
        "() => { const box = document.getElementById('import-chosen').innerText;"
        " return box.startsWith('1 file chosen (2 B):') && box.includes('one.json'); }"
    )
    assert violations == []
