"""The detail view's CSV and PDF downloads in a real browser: the toolbar links save the files a person gets."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import httpx
import pytest
from pypdf import PdfReader

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

# Conversation #1, a planned seed that the e2e fixture gives two turns of known text.
CONVERSATION = "fp_marcus_002"


def test_the_detail_toolbar_downloads_the_csv_and_the_pdf(page: Page, app_url: str) -> None:
    detail = httpx.get(f"{app_url}/api/train-data/conversations/{CONVERSATION}", timeout=10).json()
    turns = detail["turns"]
    assert turns, "the e2e fixture gives the seed conversations turns"
    page.goto(f"/conversations/{CONVERSATION}")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    saved_csv = csv_download.value
    assert saved_csv.suggested_filename == f"{CONVERSATION}.csv"
    rows = list(csv.DictReader(io.StringIO(saved_csv.path().read_text(encoding="utf-8-sig"), newline="")))
    assert [row["turn_number"] for row in rows] == [str(t["turn_number"]) for t in turns]
    assert [row["user_input"] for row in rows] == [t["user_input"] for t in turns]
    assert {row["persona_name"] for row in rows} == {detail["persona_name"]}

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Export PDF").click()
    saved_pdf = pdf_download.value
    assert saved_pdf.suggested_filename == f"{CONVERSATION}.pdf"
    reader = PdfReader(saved_pdf.path())
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = "".join(text.split())
    for turn in turns:
        assert "".join(turn["user_input"].split()) in flat
        assert "".join(turn["target_response"].split()) in flat
    assert f"Page 1 of {len(reader.pages)}" in text
    assert page.url.endswith(f"/conversations/{CONVERSATION}")  # the downloads did not navigate away
