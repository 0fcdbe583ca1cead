"""Generation from the browser: the confirmation dialogs, a job's live dashboard, pause and resume, and the
Matrix following along. The app and a `tds worker` run as subprocesses against a fake Anthropic API served
by this test process (see `generation_app` in conftest.py)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from tests.helpers.later_layouts import make_block, make_half_pair_conversation, make_training_file
from training_data_studio.conversations import selection
from training_data_studio.models import TrainingConversation

from .conftest import FAKE_LATENCY_SECONDS, GenerationApp, embedded_database, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.e2e

ROWS = "#matrix-table tbody tr[data-conversation]"
JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")
# The fake's latency while a job is paused and resumed: long enough to click Pause with calls still queued.
SLOW_CALL_SECONDS = 1.0
# A conversation in flight when the job is paused may still have this many turns (calls) to write.
MAX_TURNS = 6


def _api(app: GenerationApp, path: str, **params: Any) -> Any:
    response = httpx.get(f"{app.url}/api/train-data{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def _planned_ids(app: GenerationApp, count: int) -> list[str]:
    items = _api(app, "/conversations", status="planned", sort="number", page_size=25)["items"]
    assert len(items) >= count, "the plan has run out of planned conversations"
    return [item["conversation_id"] for item in items[:count]]


def _settled(dialog: Locator) -> None:
    """Wait for the dialog's opening animation, so a screenshot shows it."""
    dialog.evaluate("el => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished))")


def _job_id(page: Page) -> str:
    return page.url.rsplit("/", 1)[-1]


@pytest.fixture
def slow_calls(generation_app: GenerationApp) -> Iterator[None]:
    generation_app.fake.config.latency_seconds = SLOW_CALL_SECONDS
    yield
    generation_app.fake.config.latency_seconds = FAKE_LATENCY_SECONDS


def test_the_generate_selected_dialog_works_from_the_keyboard(generation_page: Page) -> None:
    page = generation_page
    page.goto("/?status=planned")
    for index in range(2):
        page.locator(f"{ROWS} input[name=selected]").nth(index).focus()
        page.keyboard.press("Space")
    opener = page.locator("#generate-selected")
    expect(opener).to_have_text("Generate Selected (2)")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Generate selected (2)")

    visited: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focus = page.evaluate(
            """() => { const el = document.activeElement;
                return { inside: !!el.closest('#generate-dialog'),
                         name: (el.getAttribute('name') || el.textContent || '').trim() }; }"""
        )
        assert focus["inside"], f"focus left the dialog after {visited}"
        visited.append(focus["name"])
    for name in ("budget_usd", "economy", "Generate 2 conversations", "Cancel"):
        assert name in visited, visited
    _settled(dialog)
    screenshot(page, "generation-dialog-keyboard", full_page=False)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "generate-selected"


def test_generate_selected_runs_a_batch_and_the_matrix_follows_live(
    generation_page: Page, generation_app: GenerationApp
) -> None:
    page = generation_page
    ids = _planned_ids(generation_app, 3)
    watcher = page.context.new_page()  # a second tab on the Matrix: its rows must change without a reload
    watcher.goto("/?status=planned")
    expect(watcher.locator(f'{ROWS}[data-conversation="{ids[0]}"] [data-col=status]')).to_have_text("Planned")

    page.goto("/?status=planned")
    for conversation_id in ids:
        page.locator(f'{ROWS}[data-conversation="{conversation_id}"] input[name=selected]').check()
    expect(page.locator("#generate-selected")).to_have_text("Generate Selected (3)")
    page.locator("#generate-selected").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Generate selected (3)")
    expect(dialog.locator("[data-selected-list] tbody tr")).to_have_count(3)
    expect(dialog.locator("[data-pacing-warning]")).to_contain_text("paced by the provider's rate limits")
    expect(dialog.locator("[data-estimate-cost]")).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    _settled(dialog)
    screenshot(page, "generation-dialog-batch", full_page=False)

    dialog.locator("[data-confirm-generation]").click()
    page.wait_for_url(JOB_URL)
    expect(page.locator(".toast").first).to_contain_text("Job started: 3 conversations queued.")
    expect(page.locator("#job-log")).to_contain_text("Calling Claude API")
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "completed", timeout=60_000)
    expect(page.locator("[data-progress-text]")).to_have_text("3 of 3 conversations finished")
    expect(page.locator("[data-job-summary]")).to_be_visible()
    expect(page.locator("[data-recent] tbody tr")).to_have_count(3)
    expect(page.locator("#job-log")).to_contain_text("Job complete: 3 generated")
    screenshot(page, "generation-job-completed")

    for conversation_id in ids:
        cell = watcher.locator(f'{ROWS}[data-conversation="{conversation_id}"] [data-col=status]')
        expect(cell).to_have_text("Generated", timeout=10_000)
    screenshot(watcher, "generation-matrix-live")
    watcher.close()

    page.goto("/jobs")
    expect(page.locator("#jobs tbody tr").first).to_contain_text("3 of 3")
    screenshot(page, "generation-jobs-list")


def _keep_planned(app: GenerationApp, count: int) -> list[int]:
    """Approve every planned conversation but the first `count` in process-all order, directly in the database."""
    database = embedded_database(app.data_dir)
    try:
        with database.session_scope() as s:
            remaining = selection.remaining_conversations(s)
            kept = [c.conversation_number for c in remaining[:count]]
            s.execute(
                update(TrainingConversation)
                .where(
                    TrainingConversation.generation_status == "planned",
                    TrainingConversation.conversation_number.not_in(kept),
                )
                .values(generation_status="approved")
            )
            left = s.scalars(
                select(TrainingConversation.conversation_number).where(
                    TrainingConversation.generation_status == "planned"
                )
            ).all()
        assert sorted(left) == sorted(kept)
        return kept
    finally:
        database.dispose()


def _progress(page: Page) -> int:
    text = page.locator("[data-progress-text]").inner_text()
    match = re.match(r"(\d+) of", text)
    assert match, text
    return int(match.group(1))


@pytest.mark.usefixtures("slow_calls")
def test_pause_and_resume_a_process_all_job_and_reload_mid_job(
    generation_page: Page, generation_app: GenerationApp
) -> None:
    page = generation_page
    kept = _keep_planned(generation_app, 5)
    page.goto("/")
    expect(page.locator("#process-all")).to_have_text("Process All Remaining (5)")
    page.locator("#process-all").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_contain_text("Process all remaining (5)")
    expect(dialog.locator("[data-long-running-warning]")).to_contain_text("You can close the browser")
    expect(dialog).to_contain_text("Tier 1 → Tier 2 → Tier 3")
    _settled(dialog)
    screenshot(page, "generation-dialog-process-all", full_page=False)
    dialog.locator("[data-confirm-generation]").click()
    page.wait_for_url(JOB_URL)
    job_id = _job_id(page)
    status = page.locator("[data-job-status]")
    expect(status).to_have_attribute("data-job-status", "in_progress", timeout=15_000)
    expect(page.locator("[data-current]").first).to_be_visible()
    screenshot(page, "generation-job-running")

    page.locator("#job-pause").click()
    expect(status).to_have_attribute("data-job-status", "paused", timeout=5_000)
    assert _api(generation_app, f"/jobs/{job_id}")["status"] == "paused"
    # Conversations in flight finish (their remaining turns, a call each) and are saved; nothing new starts
    # while paused.
    time.sleep(SLOW_CALL_SECONDS * (MAX_TURNS + 1.5))
    settled = _api(generation_app, f"/jobs/{job_id}")
    assert settled["running_conversations"] == 0
    assert settled["completed_conversations"] < len(kept)
    time.sleep(SLOW_CALL_SECONDS * 1.5)
    assert _api(generation_app, f"/jobs/{job_id}")["completed_conversations"] == settled["completed_conversations"]
    expect(page.locator("[data-progress-text]")).to_contain_text(f"{settled['completed_conversations']} of 5")
    screenshot(page, "generation-job-paused")

    page.locator("#job-resume").click()
    expect(status).not_to_have_attribute("data-job-status", "paused", timeout=5_000)
    assert _api(generation_app, f"/jobs/{job_id}")["status"] in ("queued", "in_progress")

    # Closing the page and coming back: the dashboard is rendered from the database, so it shows the job's state.
    page.reload()
    expect(page.locator("#job-log")).to_contain_text("Paused by the user.")
    expect(page.locator("#job-log")).to_contain_text("Resumed:")
    deadline = time.monotonic() + 10
    while True:
        detail = _api(generation_app, f"/jobs/{job_id}")
        done = detail["completed_conversations"] + detail["failed_conversations"]
        if _progress(page) == done or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert _progress(page) == done

    expect(status).to_have_attribute("data-job-status", "completed", timeout=60_000)
    final = _api(generation_app, f"/jobs/{job_id}")
    assert final["completed_conversations"] == len(kept)
    assert final["failed_conversations"] == 0
    expect(page.locator("[data-progress-text]")).to_have_text("5 of 5 conversations finished")
    screenshot(page, "generation-job-resumed-completed")


def _generated_id(app: GenerationApp) -> str:
    """A conversation generated by an earlier test of the session, or one generated now."""
    generated = _api(app, "/conversations", status="generated", sort="number", page_size=25)["items"]
    if generated:
        return str(generated[0]["conversation_id"])
    conversation_id = _planned_ids(app, 1)[0]
    started = httpx.post(
        f"{app.url}/api/train-data/generate/single", json={"conversation_id": conversation_id}, timeout=10
    )
    assert started.status_code == 201, started.text
    deadline = time.monotonic() + 60
    while _api(app, f"/conversations/{conversation_id}")["generation_status"] != "generated":
        assert time.monotonic() < deadline, "the first generation did not finish"
        time.sleep(0.2)
    return conversation_id


def test_regenerate_from_the_detail_view_keeps_the_previous_version(
    generation_page: Page, generation_app: GenerationApp
) -> None:
    page = generation_page
    conversation_id = _generated_id(generation_app)

    page.goto("/?status=generated&page_size=100")
    page.locator(f'{ROWS}[data-conversation="{conversation_id}"] [data-open-detail]').click()
    panel = page.locator("#slide-over")
    expect(panel.locator("[data-regenerate]")).to_be_visible()
    panel.locator("[data-regenerate]").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Regenerate conversation #")
    expect(dialog.locator("[data-regenerate-notice]")).to_contain_text("kept whole under Previous versions")
    _settled(dialog)
    screenshot(page, "regenerate-dialog", full_page=False)
    dialog.locator("[data-confirm-generation]").click()

    page.wait_for_url(JOB_URL)
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "completed", timeout=60_000)
    page.goto(f"/conversations/{conversation_id}")
    revisions = page.locator("[data-revisions] li")
    expect(revisions).to_have_count(1)
    expect(revisions.first).to_contain_text("Revision 1: generated")
    revision = _api(generation_app, f"/conversations/{conversation_id}/revisions/1")
    assert revision["training_pairs"], "the kept version has its turns"
    screenshot(page, "regenerated-detail")


def _incomplete_training_file() -> tuple[str, bytes]:
    """A v4 training file of our own: one exchange and a client message left without a reply, of 8 declared
    pairs, for a persona outside the plan (an extra conversation, on the shame-to-acceptance template)."""
    block = make_block(make_half_pair_conversation("e2e_partial", 1, open_ending=True), declared_turns=8)
    block["conversation_metadata"]["scaffolding"] |= {"emotional_arc_key": "shame_to_acceptance"}
    document = make_training_file([block])
    return block["conversation_metadata"]["conversation_id"], json.dumps(document).encode("utf-8")


def test_an_imported_incomplete_conversation_is_completed_from_the_matrix(
    generation_page: Page, generation_app: GenerationApp
) -> None:
    page = generation_page
    conversation_id, content = _incomplete_training_file()
    page.goto("/import")
    page.set_input_files(
        "#import-files", files=[{"name": "e2e-incomplete.json", "mimeType": "application/json", "buffer": content}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    summary = page.locator("#import-progress")
    expect(summary.get_by_role("heading", name=re.compile(r"Import finished"))).to_be_visible(timeout=30_000)
    expect(summary).to_contain_text("1 incomplete")

    page.goto("/?status=incomplete&page_size=100")
    row = page.locator(f'{ROWS}[data-conversation="{conversation_id}"]')
    expect(row.locator("[data-col=status]")).to_have_text("Incomplete")
    expect(row.locator("[data-col=turns]")).to_have_text("1/4")
    row.locator("[data-generate-row]").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_contain_text("Complete conversation #")
    expect(dialog.locator("[data-completion-notice]")).to_contain_text("holds 1 of its 4 turns and ends on a client")
    _settled(dialog)
    screenshot(page, "completion-dialog", full_page=False)
    dialog.locator("[data-confirm-generation]").click()

    page.wait_for_url(JOB_URL)
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "completed", timeout=60_000)
    expect(page.locator("#job-log")).to_contain_text("Saved 3 new turns after the 1 stored ones")
    detail = _api(generation_app, f"/conversations/{conversation_id}")
    assert (detail["generation_status"], detail["turn_count"]) == ("generated", 4)
    page.goto(f"/conversations/{conversation_id}")
    expect(page.locator("[data-revisions] li").first).to_contain_text("Revision 1: incomplete")
    expect(page.locator("[data-revisions] li").first).to_contain_text("completed")
    screenshot(page, "completed-detail")
