"""The Quality dashboard (`GET /quality`) and its data (`GET /api/train-data/quality/metrics`), rendered from
conversations stored the real way; its filters, its partials and bad input."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.quality.conftest import Dataset

API = "/api/train-data/quality/metrics"
HTMX = {"HX-Request": "true"}


def _metrics(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(API, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _listed(body: dict[str, Any]) -> list[str]:
    return sorted(row["conversation_id"] for row in body["conversations"]["items"])


def test_metrics_summarise_the_dataset(client: TestClient, dataset: Dataset) -> None:
    body = _metrics(client)
    assert body["validation"] == {
        "total": 7,
        "complete_annotation": 6,
        "ready_for_training": 3,
        "needs_review": 4,
        "failed_checks": 2,
    }
    averages = body["averages"]
    assert averages["self_reported"]["overall"] == round((5 * 4 + 3 + 3.5 + 2) / 7, 2)
    assert 0.9 < averages["computed_score"] < 1  # two conversations fail one check each
    assert averages["judge"] == {
        "judged": 0,
        "empathy": None,
        "clarity": None,
        "appropriateness": None,
        "brand_voice": None,
    }
    assert sum(b["count"] for b in body["histograms"]["self_reported"]) == 7
    assert body["histograms"]["self_reported"][-1] == {"label": "4.5–5.0", "low": 4.5, "high": 5.0, "count": 4}
    assert sum(b["count"] for b in body["histograms"]["computed"]) == 7
    assert {s["status"]: s["count"] for s in body["statuses"]} == {"generated": 3, "reviewed": 1, "approved": 3}
    assert [(p["day"], p["conversations"]) for p in body["trend"]] == [("2026-11-20", 5), ("2026-11-24", 2)]
    rates = {c["key"]: (c["passed"], c["applicable"]) for c in body["check_pass_rates"]}
    assert rates["emotional_context_complete"] == (6, 7)
    assert rates["ends_with_check_in"] == (6, 7)
    assert body["duplicates"] is None


def test_generated_and_seed_are_compared_with_significant_deviations(client: TestClient, dataset: Dataset) -> None:
    comparison = _metrics(client)["comparison"]
    assert (comparison["seed_count"], comparison["generated_count"]) == (2, 5)
    overall = next(d for d in comparison["dimensions"] if d["key"] == "overall")
    assert overall["seed"] == 5.0
    assert overall["generated"] == round((5 + 5 + 3 + 3.5 + 2) / 5, 2)
    assert overall["significant"] is True
    checks = {c["key"]: c for c in comparison["checks"]}
    assert checks["emotional_context_complete"]["difference_points"] == -20.0
    assert checks["emotional_context_complete"]["significant"] is True
    assert checks["feelings_before_facts"]["significant"] is False


def test_templates_are_ranked_by_computed_quality(client: TestClient, dataset: Dataset) -> None:
    templates = _metrics(client)["templates"]
    assert [t["template"] for t in templates] == [
        "anxiety_to_confidence",
        "confusion_to_clarity",
        "shame_to_acceptance",
    ]
    assert templates[0]["computed_score"] == 1.0
    assert templates[0]["conversations"] == 2
    assert templates[1]["label"] == "Confusion to clarity"  # no template rows loaded: the key, humanised


def test_quality_filters(client: TestClient, dataset: Dataset) -> None:
    assert _listed(_metrics(client, incomplete="true")) == ["gen_incomplete"]
    assert _listed(_metrics(client, needs_review="true")) == [
        "gen_incomplete",
        "gen_low",
        "gen_perfect",
        "gen_reviewed_low",
    ]
    assert _listed(_metrics(client, score_min=1, score_max=3.5)) == ["gen_approved_low", "gen_low", "gen_reviewed_low"]
    assert _listed(_metrics(client, status=["approved"], score_min=4.5)) == ["seed_jennifer", "seed_marcus"]
    page = _metrics(client, page_size=25)["conversations"]
    assert (page["total"], page["pages"]) == (7, 1)
    first = page["items"][0]  # fewest checks passed first
    assert first["computed_score"] < 1
    row = next(r for r in page["items"] if r["conversation_id"] == "gen_incomplete")
    assert row["completeness"]["emotional_context_complete"] is False
    assert row["completeness"]["all_sentences_analysed"] is True
    assert row["issues"][0]["message"] == "Missing emotional indicators on turn 2"
    assert row["issues"][0]["action"].startswith("Review turn 2")


def test_bad_filters_get_the_error_shape(client: TestClient, dataset: Dataset) -> None:
    response = client.get(API, params={"score_min": 6, "score_max": 9})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"score_min", "score_max"}
    reversed_range = client.get(API, params={"score_min": 4, "score_max": 2})
    assert reversed_range.status_code == 422
    assert "score_min must not be greater than score_max" in reversed_range.json()["error"]["message"]
    unknown_status = client.get(API, params={"status": "perfect"})
    assert unknown_status.status_code == 422
    assert "status.0" in unknown_status.json()["error"]["fields"]
    assert client.get(API, params={"page_size": 7}).status_code == 422
    page = client.get("/quality", params={"score_min": 6})
    assert page.status_code == 422
    assert "<html" in page.text


def test_the_dashboard_page_renders_with_data(client: TestClient, dataset: Dataset) -> None:
    response = client.get("/quality")
    assert response.status_code == 200
    html = response.text
    assert '<a href="/quality" class="is-active" aria-current="page">Quality</a>' in html
    assert "/static/vendor/chart.umd.min.js" in html
    for canvas in ("chart-histogram", "chart-computed", "chart-statuses", "chart-trend"):
        assert f'id="{canvas}" role="img"' in html
    assert 'aria-label="Pie chart of conversations by status: Generated: 3; Reviewed: 1; Approved: 3"' in html
    chart_data = json.loads(re.search(r'id="quality-chart-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert chart_data["statuses"]["counts"] == [3, 1, 3]
    assert chart_data["trend"]["labels"] == ["2026-11-20", "2026-11-24"]
    assert '6/7</span><span class="stat-label">Complete annotation' in html
    assert '3/7</span><span class="stat-label">Ready for training' in html
    assert "Missing emotional indicators on turn 2 → <strong>Review turn 2" in html
    assert "Turn 4 does not end with a check-in" in html
    assert "Low overall quality score (3.0/5.0)" in html
    assert "Approve all 5.0 (1)" in html
    assert "Flag all below 4.0 (2)" in html
    assert 'href="/api/train-data/quality/report.csv"' in html
    assert html.count("data-significant") >= 2
    assert 'id="template-ranking"' in html
    assert 'hx-get="/quality/duplicates"' in html


def test_filtering_on_the_page_swaps_the_list_alone(client: TestClient, dataset: Dataset) -> None:
    response = client.get("/quality", params={"incomplete": "true", "score_min": ""}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="quality-table"' in response.text
    assert "gen_incomplete" in response.text
    assert "gen_low" not in response.text
    assert response.headers["HX-Push-Url"] == "/quality?incomplete=true"
    empty = client.get("/quality", params={"score_min": 1, "score_max": 1.5}, headers=HTMX)
    assert "No conversation matches these filters" in empty.text


def test_near_duplicates_load_after_the_page(client: TestClient, dataset: Dataset) -> None:
    partial = client.get("/quality/duplicates", headers=HTMX)
    assert partial.status_code == 200
    assert "<html" not in partial.text
    # Stored from the same sample text: the seed and two generated copies of Jennifer's conversation.
    assert 'href="/conversations/gen_incomplete"' in partial.text
    assert "among 7 conversations" in partial.text
    page = client.get("/quality/duplicates")
    assert "<html" in page.text
    with_pairs = _metrics(client, duplicates="true")["duplicates"]
    assert with_pairs["conversations_compared"] == 7
    assert any(
        {p["first_conversation_id"], p["second_conversation_id"]} == {"gen_incomplete", "seed_jennifer"}
        for p in with_pairs["pairs"]
    )


def test_an_empty_dataset_renders(client: TestClient) -> None:
    response = client.get("/quality")
    assert response.status_code == 200
    assert "No conversations with content yet" in response.text
    assert _metrics(client)["validation"]["total"] == 0
