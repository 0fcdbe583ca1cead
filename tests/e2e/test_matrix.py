"""The Matrix and the conversation detail in a real browser: URL state, HTMX swaps, keyboard, layout."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from .conftest import choose_filter, chosen_filter, screenshot

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Locator, Page

    Api = Callable[..., dict[str, Any]]

pytestmark = pytest.mark.e2e

ROWS = "#matrix-table tbody tr[data-conversation]"


def column(page: Page, name: str) -> list[str]:
    return [text.strip() for text in page.locator(f'{ROWS} td[data-col="{name}"]').all_inner_texts()]


def first_numbers(page: Page, count: int = 3) -> list[int]:
    return [int(text) for text in page.locator(f"{ROWS} [data-number]").all_inner_texts()[:count]]


def wait_for_query(page: Page, query: str) -> None:
    """Wait until the address bar ends with `query` (e.g. "?persona=Marcus", or "" for the bare Matrix)."""
    page.wait_for_url(re.compile(rf"/{re.escape(query)}$"), wait_until="commit")


# The predicates are functions, not expressions: Playwright polls an expression with eval() in the page, which
# the app's Content-Security-Policy (no 'unsafe-eval') refuses.
def wait_for_rows(page: Page, count: int) -> None:
    page.wait_for_function(f"() => document.querySelectorAll({ROWS!r}).length === {count}")


def text_is(page: Page, selector: str, text: str, *, prefix: bool = False) -> None:
    """Wait until the first element matching `selector` has this text (it may be mid-swap meanwhile)."""
    test = f"t.startsWith({text!r})" if prefix else f"t === {text!r}"
    page.wait_for_function(
        f"() => {{ const el = document.querySelector({selector!r}); const t = el ? el.innerText.trim() : null; "
        f"return t !== null && {test}; }}"
    )


def first_cell_is(page: Page, cell: str, text: str) -> None:
    text_is(page, f"{ROWS} {cell}", text)


def test_a_filtered_url_shows_the_right_rows(page: Page, api: Api) -> None:
    expected = api(persona="David", tier="tier1_template")
    page.goto("/?persona=David&tier=tier1_template")
    assert [int(n) for n in first_numbers(page, 100)] == [i["conversation_number"] for i in expected["items"]]
    assert set(column(page, "persona")) == {"David"}
    count = page.locator("#matrix-count").inner_text()
    assert re.search(rf"{expected['filtered_total']}\s+of {expected['total']} conversations", count), count
    assert chosen_filter(page, "persona") == ["David"]
    screenshot(page, "matrix-filtered")


def test_a_filter_change_updates_the_url_and_the_table_and_back_restores(page: Page, api: Api) -> None:
    marcus = api(persona="Marcus")["filtered_total"]
    planned_marcus = api(persona="Marcus", status="planned")["filtered_total"]
    assert 0 < planned_marcus < marcus < 50
    page.goto("/")
    assert page.locator(ROWS).count() == 50
    choose_filter(page, "persona", "Marcus")
    wait_for_query(page, "?persona=Marcus")
    wait_for_rows(page, marcus)
    assert set(column(page, "persona")) == {"Marcus"}

    choose_filter(page, "status", "planned")
    wait_for_query(page, "?persona=Marcus&status=planned")
    wait_for_rows(page, planned_marcus)

    page.go_back()
    wait_for_query(page, "?persona=Marcus")
    wait_for_rows(page, marcus)
    assert chosen_filter(page, "status") == []
    assert chosen_filter(page, "persona") == ["Marcus"]

    page.go_back()
    wait_for_query(page, "")
    wait_for_rows(page, 50)
    assert chosen_filter(page, "persona") == []

    page.go_forward()
    wait_for_query(page, "?persona=Marcus")
    wait_for_rows(page, marcus)


def test_typing_a_search_filters_after_a_pause_and_highlights(page: Page, api: Api) -> None:
    matches = api(q="emergency fund")["filtered_total"]
    assert matches >= 5  # at least the odd-numbered seeds, which have the invented emergency-fund turns
    page.goto("/")
    page.locator("#f-q").press_sequentially("emergency fund", delay=20)
    wait_for_query(page, "?q=emergency+fund")
    wait_for_rows(page, matches)
    assert page.locator(f"{ROWS} mark").first.inner_text().lower() in ("emergency", "fund")
    screenshot(page, "matrix-search")
    page.locator("#f-topic").press_sequentially("equity", delay=20)
    wait_for_query(page, "?topic=equity&q=emergency+fund")
    expect(page.get_by_text("No conversations match these filters")).to_be_visible()


def test_sorting_by_a_header(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"^Persona")).click()
    wait_for_query(page, "?sort=persona")
    first_cell_is(page, "td[data-col=persona]", "David")
    assert page.locator('th[aria-sort="ascending"]').inner_text().lower().startswith("persona")
    page.get_by_role("link", name=re.compile(r"^Persona")).click()
    wait_for_query(page, "?sort=persona&order=desc")
    first_cell_is(page, "td[data-col=persona]", "Mixed")
    # A filter change keeps the chosen order (the sort travels with the form).
    choose_filter(page, "tier", "tier3_edge")
    wait_for_query(page, "?tier=tier3_edge&sort=persona&order=desc")


def test_paginating(page: Page) -> None:
    page.goto("/?page_size=25")
    assert first_numbers(page, 1) == [1]
    page.get_by_role("link", name="Next ›").click()
    wait_for_query(page, "?page=2&page_size=25")
    first_cell_is(page, "[data-number]", "26")
    page.get_by_role("link", name="Page 4").click()
    wait_for_query(page, "?page=4&page_size=25")
    first_cell_is(page, "[data-number]", "76")
    page.select_option("#f-page-size", "100")
    wait_for_query(page, "?page_size=100")
    wait_for_rows(page, 100)


def dialog_title(page: Page) -> Locator:
    return page.locator("#slide-over #detail-title")


def test_the_detail_slide_over_steps_with_arrows_and_closes_with_escape(page: Page) -> None:
    page.goto("/")
    view = page.locator(f'{ROWS}[data-conversation="fp_marcus_003"] a[data-open-detail]')
    view.click()
    dialog = page.locator("#slide-over")
    dialog.wait_for(state="visible")
    assert dialog_title(page).inner_text().startswith("#2")
    page.locator("#slide-over details.accordion").first.wait_for()
    screenshot(page, "detail-slide-over", full_page=False)

    page.keyboard.press("ArrowRight")
    text_is(page, "#slide-over #detail-title", "#3", prefix=True)
    page.keyboard.press("ArrowLeft")
    text_is(page, "#slide-over #detail-title", "#2", prefix=True)
    page.keyboard.press("ArrowLeft")
    text_is(page, "#slide-over #detail-title", "#1", prefix=True)

    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    expect(view).to_be_focused()


def test_the_detail_tabs_work_by_keyboard(page: Page) -> None:
    page.goto("/conversations/fp_marcus_002")
    assert page.locator("h1#detail-title").inner_text().startswith("#1")
    first_tab = page.get_by_role("tab", name="Emotional analysis")
    first_tab.focus()
    page.keyboard.press("ArrowRight")
    strategies = page.get_by_role("tab", name="Response strategies")
    expect(strategies).to_have_attribute("aria-selected", "true")
    expect(strategies).to_be_focused()
    expect(page.get_by_role("tabpanel", name="Response strategies")).to_be_visible()
    expect(page.get_by_role("tabpanel", name="Emotional analysis")).to_be_hidden()
    page.get_by_role("tab", name="Sentence breakdown").click()
    expect(page.get_by_role("tabpanel", name="Sentence breakdown").locator("table").first).to_be_visible()
    screenshot(page, "detail-page")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")  # outside the tab list: the next conversation
    page.wait_for_url(re.compile(r"/conversations/fp_marcus_003$"))


def test_keyboard_only_reaches_the_filters_and_the_row_checkboxes(page: Page) -> None:
    page.goto("/")
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.parentElement.id") == "f-persona":  # its dropdown's summary
            break
    else:
        pytest.fail("Tab never reached the persona filter")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "selected":
            break
    else:
        pytest.fail("Tab never reached a row checkbox")
    page.keyboard.press("Space")
    expect(page.locator(f"{ROWS}.is-selected")).to_have_count(1)
    expect(page.locator("[data-selected-count]")).to_have_text("1 selected")


def test_row_expansion_and_select_all(page: Page) -> None:
    page.goto("/?page_size=25")
    toggle = page.locator(f'{ROWS}[data-conversation="fp_marcus_002"] [data-row-toggle]')
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#details-fp_marcus_002")).to_be_visible()
    page.locator("[data-select-all]").check()
    expect(page.locator(f"{ROWS}.is-selected")).to_have_count(25)
    expect(page.locator("[data-selected-count]")).to_have_text("25 selected")


def test_the_matrix_fits_a_phone(browser_page_390: Page) -> None:
    page = browser_page_390
    page.goto("/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 390px"
    screenshot(page, "matrix-390px")


def test_the_status_page_loads(page: Page) -> None:
    page.goto("/status")
    assert page.locator("h1").inner_text() == "Status"
    assert page.get_by_text("training_conversations").first.is_visible()
    screenshot(page, "status")


def test_the_matrix_screenshot(page: Page) -> None:
    page.goto("/")
    page.locator(ROWS).first.wait_for()
    screenshot(page, "matrix")
