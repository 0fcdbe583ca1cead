"""The quality report (CSV), the LLM judge end to end against the fake Anthropic API, and row-level security
on the new tables."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import ProgrammingError

from tests.integration.quality.conftest import USER, Dataset, run_tds
from tests.unit.quality.judges import bad_judgement, judgement_from_request
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database, DatabaseTarget, act_as
from training_data_studio.models import QualityJudgement, TrainingConversation
from training_data_studio.quality.checks import COMPLETENESS_KEYS
from training_data_studio.quality.judge import RUBRIC_VERSION
from training_data_studio.testing.fake_anthropic import FakeAnthropic

QUALITY = "/api/train-data/quality"
MODEL = "claude-sonnet-4-6"


def test_the_quality_report_parses_one_row_per_conversation(
    client: TestClient, database: Database, dataset: Dataset
) -> None:
    with database.session_scope() as s:
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_id == "seed_marcus")
            .values(reviewed_by="=HYPERLINK(1)")
        )
    response = client.get(f"{QUALITY}/report.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="quality-report.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 7
    by_id = {row["conversation_id"]: row for row in rows}
    assert set(COMPLETENESS_KEYS) <= set(rows[0])
    incomplete = by_id["gen_incomplete"]
    assert incomplete["emotional_context_complete"] == "false"
    assert incomplete["all_required_fields_complete"] == "false"
    assert incomplete["issue_count"] == "1"
    assert incomplete["status"] == "generated"
    low = by_id["gen_low"]
    assert (low["overall_quality_score"], low["brand_voice_score"]) == ("3.0", "3.0")
    assert low["computed_score"] == "0.933"
    assert (low["checks_passed"], low["checks_applicable"]) == ("14", "15")
    assert int(low["issue_count"]) == 1 + 5  # the missing check-in, then five low self-reported scores
    seed = by_id["seed_jennifer"]
    assert (seed["ready_for_training"], seed["needs_review"], seed["is_seed_example"]) == ("true", "false", "true")
    assert by_id["seed_marcus"]["reviewed_by"] == "'=HYPERLINK(1)"  # never a live formula in a spreadsheet


def test_the_report_of_an_empty_dataset_is_the_header(client: TestClient) -> None:
    lines = client.get(f"{QUALITY}/report.csv").text.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("conversation_id,conversation_number,status,")


# --------------------------------------------------------------------------------------------------
# LLM judge
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(responder=judgement_from_request) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


def _judge_client(database: Database) -> TestClient:
    settings = Settings(TDS_USER=USER, ANTHROPIC_API_KEY="test-key", TDS_ANTHROPIC_MODEL=MODEL)  # type: ignore[call-arg]
    return TestClient(create_app(settings, database))


def test_judgements_are_stored_and_shown_apart(fake_judge: FakeAnthropic, database: Database, dataset: Dataset) -> None:
    with _judge_client(database) as client:
        response = client.post(f"{QUALITY}/judgements", json={"conversation_ids": ["gen_low", "seed_jennifer"]})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["rubric_version"] == RUBRIC_VERSION
        assert report["failed"] == []
        assert [j["conversation_id"] for j in report["judged"]] == ["seed_jennifer", "gen_low"]  # number order
        first = report["judged"][0]
        assert (first["empathy_score"], first["clarity_score"], first["brand_voice_score"]) == (5, 4, 4)
        assert first["reasons"]["empathy"].startswith("seed_jennifer: turn 1 names the feeling first (4 turns read)")
        assert (first["model"], first["created_by"]) == (MODEL, USER)

        listed = client.get(f"{QUALITY}/judgements", params={"conversation_id": "gen_low"}).json()
        assert [j["rubric_version"] for j in listed] == [RUBRIC_VERSION]

        averages = client.get(f"{QUALITY}/metrics").json()["averages"]
        assert averages["judge"] == {
            "judged": 2,
            "empathy": 5.0,
            "clarity": 4.0,
            "appropriateness": 5.0,
            "brand_voice": 4.0,
        }
        assert averages["self_reported"]["brand_voice"] != averages["judge"]["brand_voice"]
    assert fake_judge.counters.calls == 2
    with database.session_scope() as s:
        stored = s.scalars(select(QualityJudgement.input_tokens)).all()
    assert len(stored) == 2
    assert all(tokens and tokens > 0 for tokens in stored)


def test_an_invalid_judgement_is_reported_and_not_stored(
    monkeypatch: pytest.MonkeyPatch, database: Database, dataset: Dataset
) -> None:
    with FakeAnthropic(responder=bad_judgement) as fake, _judge_client(database) as client:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        report = client.post(f"{QUALITY}/judgements", json={"conversation_ids": ["gen_low"]}).json()
    assert report["judged"] == []
    (failure,) = report["failed"]
    assert failure["conversation_id"] == "gen_low"
    assert "The judgement of gen_low failed" in failure["error"]
    with database.session_scope() as s:
        assert s.scalars(select(QualityJudgement.id)).all() == []


def test_judge_bad_input_and_no_llm(client: TestClient, dataset: Dataset) -> None:
    unconfigured = client.post(f"{QUALITY}/judgements", json={"conversation_ids": ["gen_low"]})
    assert unconfigured.status_code == 503
    assert unconfigured.json()["error"]["code"] == "generation_unavailable"
    empty = client.post(f"{QUALITY}/judgements", json={"conversation_ids": []})
    assert empty.status_code == 422
    assert "conversation_ids" in empty.json()["error"]["fields"]
    too_many = client.post(f"{QUALITY}/judgements", json={"conversation_ids": [f"c_{n}" for n in range(21)]})
    assert too_many.status_code == 422
    missing = client.post(f"{QUALITY}/judgements", json={"conversation_ids": ["nobody_001"]})
    assert missing.status_code == 404


def test_tds_quality_judge(
    fake_judge: FakeAnthropic, db_target: DatabaseTarget, database: Database, dataset: Dataset, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake_judge.url, "TDS_ANTHROPIC_MODEL": MODEL}
    result = run_tds(db_target, tmp_path, "quality", "judge", "--ids", "gen_perfect", env=env)
    assert result.returncode == 0, result.stderr
    assert "gen_perfect" in result.stdout
    assert f"Rubric {RUBRIC_VERSION}" in result.stdout
    every = run_tds(db_target, tmp_path, "quality", "judge", "--all", env=env)
    assert every.returncode == 0, every.stderr
    assert fake_judge.counters.calls == 1 + 7
    neither = run_tds(db_target, tmp_path, "quality", "judge", env=env)
    assert neither.returncode == 1
    assert "Give either --ids a,b,c or --all" in neither.stderr


# --------------------------------------------------------------------------------------------------
# Row-level security
# --------------------------------------------------------------------------------------------------

USER_A = str(uuid.uuid4())


def test_reviews_and_judgements_are_read_by_all_and_written_in_ones_own_name(
    database: Database, dataset: Dataset
) -> None:
    row_id = dataset.ids["gen_low"]
    insert_review = (
        "INSERT INTO conversation_reviews (conversation_id, from_status, to_status, reviewer) "
        "VALUES (:id, 'generated', 'reviewed', :reviewer)"
    )
    with database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A, "role": "authenticated"})
        s.execute(text(insert_review), {"id": row_id, "reviewer": USER_A})
        s.execute(
            text(
                "INSERT INTO quality_judgements (conversation_id, model, rubric_version, empathy_score, clarity_score, "
                "appropriateness_score, brand_voice_score, reasons, created_by) "
                "VALUES (:id, 'm', 'r', 5, 5, 5, 5, '{}', :user)"
            ),
            {"id": row_id, "user": USER_A},
        )
        assert s.execute(text("SELECT count(*) FROM conversation_reviews")).scalar_one() == 1
    with pytest.raises(ProgrammingError, match="row-level security"), database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A})
        s.execute(text(insert_review), {"id": row_id, "reviewer": "someone-else"})
    with pytest.raises(ProgrammingError, match="permission denied"), database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A})
        s.execute(text("DELETE FROM conversation_reviews"))  # history is not rewritten
    with pytest.raises(ProgrammingError, match="permission denied"), database.session_scope() as s:
        act_as(s, role="anon", user_id=str(uuid.uuid4()), claims={"role": "anon"})
        s.execute(text("SELECT count(*) FROM quality_judgements"))


def test_a_signed_in_reviewer_changes_status_under_rls(database: Database, dataset: Dataset) -> None:
    from training_data_studio.conversations.schemas import StatusChange
    from training_data_studio.conversations.service import change_status

    with database.session_scope() as s:
        act_as(s, role="authenticated", user_id=USER_A, claims={"sub": USER_A, "role": "authenticated"})
        change_status(session=s, ident="gen_perfect", change=StatusChange(status="approved"), user=USER_A)
        reviewer = s.execute(text("SELECT reviewer FROM conversation_reviews")).scalar_one()
    assert reviewer == USER_A
