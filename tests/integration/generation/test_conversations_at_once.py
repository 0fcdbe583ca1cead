"""`tds generate` with no --concurrency works on as many conversations at once as the account's limits keep
busy: it starts on a few and adds workers once the first reply's headers tell the limits. The real worker
loop of the command (local_generation.work_until_done), a real queue, the real SDK over HTTP to the fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from tests.helpers.generation import anthropic_settings
from training_data_studio.core.db import Database
from training_data_studio.generation import capacity, schemas
from training_data_studio.local_generation import start_or_resume, work_until_done
from training_data_studio.models import TrainingConversation
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

NUMBERS = list(range(11, 27))  # sixteen conversations


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    # A request limit of 600 a minute, told in every reply's headers: its full bucket admits far more calls
    # at once than the command starts with.
    with FakeAnthropic(FakeConfig(latency_seconds=0.4, requests_per_minute=600)) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


def _generate(database: Database, concurrency: int | None) -> schemas.JobDetail:
    settings = anthropic_settings()
    job_id, _ = start_or_resume(database, settings, [str(n) for n in NUMBERS], schemas.JobOptions(), user="dana")

    async def run() -> schemas.JobDetail:
        outcome = await work_until_done(database, settings, job_id, concurrency=concurrency, on_progress=lambda _: None)
        return outcome.job

    return asyncio.run(run())


def test_the_conversations_at_once_grow_to_what_the_limits_carry(seeded: Database, fake: FakeAnthropic) -> None:
    final = _generate(seeded, None)
    assert (final.status, final.completed_conversations, final.failed_conversations) == ("completed", 16, 0)
    # Started on four, grown on the first headers: more calls were in flight than the start allows.
    assert fake.counters.max_in_flight > capacity.INITIAL_CONVERSATIONS_AT_ONCE
    with seeded.session_scope() as s:
        done = s.scalar(
            select(func.count())
            .select_from(TrainingConversation)
            .where(
                TrainingConversation.conversation_number.in_(NUMBERS),
                TrainingConversation.generation_status == "generated",
            )
        )
        assert done == 16
        # Every worker the run started stopped and unregistered itself.
        assert s.scalar(text("SELECT count(*) FROM procrastinate_workers")) == 0


def test_a_given_concurrency_holds(seeded: Database, fake: FakeAnthropic) -> None:
    final = _generate(seeded, 2)
    assert (final.status, final.completed_conversations) == ("completed", 16)
    assert fake.counters.max_in_flight <= 2
