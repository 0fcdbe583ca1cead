"""Streamed calls report their output tokens as they come: `streaming` job events the Jobs dashboard shows
for the conversation being written; and each attempt keeps what it wrote, what was fixed and the warnings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers.generation import anthropic_settings, start_job, work_until_idle
from training_data_studio.app import create_app
from training_data_studio.core.db import Database
from training_data_studio.generation import flows, service
from training_data_studio.models import GenerationAttempt, GenerationJobEvent, GenerationJobItem
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig


def test_a_streaming_conversation_logs_its_output_tokens(seeded: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Our own interval, shortened so that a turn streamed over about a second is seen several times.
    monkeypatch.setattr(flows, "PROGRESS_EVENT_SECONDS", 0.2)
    with FakeAnthropic(FakeConfig(output_tokens_per_second=4_000)) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        job_id = start_job(seeded, "single", ["11"])
        work_until_idle(seeded, anthropic_settings())
        assert all(request.get("stream") is True for request in fake.requests)
    with seeded.session_scope() as s:
        events = s.execute(
            select(GenerationJobEvent.message, GenerationJobEvent.data)
            .where(GenerationJobEvent.job_id == job_id, GenerationJobEvent.step == "streaming")
            .order_by(GenerationJobEvent.id)
        ).all()
        assert len(events) >= 4
        parts = {data["part"] for _, data in events}
        assert parts <= {f"turn {n} of 4" for n in (1, 2, 3, 4)}
        assert len(parts) >= 2
        first_turn = [data["output_tokens"] for _, data in events if data["part"] == "turn 1 of 4"]
        assert first_turn == sorted(first_turn)
        assert events[0][0].startswith("#11: writing turn ")
        attempts = s.scalars(select(GenerationAttempt).order_by(GenerationAttempt.attempt)).all()
        assert [a.part for a in attempts] == [f"turn {n} of 4" for n in (1, 2, 3, 4)]
        assert all(a.outcome == "accepted" for a in attempts)


def test_the_dashboard_shows_the_output_tokens_of_the_turn_being_written(seeded: Database) -> None:
    job_id = start_job(seeded, "single", ["12"])
    with seeded.session_scope() as s:
        item = s.scalars(select(GenerationJobItem).where(GenerationJobItem.job_id == job_id)).one()
        item.status = "running"
        service.record_event(
            s, job_id, step="preparing_prompt", message="Preparing prompt…", item_id=item.id, conversation_number=12
        )
        service.record_event(
            s,
            job_id,
            step="streaming",
            message="#12: writing turn 2 of 4, 1,234 output tokens so far",
            item_id=item.id,
            conversation_number=12,
            data={"part": "turn 2 of 4", "output_tokens": 1234},
        )
    settings = anthropic_settings(TDS_USER="dana")
    with TestClient(create_app(settings, seeded)) as client:
        page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert 'data-stream-progress="12"' in page.text
    assert "writing turn 2 of 4, 1,234 output tokens so far" in page.text
