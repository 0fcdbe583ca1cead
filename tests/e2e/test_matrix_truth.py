"""The pages tell the truth, at 1440x900 and at 390x844: failed rows are generated again from the Matrix, a
job's counts add up after Retry then Cancel, seed slots say what they are, emotions have one option each, the
selection survives pages and filters, and the new columns sort. Every state is scanned with axe and saved as a
screenshot under test-results/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from training_data_studio.conversations.emotions import emotion_key
from training_data_studio.models import TrainingConversation

from .conftest import FAKE_LATENCY_SECONDS, GenerationApp, _page, choose_filter, embedded_database, screenshot
from .test_accessibility import serious_violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

ROWS = "#matrix-table tbody tr[data-conversation]"
JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
C = TrainingConversation


@pytest.fixture(params=list(VIEWPORTS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def plain(browser: Browser, app_url: str, width: str) -> Iterator[Page]:
    """A page on the plain app, at the width of this run."""
    yield from _page(browser, app_url, *VIEWPORTS[width])


@pytest.fixture
def generating(browser: Browser, generation_app: GenerationApp, width: str) -> Iterator[Page]:
    """A page on the generation-enabled app, at the width of this run."""
    yield from _page(browser, generation_app.url, *VIEWPORTS[width])


def _api(url: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{url}/api/train-data{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def _no_sideways_scroll(page: Page, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{what} scrolls sideways by {overflow}px"


def _set_status(app: GenerationApp, numbers: list[int], status: str, **values: Any) -> None:
    database = embedded_database(app.data_dir)
    try:
        with database.session_scope() as s:
            s.execute(update(C).where(C.conversation_number.in_(numbers)).values(generation_status=status, **values))
    finally:
        database.dispose()


def _turnless(app: GenerationApp, count: int) -> list[int]:
    """Non-seed conversations without turns that no job holds: planned, or approved by an earlier test."""
    database = embedded_database(app.data_dir)
    try:
        with database.session_scope() as s:
            numbers = s.scalars(
                select(C.conversation_number)
                .where(
                    C.turn_count == 0,
                    C.is_seed_example.is_(False),
                    C.generation_status.in_(("planned", "approved")),
                )
                .order_by(C.conversation_number.desc())
                .limit(count)
            ).all()
    finally:
        database.dispose()
    assert len(numbers) == count, "the plan has run out of conversations without turns"
    return list(numbers)


def _wait_for_job(app: GenerationApp, job_id: str, status: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = _api(app.url, f"/jobs/{job_id}")
        if job["status"] == status:
            return job
        assert time.monotonic() < deadline, f"job {job_id} is {job['status']}, not {status}"
        time.sleep(0.2)


def _confirm_dialog(page: Page) -> None:
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_be_visible()
    dialog.evaluate("el => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished))")


# --------------------------------------------------------------------------------------------------
# 1. Failed rows are generated again: one, a selection, or all failed at once; disabled actions say why.
# --------------------------------------------------------------------------------------------------


def test_failed_rows_offer_retry_and_disabled_actions_say_why(
    generating: Page, generation_app: GenerationApp, width: str
) -> None:
    page = generating
    failed = _turnless(generation_app, 3)
    _set_status(generation_app, failed, "failed", generation_error="An invented failure for this test.")
    try:
        page.goto("/?status=failed")
        expect(page.locator(ROWS)).to_have_count(3)
        for number in failed:
            retry = page.locator(f'{ROWS}[data-conversation-number="{number}"] [data-generate-row]')
            expect(retry).to_have_text(re.compile(r"^Retry"))
            retry.scroll_into_view_if_needed()
            expect(retry).to_be_visible()
            expect(retry).to_be_in_viewport()
        expect(page.locator("#retry-failed")).to_have_text("Retry all failed (3)")
        expect(page.locator("#retry-failed")).to_be_enabled()

        selected = page.locator("#generate-selected")
        expect(selected).to_be_disabled()
        expect(selected).to_have_attribute("title", re.compile(r"^Select planned or failed conversations"))
        expect(page.locator("#generate-selected-why")).to_have_text(selected.get_attribute("title") or "?")
        page.locator(f'{ROWS}[data-conversation-number="{failed[0]}"] input[name=selected]').check()
        expect(selected).to_be_enabled()
        expect(selected).to_have_text("Generate Selected (1)")
        expect(selected).not_to_have_attribute("title", re.compile(r"."))
        assert serious_violations(page) == []
        screenshot(page, f"matrix-failed-rows-{width}", full_page=False)
        _no_sideways_scroll(page, f"the Matrix at {width}")
        # Every disabled action on the page says why, to the pointer and to assistive technology.
        for button in page.locator("button:disabled").all():
            assert button.get_attribute("title"), button.evaluate("el => el.outerHTML")
    finally:
        _set_status(generation_app, failed, "planned", generation_error=None)


def test_retry_one_then_retry_all_failed_generates_them(generation_page: Page, generation_app: GenerationApp) -> None:
    page = generation_page
    failed = _turnless(generation_app, 3)
    _set_status(generation_app, failed, "failed", generation_error="An invented failure for this test.")
    page.goto("/?status=failed")
    page.locator(f'{ROWS}[data-conversation-number="{failed[0]}"] [data-generate-row]').click()
    _confirm_dialog(page)
    expect(page.locator("#generate-dialog")).to_contain_text(f"Generate conversation #{failed[0]}")
    page.locator("[data-confirm-generation]").click()
    page.wait_for_url(JOB_URL)
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "completed", timeout=60_000)
    expect(page.locator("[data-count-breakdown]")).to_have_text("1 generated · 0 failed · 0 cancelled · 0 remaining")

    page.goto("/?status=failed")
    expect(page.locator("#retry-failed")).to_have_text("Retry all failed (2)")
    page.locator("#retry-failed").click()
    _confirm_dialog(page)
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_contain_text("Retry all failed (2)")
    expect(dialog.locator("[data-selected-list] tbody tr")).to_have_count(2)
    screenshot(page, "matrix-retry-all-failed-dialog", full_page=False)
    page.locator("[data-confirm-generation]").click()
    page.wait_for_url(JOB_URL)
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "completed", timeout=60_000)
    statuses = {
        item["conversation_number"]: item["generation_status"]
        for item in _api(generation_app.url, "/conversations", page_size=100, sort="number")["items"]
        if item["conversation_number"] in failed
    }
    assert statuses == dict.fromkeys(failed, "generated")
    page.goto("/")
    expect(page.locator("#retry-failed")).to_be_disabled()
    expect(page.locator("#retry-failed")).to_have_attribute("title", re.compile("No conversation has failed"))


# --------------------------------------------------------------------------------------------------
# 2. A job's counts add up after Retry then Cancel.
# --------------------------------------------------------------------------------------------------


def _breakdown(page: Page) -> dict[str, int]:
    text = page.locator("[data-count-breakdown]").inner_text()
    return {name: int(n) for n, name in re.findall(r"(\d+) (generated|failed|cancelled|skipped|remaining)", text)}


def test_job_counts_add_up_after_retry_then_cancel(
    generating: Page, generation_app: GenerationApp, browser: Browser, width: str
) -> None:
    page = generating
    numbers = _turnless(generation_app, 2)
    _set_status(generation_app, numbers, "planned")
    fake = generation_app.fake.config
    fake.share_invalid = 1.0  # every reply is unusable: both conversations fail
    try:
        started = httpx.post(
            f"{generation_app.url}/api/train-data/generate/batch",
            json={"conversation_ids": [str(n) for n in numbers]},
            timeout=10,
        )
        assert started.status_code == 201, started.text
        job_id = started.json()["id"]
        _wait_for_job(generation_app, job_id, "completed")
        page.goto(f"/jobs/{job_id}")
        assert _breakdown(page) == {"generated": 0, "failed": 2, "cancelled": 0, "remaining": 0}

        fake.latency_seconds = 5.0  # the retried calls are still queued or in flight when Cancel comes
        page.locator("#job-retry").click()
        expect(page.locator("[data-job-status]")).not_to_have_attribute("data-job-status", "completed")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#job-cancel").click()
        expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "cancelled")
    finally:
        fake.share_invalid = 0.0
        fake.latency_seconds = FAKE_LATENCY_SECONDS
    deadline = time.monotonic() + 20  # the aborted calls end and their items are marked cancelled
    while _api(generation_app.url, f"/jobs/{job_id}")["remaining_conversations"]:
        assert time.monotonic() < deadline, "the cancelled job still has items running"
        time.sleep(0.2)
    page.reload()
    counts = _breakdown(page)
    detail = _api(generation_app.url, f"/jobs/{job_id}")
    assert sum(counts.values()) == detail["total_conversations"] == 2, counts
    assert counts["failed"] + counts["cancelled"] + counts["remaining"] == 2, counts
    assert counts["cancelled"] == detail["cancelled_conversations"]
    finished = counts["generated"] + counts["failed"] + counts["cancelled"] + counts.get("skipped", 0)
    expect(page.locator("[data-progress-text]")).to_have_text(f"{finished} of 2 conversations finished")
    expect(page.locator("[data-percent]")).to_have_text(f"{detail['percent']}%")
    assert detail["percent"] == round(100 * finished / 2, 1)
    assert serious_violations(page) == []
    screenshot(page, f"job-retry-then-cancel-{width}")
    _no_sideways_scroll(page, f"the job dashboard at {width}")


# --------------------------------------------------------------------------------------------------
# 3. Seed slots before an import.
# --------------------------------------------------------------------------------------------------


def test_a_seed_slot_says_what_it_is_and_can_be_generated_by_choice(
    generating: Page, generation_app: GenerationApp, width: str
) -> None:
    page = generating
    _set_status(generation_app, [10], "planned")  # the plan's seed #10, its file not imported yet
    try:
        page.goto("/?is_seed=true")
        row = page.locator(f'{ROWS}[data-conversation-number="10"]')
        expect(row.locator("[data-seed-slot]")).to_have_text(re.compile(r"^Seed slot"))
        expect(row.locator("[data-seed-slot]")).to_have_attribute(
            "title", "Seed slot — import the seed file or generate it"
        )
        expect(row.locator("[data-generate-row]")).to_have_text(re.compile(r"^Generate"))
        expect(page.locator("[data-seed-slot-note]")).to_contain_text("1 seed slot waits for its seed file")
        screenshot(page, f"matrix-seed-slot-{width}", full_page=False)

        conversation_id = row.get_attribute("data-conversation")
        page.goto(f"/conversations/{conversation_id}")
        expect(page.get_by_text("is a seed slot: import its seed file, or generate it instead.")).to_be_visible()
        expect(page.get_by_text("was imported from a seed file")).to_have_count(0)
        expect(page.locator("[data-generate-detail]")).to_have_text("Generate")
        _no_sideways_scroll(page, f"the detail page at {width}")

        page.goto("/")
        planned_before = int(re.findall(r"\d+", page.locator("#process-all").inner_text())[0])
        page.locator("#process-all").click()
        _confirm_dialog(page)
        dialog = page.locator("#generate-dialog")
        expect(dialog.locator("[data-seed-slots]")).to_contain_text("1 seed slot is left out")
        dialog.locator("[data-include-seed-slots]").click()
        expect(page.locator("#generate-dialog")).to_contain_text(f"Process all remaining ({planned_before + 1})")
        expect(page.locator("#generate-dialog [data-seed-slots]")).to_contain_text("The 1 seed slot is included")
        _confirm_dialog(page)
        assert serious_violations(page) == []
        screenshot(page, f"process-all-seed-slots-{width}", full_page=False)
    finally:
        _set_status(generation_app, [10], "approved")


# --------------------------------------------------------------------------------------------------
# 4. One option per emotion, whatever its spelling.
# --------------------------------------------------------------------------------------------------


def test_each_emotion_is_one_option_and_filters_every_spelling(plain: Page, app_url: str, width: str) -> None:
    page = plain
    page.goto("/")
    for name in ("starting_emotion", "ending_emotion"):
        boxes = page.locator(f"#f-{name} input[type=checkbox]")
        values = boxes.evaluate_all("els => els.map((el) => el.value)")
        labels = boxes.evaluate_all("els => els.map((el) => el.closest('label').textContent.trim())")
        assert values, name
        assert len(set(values)) == len(values), values
        assert all(value == emotion_key(value) for value in values), values
        bare = [re.sub(r" \(\d+\)$", "", label).lower() for label in labels]
        assert len(set(bare)) == len(bare), labels
    first = page.locator("#f-starting_emotion input[type=checkbox]").first.get_attribute("value") or ""
    expected = _api(app_url, "/conversations", starting_emotion=first, page_size=100)
    choose_filter(page, "starting_emotion", first)
    page.wait_for_url(re.compile(rf"starting_emotion={re.escape(first)}"), wait_until="commit")
    expect(page.locator(ROWS)).to_have_count(expected["filtered_total"])  # no eval'd waits under the CSP
    starts = page.locator(f"{ROWS} [data-col=arc] .arc-start").all_inner_texts()
    assert {emotion_key(re.sub(r"\s+[\d.]+$", "", s)) for s in starts} == {first}
    screenshot(page, f"matrix-emotion-filter-{width}", full_page=False)


# --------------------------------------------------------------------------------------------------
# 6. The selection is kept across pages and filters, with an "N selected — Clear selection" bar.
# --------------------------------------------------------------------------------------------------


def test_the_selection_survives_pages_and_filters(plain: Page, width: str) -> None:
    page = plain
    page.goto("/?page_size=25")
    bar = page.locator("[data-selection-bar]")
    expect(bar).to_be_hidden()
    boxes = page.locator(f"{ROWS} input[name=selected]")
    first_page = [boxes.nth(i).get_attribute("value") for i in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(bar).to_be_visible()
    expect(bar.locator("[data-selection-text]")).to_have_text("2 selected")
    # Rows 1 and 2 are the generated seeds: nothing to generate, and the button says so.
    expect(page.locator("#generate-selected")).to_be_disabled()
    expect(page.locator("#generate-selected")).to_have_attribute(
        "title", re.compile(r"^None of the 2 selected conversations is planned or failed")
    )

    page.locator("a[rel=next]").first.click()
    page.wait_for_url(re.compile(r"page=2"), wait_until="commit")
    expect(page.locator(f'{ROWS}[data-conversation="{first_page[0]}"]')).to_have_count(0)
    expect(bar.locator("[data-selection-text]")).to_have_text("2 selected (2 not on this page)")
    page.locator(f"{ROWS} input[name=selected]").first.check()
    expect(bar.locator("[data-selection-text]")).to_have_text("3 selected (2 not on this page)")
    expect(page.locator("#generate-selected")).to_have_text("Generate Selected (1)")  # the planned one
    expect(page.locator("#generate-selected")).to_be_enabled()
    screenshot(page, f"matrix-selection-bar-{width}", full_page=False)
    assert serious_violations(page) == []

    page.locator("a[rel=prev]").first.click()
    page.wait_for_url(re.compile(r"/\?page_size=25$"), wait_until="commit")
    for conversation_id in first_page:
        expect(page.locator(f'{ROWS}[data-conversation="{conversation_id}"] input[name=selected]')).to_be_checked()

    choose_filter(page, "persona", "Jennifer")
    page.wait_for_url(re.compile(r"persona=Jennifer"), wait_until="commit")
    expect(bar.locator("[data-selection-text]")).to_have_text(re.compile(r"^3 selected"))
    page.reload()  # the same tab keeps it across a reload too
    expect(bar.locator("[data-selection-text]")).to_have_text(re.compile(r"^3 selected"))

    bar.locator("[data-selection-clear]").click()
    expect(bar).to_be_hidden()
    expect(page.locator(f"{ROWS} input[name=selected]:checked")).to_have_count(0)
    expect(page.locator("#generate-selected")).to_be_disabled()


# --------------------------------------------------------------------------------------------------
# 8. Topic, tier, turns and the emotional arc sort.
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "key"), [("Topic", "topic"), ("Tier", "tier"), ("Turns", "turns")])
def test_the_new_columns_sort(plain: Page, app_url: str, width: str, header: str, key: str) -> None:
    page = plain
    page.goto("/?page_size=25")
    link = page.locator("#matrix-table thead th a", has_text=re.compile(rf"^{header}"))
    link.click()
    page.wait_for_url(re.compile(rf"sort={key}"), wait_until="commit")
    expected = [i["conversation_number"] for i in _api(app_url, "/conversations", sort=key, page_size=25)["items"]]
    expect(page.locator(f"{ROWS} [data-number]")).to_have_text([str(n) for n in expected])
    ascending = page.locator("#matrix-table thead th[aria-sort=ascending] a", has_text=re.compile(rf"^{header}"))
    expect(ascending).to_have_count(1)
    page.locator("#matrix-table thead th a", has_text=re.compile(rf"^{header}")).click()
    page.wait_for_url(re.compile(rf"sort={key}&order=desc"), wait_until="commit")
    expect(page.locator("#matrix-table thead th[aria-sort=descending]")).to_have_count(1)
    screenshot(page, f"matrix-sorted-{key}-{width}", full_page=False)


# --------------------------------------------------------------------------------------------------
# 9. A note and a flag per turn, kept in the audit.
# --------------------------------------------------------------------------------------------------


def test_a_turn_gets_a_note_and_a_flag_from_the_detail(plain: Page, app_url: str, width: str) -> None:
    page = plain
    number = 3 if width == "desktop" else 5  # one conversation per width: each run starts unreviewed
    item = _api(app_url, "/conversations", sort="number", page_size=25)["items"][number - 1]
    conversation_id = item["conversation_id"]
    page.goto(f"/conversations/{conversation_id}")
    form = page.locator('form[data-turn-review="1"]')
    form.get_by_label("Note on turn 1").fill("The second sentence promises a return: flag for compliance.")
    form.get_by_label("Flag this turn").check()
    form.get_by_role("button", name="Save turn review").click()
    expect(page.locator('form[data-turn-review="1"] [data-turn-review-state]')).to_contain_text(
        "Flagged, with a note · saved by e2e-reviewer"
    )
    expect(page.locator(".toast").first).to_contain_text("Turn 1 of")
    expect(page.locator("summary .chip-flagged")).to_have_count(1)
    assert serious_violations(page) == []
    screenshot(page, f"detail-turn-review-{width}", full_page=False)
    _no_sideways_scroll(page, f"the detail page at {width}")

    page.reload()
    expect(page.locator('form[data-turn-review="1"] textarea')).to_have_value(
        "The second sentence promises a return: flag for compliance."
    )
    history = _api(app_url, f"/conversations/{conversation_id}/turns/1/reviews")
    assert [(h["flagged"], h["reviewer"]) for h in history] == [(True, "e2e-reviewer")]


# --------------------------------------------------------------------------------------------------
# 7. On a phone: a folded filter panel, rows as cards, no page wider than the screen; on a desktop the
#    Actions column stays whole with rows expanded.
# --------------------------------------------------------------------------------------------------


def test_the_matrix_on_a_phone_folds_its_filters_and_shows_rows_as_cards(browser_page_390: Page) -> None:
    page = browser_page_390
    page.goto("/")
    panel = page.locator("[data-filters-panel]")
    expect(panel).not_to_have_attribute("open", "")
    expect(page.locator("#f-persona")).to_be_hidden()
    summary = panel.locator(":scope > summary")
    summary.focus()
    page.keyboard.press("Enter")  # a native <details>: the keyboard opens it
    expect(panel).to_have_attribute("open", "")
    expect(page.locator("#f-persona")).to_be_visible()
    page.keyboard.press("Enter")
    expect(panel).not_to_have_attribute("open", "")

    first = page.locator(ROWS).first
    assert first.evaluate("el => getComputedStyle(el).display") == "flex"
    cells = first.locator("td:visible")
    for index in range(cells.count()):
        box = cells.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0, cells.nth(index).inner_text()
        assert box["x"] + box["width"] <= 390 + 1, cells.nth(index).inner_text()
    label = first.locator('[data-col="status"]').evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Status: "', label  # each card cell says what it is
    for view in ("/", f"/conversations/{first.get_attribute('data-conversation')}", "/status", "/jobs", "/import"):
        page.goto(view)
        _no_sideways_scroll(page, f"{view} at 390px")
    page.goto("/")
    page.locator("#matrix-table").scroll_into_view_if_needed()
    screenshot(page, "matrix-cards-phone", full_page=False)
    assert serious_violations(page) == []


def test_the_actions_column_stays_whole_with_rows_expanded(page: Page) -> None:
    page.goto("/?q=emergency")  # rows with snippets, the widest content a row has
    toggles = page.locator(f"{ROWS} [data-row-toggle]")
    for index in range(min(toggles.count(), 10)):
        toggles.nth(index).click()
    wrap = page.locator(".table-wrap:has(#matrix-table)")
    # On failure, the widest cells say which column pushed the table out of its box.
    widest = page.evaluate(
        """() => Array.from(document.querySelectorAll('#matrix-table td *'))
             .map((e) => [e.className, Math.round(e.getBoundingClientRect().width)])
             .sort((a, b) => b[1] - a[1]).slice(0, 6)"""
    )
    assert wrap.evaluate("el => el.scrollWidth - el.clientWidth") <= 1, widest
    limit = wrap.bounding_box()
    assert limit is not None
    header = page.locator("#matrix-table thead th.col-actions")
    expect(header).to_have_text(re.compile(r"^Actions$", re.I))
    for element in [header, *page.locator(f"{ROWS} .col-actions .btn").all()[:10]]:
        box = element.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= limit["x"] + limit["width"] + 1, element.inner_text()
    screenshot(page, "matrix-expanded-actions-desktop", full_page=False)


# --------------------------------------------------------------------------------------------------
# 5. Content off its brief is shown as such on the detail page.
# --------------------------------------------------------------------------------------------------


def test_the_detail_says_whether_the_content_is_on_its_brief(plain: Page, app_url: str, width: str) -> None:
    """The e2e seeds carry invented turns: "Invented client message…" is about none of their planned topics."""
    page = plain
    items = _api(app_url, "/conversations", is_seed="true", sort="number", page_size=25)["items"]
    invented = next(i for i in items if i["conversation_number"] % 2 == 0)  # the even ones got placeholder text
    page.goto(f"/conversations/{invented['conversation_id']}")
    card = page.locator("[data-brief]")
    expect(card).to_have_attribute("data-brief", "off")
    expect(card).to_contain_text("Looks off its brief.")
    expect(card).to_contain_text("Planned topic words not in the turns:")
    card.scroll_into_view_if_needed()
    assert serious_violations(page) == []
    screenshot(page, f"detail-off-brief-{width}", full_page=False)
    _no_sideways_scroll(page, f"the detail page at {width}")


def test_the_filter_dropdowns_work_from_the_keyboard_and_show_whole_options(plain: Page, width: str) -> None:
    page = plain
    page.goto("/")
    panel = page.locator("[data-filters-panel]")
    if panel.get_attribute("open") is None:
        panel.locator(":scope > summary").click()
    dropdown = page.locator("#f-persona")
    summary = dropdown.locator("summary")
    expect(summary).to_contain_text("Any")
    summary.focus()
    page.keyboard.press("Enter")
    expect(dropdown).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "Marcus"
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"persona=Marcus"), wait_until="commit")
    expect(summary).to_contain_text("Marcus")
    page.keyboard.press("Escape")
    expect(dropdown).not_to_have_attribute("open", "")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"

    template = page.locator("#f-template")
    template.locator("summary").click()
    labels = template.locator("label")
    assert labels.count() > 0
    for index in range(labels.count()):
        label = labels.nth(index)
        assert label.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), label.inner_text()
        box = label.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= VIEWPORTS[width][0], label.inner_text()
    expect(template.locator("label").first).to_contain_text("Template A — Confusion to Clarity")
    assert serious_violations(page) == []
    screenshot(page, f"matrix-filter-dropdown-{width}", full_page=False)
