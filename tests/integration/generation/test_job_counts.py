"""A job's counts add up in every sequence of pause / resume / retry / cancel and worker outcomes.

Hypothesis drives a job of a few conversations through random sequences of the user's controls (the real
service functions) and of worker steps (start an item, let it succeed or fail, as the runner does through
the same service functions). After every step the summary's counts come from one read of the items, add up
to the job's total, agree with the grouped count in the database and with the progress percentage.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from training_data_studio.core.errors import ConflictError
from training_data_studio.generation import schemas, service
from training_data_studio.models import GenerationJob, GenerationJobItem, TrainingConversation
from training_data_studio.plan import service as plan

from .test_job_service import RecordingQueue

JOB_SIZE = 5
STEPS = ("pause", "resume", "retry", "cancel", "start", "succeed", "fail")


@pytest.fixture
def planned(session: Session) -> Session:
    plan.load_templates(session, plan.read_templates(), user="dana")
    plan.load_plan(session, plan.read_plan(), user="dana")
    session.flush()
    return session


def _new_job(session: Session) -> GenerationJob:
    conversations = service.remaining_conversations(session)[:JOB_SIZE]
    job = service.create_job(
        session,
        job_type="batch",
        conversations=conversations,
        options=schemas.JobOptions(),
        user="dana",
        provider="anthropic",
        model="claude-sonnet-4-5",
    )
    return job


def _first_item(session: Session, job_id: uuid.UUID, status: str) -> GenerationJobItem | None:
    items = service.job_items(session, job_id, statuses=[status])
    return items[0] if items else None


def _worker_step(session: Session, job: GenerationJob, step: str) -> None:
    """What a worker does to one item, through the service functions the runner uses."""
    if step == "start":
        item = _first_item(session, job.id, "queued")
        if item is None or job.status not in ("queued", "in_progress"):
            return
        claim = service.claim_conversation(session, item)
        if claim is None:
            item.status = "skipped"
        else:
            item.status = "running"
            item.attempts += 1
            job.started_at = job.started_at or datetime.now(UTC)
            job.status = "in_progress"
        session.flush()
        service.refresh_job_totals(session, job.id)
        return
    item = _first_item(session, job.id, "running")
    if item is None:
        return
    if step == "succeed":
        item.status = "succeeded"
        session.execute(
            update(TrainingConversation)
            .where(TrainingConversation.id == item.conversation_id)
            .values(generation_status="generated", turn_count=3)
        )
    else:
        item.status = "failed"
        item.error = "the model's reply was not valid JSON"
        service.release_conversation(session, item, failed=True, error=item.error)
    item.finished_at = datetime.now(UTC)
    session.flush()
    service.refresh_job_totals(session, job.id)


def _control(session: Session, queue: RecordingQueue, job: GenerationJob, step: str) -> None:
    action = {
        "pause": service.pause_job,
        "resume": service.resume_job,
        "retry": service.retry_failed,
        "cancel": service.cancel_job,
    }[step]
    savepoint = session.begin_nested()
    try:
        action(session, queue, job.id)
    except ConflictError:
        savepoint.rollback()  # refused (e.g. resume of a job that is not paused): nothing changed
    else:
        savepoint.commit()


def _assert_counts_add_up(session: Session, job: GenerationJob, history: list[str]) -> None:
    session.expire_all()
    fresh = service.get_job(session, job.id)
    summary = service.job_summary(session, fresh, with_details=True)
    c = summary.counts
    parts = [c.succeeded, c.failed, c.cancelled, c.skipped, c.queued, c.paused, c.running]
    where = f"after {history}"
    assert sum(parts) == JOB_SIZE == c.total == summary.total_conversations, where
    assert summary.finished_conversations + summary.remaining_conversations == JOB_SIZE, where
    assert (
        summary.completed_conversations
        + summary.failed_conversations
        + summary.cancelled_conversations
        + (summary.skipped_conversations)
        == summary.finished_conversations
    ), where
    assert summary.queued_conversations + summary.running_conversations == summary.remaining_conversations, where
    assert summary.percent == round(100 * summary.finished_conversations / JOB_SIZE, 1), where
    # The same figures as a grouped count in the database, and as the items the dashboard lists.
    assert service.job_counts(session, [job.id])[job.id] == c, where
    listed = schemas.JobCounts.of(item.status for item in summary.items)
    assert listed == c, where
    stored = session.execute(select(GenerationJobItem.status).where(GenerationJobItem.job_id == job.id)).scalars()
    assert schemas.JobCounts.of(stored) == c, where
    if fresh.status == "completed":
        assert c.remaining == 0, where


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.sampled_from(STEPS), min_size=1, max_size=25))
def test_every_count_adds_up_after_any_sequence_of_controls(planned: Session, steps: list[str]) -> None:
    example = planned.begin_nested()  # each example starts from the same plan and leaves nothing behind
    try:
        queue = RecordingQueue()
        job = _new_job(planned)
        service.enqueue_job(planned, queue, job)
        history: list[str] = []
        _assert_counts_add_up(planned, job, history)
        for step in steps:
            history.append(step)
            if step in ("pause", "resume", "retry", "cancel"):
                _control(planned, queue, job, step)
            else:
                _worker_step(planned, job, step)
            _assert_counts_add_up(planned, job, history)
    finally:
        example.rollback()


def test_retry_then_cancel_counts_the_retried_failures_as_cancelled(planned: Session) -> None:
    """The reported sequence: some fail, Retry failed, then Cancel before a worker takes them again."""
    queue = RecordingQueue()
    job = _new_job(planned)
    service.enqueue_job(planned, queue, job)
    for outcome in ("succeed", "succeed", "succeed", "fail", "fail"):
        _worker_step(planned, job, "start")
        _worker_step(planned, job, outcome)
    before = service.job_summary(planned, service.get_job(planned, job.id))
    assert (before.completed_conversations, before.failed_conversations, before.percent) == (3, 2, 100.0)

    service.retry_failed(planned, queue, job.id)
    service.cancel_job(planned, queue, job.id)
    planned.expire_all()
    after = service.job_summary(planned, service.get_job(planned, job.id))
    assert after.status == "cancelled"
    assert (after.completed_conversations, after.failed_conversations, after.cancelled_conversations) == (3, 0, 2)
    assert after.finished_conversations == after.total_conversations == JOB_SIZE
    assert after.percent == 100.0
    # The conversations keep their last real outcome: they failed, and can be retried from the Matrix.
    statuses = planned.scalars(
        select(TrainingConversation.generation_status)
        .join(GenerationJobItem, GenerationJobItem.conversation_id == TrainingConversation.id)
        .where(GenerationJobItem.job_id == job.id, GenerationJobItem.status == "cancelled")
    ).all()
    assert statuses == ["failed", "failed"]
