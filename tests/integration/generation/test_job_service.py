"""Generation jobs at the service level: creation, exactly-once claims, pause/resume/cancel, estimates."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.helpers.workers import run_async
from training_data_studio.conversations import selection
from training_data_studio.core.db import Database
from training_data_studio.core.errors import AppError, ConflictError
from training_data_studio.generation import schemas, service
from training_data_studio.generation.events import stream_events
from training_data_studio.models import GenerationAttempt, GenerationJob, GenerationJobItem, TrainingConversation
from training_data_studio.plan import service as plan


class RecordingQueue:
    """Stands in for Procrastinate at the queue boundary: remembers what was deferred and cancelled."""

    def __init__(self) -> None:
        self.next_id = 1
        self.deferred: list[uuid.UUID] = []
        self.cancelled: list[int] = []
        self.aborted: list[int] = []

    def enqueue(self, items: Sequence[GenerationJobItem]) -> dict[uuid.UUID, int]:
        ids = {}
        for item in items:
            self.deferred.append(item.id)
            ids[item.id] = self.next_id
            self.next_id += 1
        return ids

    def enqueue_economy(self, job: GenerationJob) -> int:
        self.deferred.append(job.id)
        return self._next()

    def schedule_batch_check(self, job_id: uuid.UUID, seconds: float) -> int:
        return self._next()

    def _next(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def cancel_queued(self, queue_job_ids: Sequence[int]) -> None:
        self.cancelled.extend(queue_job_ids)

    def abort_running(self, queue_job_ids: Sequence[int]) -> None:
        self.aborted.extend(queue_job_ids)


@pytest.fixture
def planned(session: Session) -> Session:
    plan.load_templates(session, plan.read_templates(), user="dana")
    plan.load_plan(session, plan.read_plan(), user="dana")
    # The ten seeds are not planned: mark them approved as an import would.
    session.execute(
        update(TrainingConversation).where(TrainingConversation.is_seed_example).values(generation_status="approved")
    )
    session.flush()
    return session


def _create(session: Session, job_type: schemas.JobType, idents: list[str] | None) -> GenerationJob:
    conversations = (
        selection.remaining_conversations(session)
        if idents is None
        else selection.resolve_conversations(session, idents)
    )
    return service.create_job(
        session,
        job_type=job_type,
        conversations=conversations,
        options=schemas.JobOptions(),
        user="dana",
        provider="anthropic",
        model="claude-sonnet-4-5",
    )


def test_process_all_orders_tier_1_then_2_then_3_by_number(planned: Session) -> None:
    job = _create(planned, "process_all", None)
    items = service.job_items(planned, job.id)
    numbers = planned.execute(
        select(TrainingConversation.tier, TrainingConversation.conversation_number)
        .join(GenerationJobItem, GenerationJobItem.conversation_id == TrainingConversation.id)
        .where(GenerationJobItem.job_id == job.id)
        .order_by(GenerationJobItem.position)
    ).all()
    assert len(items) == job.total_conversations == 90
    tiers = [t for t, _ in numbers]
    assert tiers == sorted(tiers, key=lambda t: selection.TIER_ORDER[t])
    assert [n for _, n in numbers] == [*range(11, 51), *range(51, 86), *range(86, 101)]


def test_a_second_process_all_finds_nothing_left_to_queue(planned: Session) -> None:
    first = _create(planned, "process_all", None)
    with pytest.raises(ConflictError, match=f"already queued in job {first.id}"):
        _create(planned, "process_all", None)


def test_only_planned_conversations_can_be_selected(planned: Session) -> None:
    with pytest.raises(ConflictError, match=r"#1 \(approved\)"):
        _create(planned, "batch", ["1", "11"])


def test_unknown_conversations_are_named(planned: Session) -> None:
    with pytest.raises(AppError, match="no_such_conversation") as info:
        _create(planned, "batch", ["11", "no_such_conversation"])
    assert info.value.status == 404


def test_a_conversation_is_claimed_exactly_once_under_a_race(database: Database) -> None:
    with database.session_scope() as s:
        plan.load_templates(s, plan.read_templates(), user="dana")
        plan.load_plan(s, plan.read_plan(), user="dana")
        job = _create(s, "batch", ["11"])
        item_id = service.job_items(s, job.id)[0].id

    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        with database.session_scope() as s:
            item = s.get(GenerationJobItem, item_id)
            assert item is not None
            barrier.wait()
            results.append(service.claim_conversation(s, item) is not None)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_a_running_item_takes_over_its_own_claim_after_a_crash(planned: Session) -> None:
    job = _create(planned, "single", ["11"])
    item = service.job_items(planned, job.id)[0]
    assert service.claim_conversation(planned, item) is not None
    item.status = "running"
    planned.flush()
    claim = service.claim_conversation(planned, item)
    assert claim is not None
    assert claim.taken_over
    item.status = "queued"  # a different item would not get it
    assert service.claim_conversation(planned, item) is None


def test_pause_resume_cancel(planned: Session) -> None:
    queue = RecordingQueue()
    job = _create(planned, "batch", ["11", "12", "13"])
    service.enqueue_job(planned, queue, job)
    assert len(queue.deferred) == 3

    service.pause_job(planned, queue, job.id)
    assert job.status == "paused"
    assert sorted(queue.cancelled) == [1, 2, 3]
    assert {i.status for i in service.job_items(planned, job.id)} == {"paused"}
    with pytest.raises(ConflictError):
        service.pause_job(planned, queue, job.id)

    service.resume_job(planned, queue, job.id)
    assert job.status == "queued"
    assert len(queue.deferred) == 6
    assert {i.status for i in service.job_items(planned, job.id)} == {"queued"}

    first = service.job_items(planned, job.id)[0]
    first.status = "running"
    planned.flush()
    service.cancel_job(planned, queue, job.id)
    assert job.status == "cancelled"
    assert queue.aborted == [first.procrastinate_job_id]
    with pytest.raises(ConflictError):
        service.resume_job(planned, queue, job.id)


def test_totals_and_completion(planned: Session) -> None:
    job = _create(planned, "batch", ["11", "12"])
    a, b = service.job_items(planned, job.id)
    a.status, a.cost_cents, a.input_tokens, a.output_tokens, a.attempts = "succeeded", Decimal("12.5"), 100, 900, 1
    b.status, b.error, b.attempts = "failed", "three 529s", 3
    # a was written turn by turn in one claim: four calls; b was claimed three times and got one answer
    for item, calls in ((a, 4), (b, 1)):
        for number in range(1, calls + 1):
            planned.add(
                GenerationAttempt(
                    item_id=item.id, conversation_id=item.conversation_id, attempt=number, outcome="accepted"
                )
            )
    planned.flush()
    service.refresh_job_totals(planned, job.id)
    assert (job.status, job.completed_conversations, job.failed_conversations) == ("completed", 1, 1)
    assert job.total_cost_cents == Decimal("12.5")
    assert job.total_api_calls == 5  # calls made, not claims (1 + 3)
    queue = RecordingQueue()
    service.retry_failed(planned, queue, job.id)
    assert job.status == "queued"
    assert queue.deferred == [b.id]


def test_estimate_uses_defaults_then_history(planned: Session) -> None:
    conversations = selection.remaining_conversations(planned)
    first = service.estimate(planned, conversations)
    assert first.based_on == "default"
    assert first.total_cost_cents == service.DEFAULT_COST_CENTS_PER_CONVERSATION * 90
    assert first.by_tier == {"tier1_template": 40, "tier2_scenario": 35, "tier3_edge": 15}
    planned.execute(
        update(TrainingConversation)
        .where(TrainingConversation.conversation_number.in_([11, 12, 13]))
        .values(generation_method="claude", generation_duration_seconds=30, generation_cost_cents=8)
    )
    second = service.estimate(planned, conversations[:10], economy=True)
    assert second.based_on == "history"
    assert second.seconds_per_conversation == 30
    assert second.cost_cents_per_conversation == Decimal("4.00")


def test_events_stream_live_across_connections(database: Database) -> None:
    with database.session_scope() as s:
        plan.load_templates(s, plan.read_templates(), user="dana")
        plan.load_plan(s, plan.read_plan(), user="dana")
        job = _create(s, "single", ["11"])
        job_id = job.id

    async def follow() -> list[dict[str, object]]:
        received: list[dict[str, object]] = []
        stream = stream_events(database.target.conninfo, job_id=job_id)
        async for message in stream:
            if "data" not in message:
                continue
            received.append(json.loads(message["data"]))
            if len(received) == 1:
                # Written by another connection after the stream started, as a worker would.
                await asyncio.to_thread(_write_event, database, job_id)
            if len(received) == 2:
                break
        return received

    received = run_async(asyncio.wait_for(follow(), timeout=20))
    assert [r["step"] for r in received] == ["job_created", "calling_model"]


def _write_event(database: Database, job_id: uuid.UUID) -> None:
    with database.session_scope() as s:
        service.record_event(s, job_id, step="calling_model", message="Calling Claude API…", conversation_number=11)
