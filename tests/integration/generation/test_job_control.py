"""Pause, resume, cancel, a 429 storm and a killed worker, with real workers and the fake over real HTTP."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from tests.helpers.generation import work_until_idle
from tests.helpers.workers import BackgroundWorker, worker_process
from training_data_studio.conversations import selection
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.generation import schemas, service
from training_data_studio.generation.flows import prepare
from training_data_studio.generation.queue import ProcrastinateQueue
from training_data_studio.generation.runtime import build_runtime
from training_data_studio.jobs import make_app
from training_data_studio.models import (
    GenerationJob,
    GenerationJobEvent,
    GenerationJobItem,
    TrainingConversation,
    TrainingTurn,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

SETTINGS = Settings(ANTHROPIC_API_KEY="test-key", TDS_ANTHROPIC_MODEL="claude-sonnet-4-6")  # type: ignore[call-arg]


@pytest.fixture
def fake_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[FakeConfig], FakeAnthropic]]:
    started: list[FakeAnthropic] = []

    def start(config: FakeConfig) -> FakeAnthropic:
        fake = FakeAnthropic(config).start()
        started.append(fake)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        return fake

    yield start
    for fake in started:
        fake.stop()


def _queue_control(database: Database, action: Callable[..., GenerationJob], job_id: uuid.UUID) -> None:
    app = make_app(database.target).open()
    try:
        with database.session_scope() as s:
            action(s, ProcrastinateQueue(app), job_id)
    finally:
        app.close()


def _start(database: Database, numbers: list[int]) -> uuid.UUID:
    app = make_app(database.target).open()
    try:
        with database.session_scope() as s:
            job = service.create_job(
                s,
                job_type="batch",
                conversations=selection.resolve_conversations(s, [str(n) for n in numbers]),
                options=schemas.JobOptions(),
                user="dana",
                provider="anthropic",
                model="claude-sonnet-4-6",
            )
            service.enqueue_job(s, ProcrastinateQueue(app), job)
            return job.id
    finally:
        app.close()


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _statuses(database: Database, job_id: uuid.UUID) -> list[str]:
    with database.session_scope() as s:
        return list(
            s.scalars(
                select(GenerationJobItem.status)
                .where(GenerationJobItem.job_id == job_id)
                .order_by(GenerationJobItem.position)
            )
        )


def _job_status(database: Database, job_id: uuid.UUID) -> str:
    with database.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        return job.status


def _turns_per_conversation(database: Database, numbers: list[int]) -> dict[int, int]:
    with database.session_scope() as s:
        rows = s.execute(
            select(TrainingConversation.conversation_number, func.count(TrainingTurn.id))
            .outerjoin(TrainingTurn, TrainingTurn.conversation_id == TrainingConversation.id)
            .where(TrainingConversation.conversation_number.in_(numbers))
            .group_by(TrainingConversation.conversation_number)
        ).all()
    return {number: count for number, count in rows}


def test_pause_stops_queued_work_at_once_and_resume_finishes(
    seeded: Database, fake_factory: Callable[[FakeConfig], FakeAnthropic]
) -> None:
    fake_factory(FakeConfig(latency_seconds=1.0))
    numbers = [11, 12, 13, 14, 15, 16]
    job_id = _start(seeded, numbers)
    with BackgroundWorker(seeded, SETTINGS, concurrency=2):
        _wait_for(lambda: "running" in _statuses(seeded, job_id), 20, "a running item")
        paused_at = time.monotonic()
        _queue_control(seeded, service.pause_job, job_id)
        assert time.monotonic() - paused_at < 1.0
        # Calls already in flight finish and are saved; nothing else starts.
        _wait_for(lambda: "running" not in _statuses(seeded, job_id), 20, "the calls in flight to finish")
        time.sleep(1.5)
        statuses = _statuses(seeded, job_id)
        assert statuses.count("paused") >= 3
        assert set(statuses) <= {"succeeded", "paused"}
        assert _job_status(seeded, job_id) == "paused"

        _queue_control(seeded, service.resume_job, job_id)
        _wait_for(lambda: _job_status(seeded, job_id) == "completed", 60, "the resumed job to complete")
    assert _statuses(seeded, job_id) == ["succeeded"] * 6
    assert all(count >= 3 for count in _turns_per_conversation(seeded, numbers).values())


def test_cancel_aborts_the_call_in_flight_and_saves_nothing_of_it(
    seeded: Database, fake_factory: Callable[[FakeConfig], FakeAnthropic]
) -> None:
    fake_factory(FakeConfig(latency_seconds=4.0))
    job_id = _start(seeded, [21, 22])
    with BackgroundWorker(seeded, SETTINGS, concurrency=1):
        _wait_for(lambda: "running" in _statuses(seeded, job_id), 20, "a running item")
        _queue_control(seeded, service.cancel_job, job_id)
        _wait_for(lambda: "running" not in _statuses(seeded, job_id), 10, "the aborted call to be released")
    assert _job_status(seeded, job_id) == "cancelled"
    assert _statuses(seeded, job_id) == ["cancelled", "cancelled"]
    assert _turns_per_conversation(seeded, [21, 22]) == {21: 0, 22: 0}
    with seeded.session_scope() as s:
        statuses = s.scalars(
            select(TrainingConversation.generation_status).where(TrainingConversation.conversation_number.in_([21, 22]))
        ).all()
        assert set(statuses) == {"planned"}
        steps = s.scalars(select(GenerationJobEvent.step).where(GenerationJobEvent.job_id == job_id)).all()
        assert "aborted" in steps


def test_a_429_storm_slows_everyone_and_the_job_completes(
    seeded: Database, fake_factory: Callable[[FakeConfig], FakeAnthropic]
) -> None:
    # Every other call refused at first (retry-after 1 s): a worker's pacer blocks all its callers on each.
    storm = ["ok", "rate_limited"] * 4
    fake = fake_factory(FakeConfig(latency_seconds=0.2, script=storm, retry_after_seconds=1.0))
    numbers = [11, 12, 13, 14, 15, 16, 17, 18]
    job_id = _start(seeded, numbers)
    with BackgroundWorker(seeded, SETTINGS, concurrency=4):
        _wait_for(lambda: _job_status(seeded, job_id) == "completed", 90, "the job to complete")
    assert _statuses(seeded, job_id) == ["succeeded"] * 8
    assert fake.counters.rate_limited == 4
    with seeded.session_scope() as s:
        turns = s.scalar(
            select(func.sum(TrainingConversation.turn_count_target)).where(
                TrainingConversation.conversation_number.in_(numbers)
            )
        )
    assert fake.counters.succeeded == turns  # one call per turn


def test_a_killed_worker_is_replaced_and_each_conversation_is_generated_once(
    seeded: Database, fake_factory: Callable[[FakeConfig], FakeAnthropic]
) -> None:
    fake = fake_factory(FakeConfig(latency_seconds=3.0))
    numbers = [11, 12, 13, 14]
    job_id = _start(seeded, numbers)
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url}
    doomed = worker_process(seeded.target.conninfo, env, concurrency=2)
    try:
        _wait_for(lambda: _statuses(seeded, job_id).count("running") == 2, 40, "two running items")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert _statuses(seeded, job_id).count("running") == 2  # left behind, claimed by a dead worker

    replacement = worker_process(seeded.target.conninfo, env, concurrency=2)
    try:
        _wait_for(lambda: _job_status(seeded, job_id) == "completed", 120, "the job to complete after a restart")
    finally:
        replacement.terminate()
        replacement.wait(timeout=30)
    assert _statuses(seeded, job_id) == ["succeeded"] * 4
    turns = _turns_per_conversation(seeded, numbers)
    with seeded.session_scope() as s:
        targets = dict(
            s.execute(
                select(TrainingConversation.conversation_number, TrainingConversation.turn_count).where(
                    TrainingConversation.conversation_number.in_(numbers)
                )
            ).all()
        )
        takeovers = s.scalar(
            select(func.count())
            .select_from(GenerationJobEvent)
            .where(GenerationJobEvent.job_id == job_id, GenerationJobEvent.step == "resumed_after_crash")
        )
    assert turns == targets  # every conversation saved exactly once, with exactly its own turns
    assert takeovers == 2


def test_a_dead_workers_task_retried_while_paused_gives_its_claim_back(
    seeded: Database, fake_factory: Callable[[FakeConfig], FakeAnthropic]
) -> None:
    """A worker died holding #11; its task comes back while the job is paused: #11 must not stay in progress."""
    fake = fake_factory(FakeConfig())
    job_id = _start(seeded, [11])
    with seeded.session_scope() as s:
        item = s.scalars(select(GenerationJobItem).where(GenerationJobItem.job_id == job_id)).one()
        assert service.claim_conversation(s, item) is not None
        item.status = "running"  # what the dead worker left behind
        item_id = item.id
    _queue_control(seeded, service.pause_job, job_id)

    app = make_app(seeded.target).open()
    try:
        # The queue hands the dead worker's task to a live worker, which runs prepare() for it: that task is
        # taken off the queue here and prepare() called as the worker would.
        with seeded.session_scope() as s:
            queue_job_id = s.scalar(
                select(GenerationJobItem.procrastinate_job_id).where(GenerationJobItem.id == item_id)
            )
        assert queue_job_id is not None
        ProcrastinateQueue(app).cancel_queued([queue_job_id])
        runtime = build_runtime(seeded, SETTINGS, app)
        assert prepare(runtime, item_id) is None
    finally:
        app.close()
    with seeded.session_scope() as s:
        item = s.get(GenerationJobItem, item_id)
        assert item is not None
        assert item.status == "paused"
        status = s.scalar(
            select(TrainingConversation.generation_status).where(TrainingConversation.id == item.conversation_id)
        )
        assert status == "planned"

    _queue_control(seeded, service.resume_job, job_id)
    work_until_idle(seeded, SETTINGS)
    with seeded.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        log = s.scalars(select(GenerationJobEvent.message).where(GenerationJobEvent.job_id == job_id)).all()
        assert (job.status, job.completed_conversations) == ("completed", 1), "\n".join(log)
    assert fake.counters.calls == 4  # #11 once: its four turns
