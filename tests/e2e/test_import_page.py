"""The Import page in a real browser: choose files with the file input, follow the import to its summary, and
roll the run back through its confirmation dialog (which also leaves the shared e2e database as seeded)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.helpers.seed_files import good_seed

from .conftest import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

# Not JSON: a doubled comma on line 3.
BROKEN = b'{\n  "training_pairs": [\n    {"id": "x",,}\n  ]\n}\n'


def test_upload_through_the_file_input_shows_the_summary_and_rolls_back(page: Page) -> None:
    with pytest.raises(json.JSONDecodeError) as syntax:
        json.loads(BROKEN)
    place = f"line {syntax.value.lineno}, column {syntax.value.colno}"
    page.goto("/import")

    # The drop zone's file input is reachable by keyboard, and its label shows the focus.
    page.focus("#import-files")
    expect(page.locator("label.dropzone")).to_have_css("box-shadow", re.compile(r"rgb"))

    page.set_input_files(
        "#import-files",
        files=[
            {
                "name": "e2e-good.json",
                "mimeType": "application/json",
                "buffer": json.dumps(good_seed("e2e_import_001", 2)).encode("utf-8"),
            },
            {"name": "e2e-broken.json", "mimeType": "application/json", "buffer": BROKEN},
        ],
    )
    chosen = page.locator("#import-chosen")
    expect(chosen.locator("[data-chosen-summary]")).to_have_text(re.compile(r"^2 files chosen \(\d+(\.\d)? (B|KB)\):$"))
    expect(chosen.locator("li")).to_have_count(2)
    expect(chosen.locator("li").nth(0)).to_have_text(re.compile(r"^e2e-good\.json \d+(\.\d)? (B|KB)$"))
    expect(chosen.locator("li").nth(1)).to_have_text(f"e2e-broken.json {len(BROKEN)} B")
    screenshot(page, "import-chosen-files", full_page=False)
    page.get_by_role("button", name="Import", exact=True).click()

    summary = page.locator("#import-progress")
    expect(summary.get_by_role("heading", name=re.compile(r"Import finished"))).to_be_visible(timeout=30_000)
    expect(summary).to_contain_text("completed with errors")
    expect(summary).to_contain_text("e2e-broken.json")
    expect(summary).to_contain_text(place)
    # The web page names its own option, not the command line's flag.
    expect(summary).to_contain_text('tick "Import with repair" and import it again')
    expect(summary).not_to_contain_text("--repair")
    expect(page.locator(".toast-region").first).to_contain_text("Import finished with errors")

    # The runs list refreshed itself when the import finished: the new run is first.
    newest = page.locator("#import-runs tbody tr").first
    expect(newest).to_contain_text("completed with errors")
    screenshot(page, "import")

    newest.get_by_role("button", name=re.compile(r"^Roll back the import of")).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_contain_text("Roll back the import of")
    dialog.get_by_role("button", name="Roll back", exact=True).click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(page.locator("#import-runs tbody tr").first).to_contain_text("rolled back")
    expect(page.locator(".toast-region").first).to_contain_text("1 conversation(s) deleted")
