"""`tds generate` stopped with Ctrl-C and run again, as a user at a terminal does it: the real CLI in a
subprocess of its own process group (a terminal sends SIGINT to the whole foreground group), the real
Anthropic SDK against the fake server over HTTP, and every outcome checked in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.generation import schemas
from training_data_studio.local_generation import PAUSE_REASON, pause, start_or_resume
from training_data_studio.models import (
    GenerationAttempt,
    GenerationJob,
    GenerationJobEvent,
    GenerationJobItem,
    TrainingConversation,
    TrainingTurn,
)
from training_data_studio.plan.service import read_plan
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig, iter_texts, requested_conversation

NUMBERS = [11, 12, 13, 14, 15, 16]
# Turns of each conversation in the shipped plan: one call each.
TURNS = {row.conversation_number: row.turn_count_target for row in read_plan() if row.conversation_number in NUMBERS}
IDS_OPTION = ",".join(str(n) for n in NUMBERS)
EXIT_PAUSED = 130  # the Unix convention for a program ended by SIGINT (128 + 2)
# Generous: a loaded 2-CPU machine starts Python, SQLAlchemy and the SDK slowly.
STARTUP_TIMEOUT = 60.0
EXIT_TIMEOUT = 20.0
RUN_TIMEOUT = 90.0
SETTINGS = Settings(ANTHROPIC_API_KEY="test-key", TDS_ANTHROPIC_MODEL="claude-sonnet-4-6")  # type: ignore[call-arg]


class TimedFake(FakeAnthropic):
    """The fake Anthropic API, also remembering when each call arrived and for which conversation."""

    def __init__(self, config: FakeConfig) -> None:
        super().__init__(config)
        self.arrivals: list[tuple[float, str]] = []

    def enter_call(self, body: Any) -> None:
        super().enter_call(body)
        conversation_id, _ = requested_conversation(list(iter_texts(body)))
        with self._lock:
            self.arrivals.append((time.monotonic(), conversation_id))

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        try:
            super()._dispatch(handler, method)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a call stopped by a forced quit: its client is gone, as it should be

    def calls_per_conversation(self) -> Counter[str]:
        with self._lock:
            return Counter(conversation_id for _, conversation_id in self.arrivals)

    def calls_after(self, moment: float) -> list[str]:
        with self._lock:
            return [conversation_id for at, conversation_id in self.arrivals if at > moment]


class Generate:
    """`tds generate --ids … --concurrency 2` running in its own process group, its output read as it comes."""

    def __init__(self, database: Database, fake: FakeAnthropic, cwd: Path) -> None:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "DATABASE_URL", "SUPABASE_", "ANTHROPIC_"))
        }
        env.update(
            DATABASE_URL=database.target.conninfo,
            ANTHROPIC_API_KEY="test-key",
            ANTHROPIC_BASE_URL=fake.url,
            TDS_USER="dana",
            COLUMNS="200",
            NO_COLOR="1",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "training_data_studio", "generate", "--ids", IDS_OPTION, "--concurrency", "2"],
            cwd=cwd,  # no stray .env file
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def ctrl_c(self) -> None:
        """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tds generate still running after {timeout} s:\n{self.output}") from None
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def fake() -> Iterator[TimedFake]:
    # Six calls of 1.5 s, two at a time: a run takes several seconds, long enough to interrupt it midway.
    with TimedFake(FakeConfig(latency_seconds=1.5)) as server:
        yield server


@pytest.fixture
def generate(seeded: Database, fake: TimedFake, tmp_path: Path) -> Iterator[Callable[[], Generate]]:
    started: list[Generate] = []

    def start() -> Generate:
        run = Generate(seeded, fake, tmp_path)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill()


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str, run: Generate) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if run.process.poll() is not None:
            raise AssertionError(f"tds generate ended ({run.process.returncode}) before {what}:\n{run.output}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{run.output}")


def _conversation_statuses(database: Database) -> dict[int, str]:
    with database.session_scope() as s:
        rows = s.execute(
            select(TrainingConversation.conversation_number, TrainingConversation.generation_status).where(
                TrainingConversation.conversation_number.in_(NUMBERS)
            )
        ).all()
    return {number: status for number, status in rows}


def _generated_count(database: Database) -> int:
    return len(_generated_numbers(database))


def _generated_numbers(database: Database) -> list[int]:
    return [number for number, status in _conversation_statuses(database).items() if status == "generated"]


def _claimed_before_the_pause(database: Database) -> set[str]:
    """The conversations whose generation had started (been claimed) when the job was paused: their later
    turns may still be called after the pause; no other conversation may."""
    with database.session_scope() as s:
        paused_at = s.scalar(select(func.min(GenerationJobEvent.created_at)).where(GenerationJobEvent.step == "paused"))
        assert paused_at is not None
        rows = s.execute(
            select(TrainingConversation.conversation_id)
            .join(GenerationJobItem, GenerationJobItem.conversation_id == TrainingConversation.id)
            .where(GenerationJobItem.started_at <= paused_at)
        ).all()
    return {conversation_id for (conversation_id,) in rows}


def _conversation_id(number: int) -> str:
    return next(row.conversation_id for row in read_plan() if row.conversation_number == number)


def _jobs(database: Database) -> list[tuple[uuid.UUID, str]]:
    with database.session_scope() as s:
        return [(job_id, status) for job_id, status in s.execute(select(GenerationJob.id, GenerationJob.status))]


def _item_statuses(database: Database) -> list[str]:
    with database.session_scope() as s:
        return list(s.scalars(select(GenerationJobItem.status).order_by(GenerationJobItem.position)))


def _assert_nothing_half_written(database: Database) -> None:
    """Every conversation is either generated with exactly its turns and one accepted attempt per turn, or
    planned with no turns at all; none is left claimed (in_progress) and no item is left running."""
    with database.session_scope() as s:
        rows = s.execute(
            select(
                TrainingConversation.conversation_number,
                TrainingConversation.generation_status,
                TrainingConversation.turn_count,
                select(func.count(TrainingTurn.id))
                .where(TrainingTurn.conversation_id == TrainingConversation.id)
                .scalar_subquery(),
                select(func.count(GenerationAttempt.id))
                .where(
                    GenerationAttempt.conversation_id == TrainingConversation.id,
                    GenerationAttempt.outcome == "accepted",
                )
                .scalar_subquery(),
            ).where(TrainingConversation.conversation_number.in_(NUMBERS))
        ).all()
    for number, status, turn_count, turns, accepted in rows:
        assert status in ("generated", "planned"), f"#{number} is {status}"
        if status == "generated":
            assert turns == turn_count > 0, f"#{number}: {turns} turns saved, {turn_count} expected"
            assert accepted == turn_count, f"#{number}: {accepted} accepted attempts for {turn_count} turns"
        else:
            assert (turns, accepted) == (0, 0), f"#{number} is planned but has {turns} turns, {accepted} accepted"
    assert "running" not in _item_statuses(database)


def _resume_and_finish(generate: Callable[[], Generate], database: Database, job_id: uuid.UUID) -> str:
    """Run the same command again: it resumes the paused job and finishes it."""
    again = generate()
    code = again.wait(RUN_TIMEOUT)
    assert code == 0, again.output
    assert f"resumed job {job_id}" in again.output
    assert _jobs(database) == [(job_id, "completed")]  # the same job, no second one
    assert _item_statuses(database) == ["succeeded"] * len(NUMBERS)
    assert set(_conversation_statuses(database).values()) == {"generated"}
    _assert_nothing_half_written(database)
    return again.output


def test_ctrl_c_pauses_cleanly_and_running_it_again_resumes(
    seeded: Database, fake: TimedFake, generate: Callable[[], Generate]
) -> None:
    run = generate()
    _wait_for(lambda: _generated_count(seeded) >= 1, STARTUP_TIMEOUT, "a first generated conversation", run)
    interrupted_at = time.monotonic()
    run.ctrl_c()
    code = run.wait(EXIT_TIMEOUT)
    stopped_after = time.monotonic() - interrupted_at

    assert code == EXIT_PAUSED, run.output
    assert "Traceback" not in run.output
    assert "paused" in run.output
    assert "run the same command to resume" in run.output
    # The conversations in flight (at most two, a call of 1.5 s per turn) finish, are saved, and no other
    # conversation starts.
    assert stopped_after < 15, run.output
    started = _claimed_before_the_pause(seeded)
    assert set(fake.calls_after(interrupted_at + 1.0)) <= started, "a queued conversation was sent after the pause"
    [(job_id, job_status)] = _jobs(seeded)
    assert job_status == "paused"
    generated = _generated_count(seeded)
    assert 1 <= generated < len(NUMBERS)
    items = _item_statuses(seeded)
    assert set(items) <= {"succeeded", "paused"}, items
    assert items.count("succeeded") == generated
    # every call made was finished and saved: one per turn of the generated conversations
    assert sum(fake.calls_per_conversation().values()) == sum(TURNS[n] for n in _generated_numbers(seeded))
    _assert_nothing_half_written(seeded)

    _resume_and_finish(generate, seeded, job_id)
    calls = fake.calls_per_conversation()
    assert len(calls) == len(NUMBERS)
    # each turn of each conversation asked for exactly once across both runs
    assert calls == {_conversation_id(n): TURNS[n] for n in NUMBERS}, calls


def test_a_second_ctrl_c_quits_at_once_and_leaves_nothing_half_written(
    seeded: Database, fake: TimedFake, generate: Callable[[], Generate]
) -> None:
    fake.config.latency_seconds = 6.0  # calls in flight clearly outlast a forced quit
    run = generate()
    _wait_for(lambda: fake.counters.in_flight >= 1, STARTUP_TIMEOUT, "a call in flight", run)
    run.ctrl_c()
    _wait_for(lambda: "pausing" in run.output, EXIT_TIMEOUT, "the pausing message", run)
    forced_at = time.monotonic()
    run.ctrl_c()
    code = run.wait(EXIT_TIMEOUT)
    quit_after = time.monotonic() - forced_at

    assert code == EXIT_PAUSED, run.output
    assert "Traceback" not in run.output
    assert "run the same command to resume" in run.output
    assert quit_after < 4, run.output  # well before the 6 s calls could have finished
    [(job_id, job_status)] = _jobs(seeded)
    assert job_status == "paused"
    assert set(_item_statuses(seeded)) <= {"succeeded", "paused"}
    _assert_nothing_half_written(seeded)

    fake.config.latency_seconds = 0.2
    _resume_and_finish(generate, seeded, job_id)
    calls = fake.calls_per_conversation()
    assert len(calls) == len(NUMBERS)
    # An abandoned conversation is started again on resume; it is saved once all the same (checked above).
    assert all(TURNS[n] <= calls[_conversation_id(n)] <= 2 * TURNS[n] for n in NUMBERS), calls


def test_running_it_again_after_a_hard_kill_works_on_the_same_job(seeded: Database) -> None:
    """A run killed before it could pause (SIGKILL, a closed terminal) leaves its job in progress; the next
    run carries on with that job rather than being refused because the job holds its conversations."""
    first, resumed = start_or_resume(seeded, SETTINGS, ["11", "12"], schemas.JobOptions(), user="dana")
    assert not resumed
    again, resumed = start_or_resume(seeded, SETTINGS, ["11", "12"], schemas.JobOptions(), user="dana")
    assert (again, resumed) == (first, True)
    assert _jobs(seeded) == [(first, "queued")]


def test_a_job_paused_during_its_last_calls_completes_when_resumed(seeded: Database) -> None:
    """A forced pause can catch a job whose every call was in flight and then saved: nothing is left to
    queue, so resuming it must finish it rather than leave it in progress for ever."""
    job_id, _ = start_or_resume(seeded, SETTINGS, ["11"], schemas.JobOptions(), user="dana")
    assert pause(seeded, job_id, PAUSE_REASON)
    with seeded.session_scope() as s:  # its one call finished and was saved after the pause
        s.execute(update(GenerationJobItem).where(GenerationJobItem.job_id == job_id).values(status="succeeded"))
    again, resumed = start_or_resume(seeded, SETTINGS, ["11"], schemas.JobOptions(), user="dana")
    assert (again, resumed) == (job_id, True)
    assert _jobs(seeded) == [(job_id, "completed")]
