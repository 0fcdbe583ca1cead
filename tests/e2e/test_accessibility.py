"""axe-core (bundled by axe-playwright-python) on every page and dialog: no serious or critical violation.

The pages run on the generation-enabled app, after one small job has finished, so the job dashboard shows
its summary, chart and log; the "not configured" dialog runs on the plain app.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .conftest import GenerationApp, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

BLOCKING_IMPACTS = ("serious", "critical")
PAGES = [
    "/",
    "/conversations/{conversation}",
    "/jobs",
    "/jobs/{job}",
    "/import",
    "/quality",
    "/templates",
    "/templates/{template}",
    "/status",
    "/exports",
    "/training-files",
]
JOB_SECONDS = 60


def _get(app: GenerationApp, path: str, **params: Any) -> Any:
    response = httpx.get(f"{app.url}{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def targets(generation_app: GenerationApp) -> dict[str, str]:
    """A finished single-conversation job, the conversation it generated and a template, for the URLs above."""
    planned = _get(generation_app, "/api/train-data/conversations", status="planned", sort="number", page_size=25)
    conversation = planned["items"][-1]["conversation_id"]
    started = httpx.post(
        f"{generation_app.url}/api/train-data/generate/single", json={"conversation_id": conversation}, timeout=10
    )
    assert started.status_code == 201, started.text
    job = started.json()["id"]
    deadline = time.monotonic() + JOB_SECONDS
    while _get(generation_app, f"/api/train-data/jobs/{job}")["status"] != "completed":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    template = _get(generation_app, "/api/train-data/templates")[0]["template_id"]
    return {"job": job, "conversation": conversation, "template": template}


def serious_violations(page: Page) -> list[str]:
    """Every serious or critical axe violation on the page as it is now, one line each."""
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        where = ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        found.append(f"{violation['impact']} {violation['id']}: {violation['help']} ({where})")
    return found


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_no_serious_violation(generation_page: Page, targets: dict[str, str], path: str) -> None:
    url = path.format(**targets)
    response = generation_page.goto(url)
    assert response is not None
    if response.status == 404 and "{" not in path:
        pytest.skip(f"{path} does not exist in this build")
    assert response.ok, f"{url}: HTTP {response.status}"
    assert serious_violations(generation_page) == []


def _open_dialog(page: Page, opener: str) -> None:
    page.locator(opener).first.click()
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_be_visible()
    dialog.evaluate("el => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished))")


@pytest.mark.usefixtures("targets")
def test_the_generation_dialogs_have_no_serious_violation(generation_page: Page) -> None:
    page = generation_page
    page.goto("/?status=planned")
    _open_dialog(page, "#matrix-table tbody tr[data-status=planned] button[data-generate-opener]")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")

    page.locator("#matrix-table tbody tr[data-status=planned] input[name=selected]").first.check()
    _open_dialog(page, "#generate-selected")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")

    _open_dialog(page, "#process-all")
    assert serious_violations(page) == []


def test_the_not_configured_dialog_has_no_serious_violation(page: Page) -> None:
    page.goto("/?status=planned")
    _open_dialog(page, "#process-all")
    expect(page.locator("[data-generation-unavailable]")).to_contain_text("ANTHROPIC_API_KEY")
    expect(page.locator("[data-confirm-generation]")).to_have_count(0)
    screenshot(page, "generation-dialog-not-configured", full_page=False)
    assert serious_violations(page) == []
