"""The Matrix's "Add to training file" and the training file pages, in a real browser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _sample_ids() -> list[str]:
    return [json.loads(p.read_text())["training_pairs"][0]["conversation_id"] for p in sorted(SAMPLES.glob("*.json"))]


def test_add_selected_rows_to_a_new_training_file_and_open_it(page: Page, app_url: str) -> None:
    ids = _sample_ids()[:2]
    page.goto(f"{app_url}/?page_size=100&page=2")
    for ident in ids:
        page.locator(f'#matrix-table input[name="selected"][value="{ident}"]').check()
    page.locator("#add-to-training-file").click()
    dialog = page.locator("#training-file-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 conversation(s) selected")
    dialog.locator("#tf-new-name").fill("e2e picked")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_contain_text("version 1 written")
    dialog.get_by_role("link", name="e2e picked").click()
    expect(page.get_by_role("heading", name="e2e picked")).to_be_visible()
    for ident in ids:
        expect(page.locator("main")).to_contain_text(ident)
    link = page.get_by_role("link", name="training-file.v4.json").first
    with page.expect_download() as info:
        link.click()
    document = json.loads(Path(info.value.path()).read_text())
    assert document["training_file_metadata"]["total_conversations"] == 2
