"""Economy mode end to end: submit a Message Batch to the fake, poll it, ingest the results with the same
checks and the same exactly-once saving; a worker restart resumes polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from tests.helpers.workers import BackgroundWorker
from training_data_studio.conversations import selection
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.generation import schemas, service
from training_data_studio.generation.queue import ProcrastinateQueue
from training_data_studio.jobs import make_app
from training_data_studio.llm.base import Usage
from training_data_studio.llm.pricing import cost_cents
from training_data_studio.models import GenerationJob, GenerationJobEvent, TrainingConversation, TrainingTurn
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

SETTINGS = Settings(  # type: ignore[call-arg]
    ANTHROPIC_API_KEY="test-key", TDS_ANTHROPIC_MODEL="claude-sonnet-4-6", TDS_BATCH_POLL_SECONDS=1
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(FakeConfig(seed=3), batch_seconds=2.5) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


def _start(database: Database, numbers: list[int]) -> uuid.UUID:
    app = make_app(database.target).open()
    try:
        with database.session_scope() as s:
            job = service.create_job(
                s,
                job_type="batch",
                conversations=selection.resolve_conversations(s, [str(n) for n in numbers]),
                options=schemas.JobOptions(economy=True),
                user="dana",
                provider="anthropic",
                model="claude-sonnet-4-6",
            )
            service.enqueue_job(s, ProcrastinateQueue(app), job)
            return job.id
    finally:
        app.close()


def _job(database: Database, job_id: uuid.UUID) -> GenerationJob:
    with database.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _wait(
    database: Database, job_id: uuid.UUID, predicate: Callable[[GenerationJob], bool], what: str, timeout: float
) -> GenerationJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(database, job_id)
        if predicate(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_economy_mode_submits_polls_and_saves_at_half_price(seeded: Database, fake: FakeAnthropic) -> None:
    numbers = [11, 12, 13]
    job_id = _start(seeded, numbers)
    with BackgroundWorker(seeded, SETTINGS, concurrency=2):
        _wait(seeded, job_id, lambda j: j.batch_id is not None, "the batch to be submitted", 30)
        assert fake.counters.calls == 0  # nothing goes through the live Messages API
        job = _wait(seeded, job_id, lambda j: j.status == "completed", "the job to complete", 60)
    assert job.completed_conversations == 3
    assert len(fake.batches) == 1
    with seeded.session_scope() as s:
        rows = s.scalars(
            select(TrainingConversation).where(TrainingConversation.conversation_number.in_(numbers))
        ).all()
        assert {r.generation_status for r in rows} == {"generated"}
        steps = s.scalars(select(GenerationJobEvent.step).where(GenerationJobEvent.job_id == job_id)).all()
        assert "batch_submitted" in steps
        assert steps.count("complete") == 3
        turns = s.scalar(
            select(func.count()).select_from(TrainingTurn).where(TrainingTurn.conversation_id.in_([r.id for r in rows]))
        )
        assert turns == sum(r.turn_count for r in rows)
        # Each conversation was charged at the batch price (half the live price) for its own tokens.
        for row in rows:
            usage = Usage(
                input_tokens=row.input_tokens or 0,
                output_tokens=row.output_tokens or 0,
                cache_read_tokens=row.cache_read_tokens or 0,
                cache_write_tokens=row.cache_write_tokens or 0,
            )
            assert row.generation_cost_cents == cost_cents("claude-sonnet-4-6", usage, batch=True).cents
            assert row.generation_cost_cents < cost_cents("claude-sonnet-4-6", usage).cents


def test_a_restart_resumes_polling_the_submitted_batch(seeded: Database, fake: FakeAnthropic) -> None:
    fake.batch_seconds = 4.0
    job_id = _start(seeded, [21, 22])
    with BackgroundWorker(seeded, SETTINGS, concurrency=1):
        _wait(seeded, job_id, lambda j: j.batch_id is not None, "the batch to be submitted", 30)
    # The worker stopped while the batch was processing; nothing was saved yet.
    job = _job(seeded, job_id)
    assert job.status == "in_progress"
    assert job.completed_conversations == 0
    with BackgroundWorker(seeded, SETTINGS, concurrency=1):
        job = _wait(seeded, job_id, lambda j: j.status == "completed", "the job to complete", 60)
    assert job.completed_conversations == 2
    assert len(fake.batches) == 1  # polled again, never submitted twice
