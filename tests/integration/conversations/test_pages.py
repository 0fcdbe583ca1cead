"""The Matrix page (`/`) and the conversation detail page, full and as HTMX partials."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from training_data_studio.core.db import Database

HTMX = {"HX-Request": "true"}


def rows_in(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-conversation="([^"]+)"', html)


@pytest.mark.usefixtures("dataset")
def test_the_matrix_renders_summary_filters_and_rows(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "<!doctype html>" in html
    assert rows_in(html) == [
        "fp_marcus_001",
        "fp_jennifer_002",
        "fp_david_003",
        "mixed_004",
        "fp_marcus_005",
        "mixed_006",
    ]
    for label in ("Total", "Seed", "Generated", "Remaining"):
        assert f'<span class="stat-label">{label}</span>' in html
    assert 'id="matrix-filters"' in html
    assert 'hx-push-url="true"' in html
    assert "<caption>" in html
    assert 'scope="col"' in html
    assert '<tr class="is-seed" data-conversation="fp_marcus_001"' in html
    assert (
        'data-seed-slot>Seed slot<span class="sr-only"> — import the seed file or generate it' in html
    )  # planned, no turns
    assert "badge badge-flagged" in html
    assert 'aria-label="4.5 of 5">★★★★☆</span>' in html
    assert html.count('hx-get="/generate/single?conversation=') == 2  # the planned rows
    assert 'data-col-toggle="persona"' in html
    assert 'class="row-details" id="details-fp_marcus_001" hidden' in html
    assert 'id="slide-over"' in html


@pytest.mark.usefixtures("dataset")
def test_the_url_carries_the_filters_into_the_form_and_the_table(client: TestClient) -> None:
    html = client.get("/?persona=Marcus&tier=tier2_scenario&topic=equity&quality_min=1.5&page_size=25").text
    assert rows_in(html) == ["fp_marcus_005"]
    assert '<input type="checkbox" name="persona" value="Marcus" checked>' in html
    assert '<input type="checkbox" name="tier" value="tier2_scenario" checked>' in html
    assert 'value="equity"' in html
    assert '<option value="25" selected>' in html
    assert 'data-count="4"' in html  # persona, tier, topic, quality
    assert "<strong>1</strong> of 6 conversations" in html


@pytest.mark.usefixtures("dataset")
def test_an_htmx_request_gets_only_the_results_block_and_a_canonical_url(client: TestClient) -> None:
    response = client.get("/?persona=Marcus&topic=&q=&quality_min=1&quality_max=5&is_seed=&page_size=50", headers=HTMX)
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html
    assert 'id="matrix-filters"' not in html
    assert "stat-label" not in html
    assert rows_in(html) == ["fp_marcus_001", "fp_marcus_005"]
    assert response.headers["HX-Push-Url"] == "/?persona=Marcus"


@pytest.mark.usefixtures("dataset")
def test_a_history_restore_gets_the_whole_page(client: TestClient) -> None:
    headers = HTMX | {"HX-History-Restore-Request": "true"}
    html = client.get("/?persona=David", headers=headers).text
    assert "<!doctype html>" in html
    assert '<input type="checkbox" name="persona" value="David" checked>' in html


@pytest.mark.usefixtures("dataset")
def test_full_text_search_shows_escaped_highlighted_snippets(client: TestClient) -> None:
    html = client.get("/?q=emergency", headers=HTMX).text
    assert rows_in(html) == ["fp_jennifer_002", "fp_david_003"]
    assert "<mark>emergency</mark>" in html
    assert "<script>alert" not in html
    assert "best match first" in html


@pytest.mark.usefixtures("dataset")
def test_sort_headers_and_state_links_keep_the_other_parameters(client: TestClient) -> None:
    html = client.get("/?persona=Marcus&sort=quality&order=desc", headers=HTMX).text
    assert 'aria-sort="descending"' in html
    assert 'href="/?persona=Marcus&amp;sort=quality"' in html  # clicking again flips to ascending
    assert 'href="/?persona=Marcus&amp;sort=number"' in html
    assert '<input type="hidden" name="sort" value="quality" form="matrix-filters">' in html
    assert '<input type="hidden" name="order" value="desc" form="matrix-filters">' in html


def test_pagination_links(client: TestClient, database: Database) -> None:
    from tests.helpers import factories as f

    with database.session_scope() as s:
        for number in range(1, 131):
            f.insert_conversation(s, conversation_number=number)
    html = client.get("/?page_size=25&page=3", headers=HTMX).text
    assert len(rows_in(html)) == 25
    assert 'aria-current="page" aria-label="Page 3"' in html
    assert 'href="/?page=2&amp;page_size=25"' in html
    assert 'href="/?page=4&amp;page_size=25"' in html
    assert 'href="/?page_size=25"' in html  # page 1
    assert "page 3 of 6" in html


def test_empty_database_says_how_to_seed(client: TestClient) -> None:
    html = client.get("/").text
    assert "tds db seed" in html
    assert rows_in(html) == []


@pytest.mark.usefixtures("dataset")
def test_no_match_offers_to_clear_the_filters(client: TestClient) -> None:
    html = client.get("/?persona=David&status=planned", headers=HTMX).text
    assert "No conversations match these filters" in html
    assert 'href="/"' in html


@pytest.mark.usefixtures("dataset")
def test_invalid_filters_in_the_url_show_the_error_page(client: TestClient) -> None:
    response = client.get("/?page_size=10000")
    assert response.status_code == 422
    assert "page_size" in response.text


@pytest.mark.usefixtures("dataset")
def test_the_detail_page_and_its_slide_over_partial(client: TestClient) -> None:
    page = client.get("/conversations/fp_jennifer_002")
    assert page.status_code == 200
    html = page.text
    assert "<!doctype html>" in html
    assert '<h1 id="detail-title"' in html
    for role in ("tablist", "tab", "tabpanel"):
        assert f'role="{role}"' in html
    assert 'details class="accordion"' in html
    assert "I have no emergency fund at all." in html
    assert 'href="/api/train-data/conversations/fp_jennifer_002/export"' in html
    assert 'data-copy-target="#detail-json-2"' in html
    assert 'data-nav="prev" href="/conversations/fp_marcus_001"' in html
    assert 'data-nav="next" href="/conversations/fp_david_003"' in html

    panel = client.get("/conversations/fp_jennifer_002", headers=HTMX | {"HX-Target": "slide-over"})
    assert "<html" not in panel.text
    assert '<h2 id="detail-title"' in panel.text
    assert "data-close-dialog" in panel.text
    assert 'hx-get="/conversations/fp_david_003" hx-target="#slide-over"' in panel.text


@pytest.mark.usefixtures("dataset")
def test_detail_pages_for_missing_or_malformed_ids_are_404(client: TestClient) -> None:
    for ident in ("nope", "'%20OR%201=1", "x" * 300):
        response = client.get(f"/conversations/{ident}")
        assert response.status_code == 404
        assert "does not exist" in response.text


@pytest.mark.usefixtures("dataset")
def test_review_buttons_post_the_form_and_show_the_updated_detail(client: TestClient) -> None:
    response = client.post(
        "/conversations/fp_jennifer_002/status",
        data={"status": "approved", "reviewer_notes": "Lovely."},
        headers=HTMX | {"HX-Target": "slide-over"},
    )
    assert response.status_code == 200
    assert "fp_jennifer_002 marked approved." in response.headers["HX-Trigger"]
    assert "badge badge-approved" in response.text
    assert "Lovely." in response.text

    plain = client.post("/conversations/fp_jennifer_002/status", data={"status": "flagged"}, follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == "/conversations/fp_jennifer_002"


@pytest.mark.usefixtures("dataset")
def test_a_conflicting_review_from_htmx_becomes_an_error_toast(client: TestClient) -> None:
    response = client.post("/conversations/fp_marcus_001/status", data={"status": "approved"}, headers=HTMX)
    assert response.status_code == 204
    assert "has no turns yet" in response.headers["HX-Trigger"]
    detail = client.get("/conversations/fp_marcus_001").text
    assert "Nothing to review yet" in detail
