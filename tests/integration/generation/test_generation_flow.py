"""The whole engine: jobs on a real Procrastinate queue, a worker in this process, the real Anthropic SDK
over real HTTP to the fake server, and every write checked in the database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.helpers.generation import anthropic_settings, start_job, work_until_idle
from tests.helpers.workers import run_async
from training_data_studio.core.db import Database
from training_data_studio.models import (
    GenerationAttempt,
    GenerationJob,
    GenerationJobEvent,
    GenerationJobItem,
    ResponseBreakdown,
    TrainingConversation,
    TrainingTurn,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

# US-TRAIN-003's steps as they really happen: the turns, their annotations and the metrics are written in one
# transaction, so they are reported once, after the fact ("saving_turns"), not as four steps announced later.
US_TRAIN_003_STEPS = [
    "preparing_prompt",
    "calling_model",
    "processing_response",
    "parsing_structure",
    "saving_turns",
    "complete",
]


def _fake(config: FakeConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(config) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    yield from _fake(FakeConfig(latency_seconds=0.05), monkeypatch)


def test_a_batch_is_generated_checked_and_saved(seeded: Database, fake: FakeAnthropic) -> None:
    job_id = start_job(seeded, "batch", ["11", "12", "51"])
    work_until_idle(seeded, anthropic_settings())

    with seeded.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        errors = s.scalars(select(GenerationJobItem.error).where(GenerationJobItem.job_id == job_id)).all()
        assert (job.status, job.completed_conversations, job.failed_conversations) == ("completed", 3, 0), errors
        turns = s.scalar(
            select(func.sum(TrainingConversation.turn_count_target)).where(
                TrainingConversation.conversation_number.in_([11, 12, 51])
            )
        )
        assert job.total_api_calls == turns == fake.counters.calls  # one call per turn, none repaired
        assert job.total_cost_cents > 0
        rows = s.scalars(
            select(TrainingConversation).where(TrainingConversation.conversation_number.in_([11, 12, 51]))
        ).all()
        for row in rows:
            assert row.generation_status == "generated"
            assert row.generation_model == "claude-sonnet-4-6"
            assert row.turn_count == row.turn_count_target
            assert row.input_tokens
            assert row.output_tokens
            assert row.template_version == 1
        turns = s.scalar(
            select(func.count()).select_from(TrainingTurn).where(TrainingTurn.conversation_id.in_([r.id for r in rows]))
        )
        assert turns == sum(r.turn_count for r in rows)
        sentences = s.scalar(select(func.count()).select_from(ResponseBreakdown))
        assert sentences
        assert sentences > turns
        steps = s.scalars(
            select(GenerationJobEvent.step)
            .where(GenerationJobEvent.job_id == job_id, GenerationJobEvent.conversation_number == 11)
            .order_by(GenerationJobEvent.id)
        ).all()
        assert steps == US_TRAIN_003_STEPS
        # One call per turn, each accepted on its own and named for its part.
        attempts = s.scalars(select(GenerationAttempt).where(GenerationAttempt.outcome == "accepted")).all()
        assert len(attempts) == turns
        assert all(a.raw_reply and '"tool_use"' in a.raw_reply for a in attempts)
        assert {a.part for a in attempts} >= {"turn 1 of 4", "turn 4 of 4"}
    assert fake.counters.calls == turns


def test_invalid_output_gets_one_repair_then_fails_cleanly(seeded: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for fake in _fake(FakeConfig(script=["invalid", "invalid"]), monkeypatch):
        job_id = start_job(seeded, "single", ["11"])
        work_until_idle(seeded, anthropic_settings())
        assert fake.counters.calls == 2
    with seeded.session_scope() as s:
        row = s.scalars(select(TrainingConversation).where(TrainingConversation.conversation_number == 11)).one()
        assert row.generation_status == "failed"
        assert row.generation_error
        assert (
            s.scalar(select(func.count()).select_from(TrainingTurn).where(TrainingTurn.conversation_id == row.id)) == 0
        )
        attempts = s.scalars(select(GenerationAttempt).order_by(GenerationAttempt.attempt)).all()
        assert [(a.kind, a.outcome) for a in attempts] == [("generate", "invalid"), ("repair", "invalid")]
        assert all(a.raw_reply for a in attempts)
        item = s.scalars(select(GenerationJobItem).where(GenerationJobItem.job_id == job_id)).one()
        assert item.status == "failed"


def test_truncated_then_valid_is_repaired_and_saved(seeded: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for fake in _fake(FakeConfig(script=["dangling_escape", "ok"]), monkeypatch):
        start_job(seeded, "single", ["12"])
        work_until_idle(seeded, anthropic_settings())
        with seeded.session_scope() as s:
            row = s.scalars(select(TrainingConversation).where(TrainingConversation.conversation_number == 12)).one()
            assert row.generation_status == "generated"
            assert fake.counters.calls == row.turn_count_target + 1  # the first turn once more, alone
            attempts = s.scalars(select(GenerationAttempt).order_by(GenerationAttempt.attempt)).all()
            assert [(a.part, a.kind, a.outcome) for a in attempts[:2]] == [
                ("turn 1 of 4", "generate", "invalid"),
                ("turn 1 of 4", "repair", "accepted"),
            ]


def test_two_workers_and_two_process_all_clicks_generate_each_conversation_once(
    seeded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with seeded.session_scope() as s:
        # A small plan: only 6 conversations remain planned.
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_number > 16, TrainingConversation.conversation_number <= 100)
            .values(generation_status="approved")
        )
    for fake in _fake(FakeConfig(latency_seconds=0.1), monkeypatch):
        first = start_job(seeded, "process_all", None)
        # The second click finds everything already queued.
        with pytest.raises(Exception, match="already queued"):
            start_job(seeded, "process_all", None)
        # And a batch job made before the first one ran, holding the same rows, is refused too.

        async def two_workers() -> None:
            await asyncio.gather(
                asyncio.to_thread(work_until_idle, seeded, anthropic_settings(), concurrency=3),
                asyncio.to_thread(work_until_idle, seeded, anthropic_settings(), concurrency=3),
            )

        run_async(two_workers())
        with seeded.session_scope() as s:
            turns = s.scalar(
                select(func.sum(TrainingConversation.turn_count_target)).where(
                    TrainingConversation.conversation_number.between(11, 16)
                )
            )
        assert fake.counters.calls == turns
    with seeded.session_scope() as s:
        generated = s.scalars(
            select(TrainingConversation.conversation_number).where(
                TrainingConversation.generation_status == "generated"
            )
        ).all()
        assert sorted(generated) == [11, 12, 13, 14, 15, 16]
        job = s.get(GenerationJob, first)
        assert job is not None
        assert job.status == "completed"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def test_completion_email_goes_to_a_real_smtp_server(seeded: Database, fake: FakeAnthropic) -> None:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        job_id = start_job(seeded, "batch", ["11", "12"], notify_email="dana@example.com")
        work_until_idle(seeded, anthropic_settings(SMTP_URL=f"smtp://127.0.0.1:{port}"))
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.rcpt_tos == ["dana@example.com"]
    body = envelope.content.decode()
    assert "Subject: Generation job completed: 2 of 2" in body
    assert "Generated: 2" in body
    with seeded.session_scope() as s:
        steps = s.scalars(select(GenerationJobEvent.step).where(GenerationJobEvent.job_id == job_id)).all()
    assert "email_sent" in steps


def test_without_smtp_the_email_is_skipped_with_the_reason(seeded: Database, fake: FakeAnthropic) -> None:
    job_id = start_job(seeded, "single", ["11"], notify_email="dana@example.com")
    work_until_idle(seeded, anthropic_settings())
    with seeded.session_scope() as s:
        events = s.scalars(select(GenerationJobEvent).where(GenerationJobEvent.job_id == job_id)).all()
    skipped = [e for e in events if e.step == "email_skipped"]
    assert len(skipped) == 1
    assert "SMTP_URL" in skipped[0].message
