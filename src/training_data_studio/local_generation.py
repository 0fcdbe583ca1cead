"""`tds generate`: start (or resume) a job and work on it in this process until it ends, reporting
progress. It sits in the entry-point layer beside cli/ and jobs.py because it runs a worker.

Other workers against the same database share the work. Ctrl-C pauses the job cleanly (queued work stops,
calls in flight finish and are saved); a second Ctrl-C stops the calls in flight too (nothing of them is
saved; they run again on resume). Running the same command again resumes the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import procrastinate
from sqlalchemy import select
from sqlalchemy.orm import Session

from .conversations import selection
from .core.config import Settings
from .core.db import Database
from .core.errors import ConflictError
from .generation import schemas, service
from .generation.flows import prompt_parts, stored_to_continue
from .generation.prompts import BuiltPrompt, Estimate, estimate
from .generation.queue import ProcrastinateQueue
from .generation.runtime import build_runtime
from .jobs import make_app, run_workers_async
from .llm.base import GenerationRequest
from .models import GenerationJob, GenerationJobItem, TrainingConversation

# How often the progress display re-reads the job.
PROGRESS_INTERVAL_SECONDS = 0.5
# How often, while calls in flight finish after a Ctrl-C, a second Ctrl-C is looked for: a quick force-quit.
FORCE_CHECK_SECONDS = 0.1
# A job that workers are working on (service.ACTIVE_JOB_STATUSES counts paused ones too).
RUNNING_JOB_STATUSES = ("queued", "in_progress")
PAUSE_REASON = "Paused from the command line (Ctrl-C)."


@dataclass(frozen=True)
class PlannedPrompt:
    conversation_number: int
    conversation_id: str
    prompt: BuiltPrompt
    estimate: Estimate
    stored_turns: int = 0  # an incomplete conversation's turns, which the generation continues after
    first_call: GenerationRequest | None = None  # a completion's first call: the stored turns as its history


def dry_run(session: Session, settings: Settings, idents: Sequence[str] | None) -> list[PlannedPrompt]:
    """The exact prompts and estimates, without calling any model (no API key needed). An incomplete
    conversation is planned as its generation will run: the turns after its stored ones, with them as the
    history of each call."""
    model = (
        settings.anthropic_model if settings.anthropic_api_key else (settings.openai_model or settings.anthropic_model)
    )
    conversations = (
        selection.remaining_conversations(session)
        if idents is None
        else selection.resolve_conversations(session, idents)
    )
    planned = []
    for conversation in conversations:
        stored = stored_to_continue(session, conversation)
        _, _, prompt, _ = prompt_parts(session, conversation, stored)
        held = len(stored.pairs) if stored is not None else 0
        first_call = None
        if stored is not None:
            first_call = prompt.turn_request(held + 1, stored.pairs, client_message=stored.open_message)
        planned.append(
            PlannedPrompt(
                conversation.conversation_number,
                conversation.conversation_id,
                prompt,
                estimate(prompt, model, stored_turns=held),
                stored_turns=held,
                first_call=first_call,
            )
        )
    return planned


def _job_to_resume(
    session: Session, conversations: Sequence[TrainingConversation], job_type: str
) -> GenerationJob | None:
    """A paused job holding these conversations (or, for --all, any process-all job), newest first.

    A job still queued or in progress counts too: that is what a run killed before it could pause leaves
    behind (SIGKILL, a closed terminal). Creating a second job would be refused, its conversations being
    held by the first; working on the first resumes it, and the stalled-task sweep hands its dead calls on.
    """
    jobs = session.scalars(
        select(GenerationJob)
        .where(GenerationJob.status.in_(service.ACTIVE_JOB_STATUSES))
        .order_by(GenerationJob.created_at.desc())
    ).all()
    wanted = {c.id for c in conversations}
    for job in jobs:
        if job_type == "process_all" and job.job_type == "process_all":
            return job
        held = set(session.scalars(select(GenerationJobItem.conversation_id).where(GenerationJobItem.job_id == job.id)))
        if held and held <= wanted:
            return job
    return None


def start_or_resume(
    database: Database, settings: Settings, idents: Sequence[str] | None, options: schemas.JobOptions, *, user: str
) -> tuple[uuid.UUID, bool]:
    """Create the job, or resume the one that holds the same conversations (paused, or left running by a run
    that was killed). Returns (job id, resumed)."""
    app = make_app(database.target).open()
    try:
        with database.session_scope() as session:
            queue = ProcrastinateQueue(app)
            job_type: schemas.JobType = "process_all" if idents is None else ("single" if len(idents) == 1 else "batch")
            if idents is None:
                conversations = selection.remaining_conversations(session)
            else:
                conversations = selection.resolve_conversations(session, idents)
            earlier = _job_to_resume(session, conversations, job_type)
            if earlier is not None:
                if earlier.status == "paused":
                    service.resume_job(session, queue, earlier.id)
                return earlier.id, True
            if idents is None and not conversations:
                raise ConflictError("There is no planned conversation left to generate.")
            job = service.start_job_for(
                session,
                queue,
                settings=settings,
                user=user,
                job_type=job_type,
                conversations=conversations,
                options=options,
            )
            return job.id, False
    finally:
        app.close()


def pause(database: Database, job_id: uuid.UUID, reason: str, *, only_if_queued: bool = False) -> bool:
    """Pause the job if it is active (with `only_if_queued`: only if some of its work is still queued, so a
    job down to its last calls in flight completes instead). True if it is paused now."""
    app = make_app(database.target).open()
    try:
        with database.session_scope() as session:
            job = session.get(GenerationJob, job_id, with_for_update=True)  # its status cannot change under us
            assert job is not None
            if job.status not in RUNNING_JOB_STATUSES:
                return job.status == "paused"
            if only_if_queued and not service.job_items(session, job_id, statuses=["queued"]):
                return False
            service.pause_job(session, ProcrastinateQueue(app), job_id, reason=reason)
            return True
    finally:
        app.close()


# Conversations whose streaming progress `tds generate` shows on its progress line at once.
MAX_STREAMS_SHOWN = 4


def streaming_now(detail: schemas.JobDetail) -> str:
    """The output tokens so far of the conversations being written, from their latest streaming events:
    ``#11 turn 2 of 4: 1,234 tok · #12 ...`` (empty when nothing is streaming)."""
    running = {item.conversation_number for item in detail.items if item.status == "running"}
    latest: dict[int, str] = {}
    for event in detail.events:
        number = event.conversation_number
        if number is None or number not in running:
            continue
        if event.step == "streaming":
            latest[number] = event.message.removeprefix(f"#{number}: writing ").replace(" output tokens so far", " tok")
        elif event.step in ("preparing_prompt", "complete", "failed"):
            latest.pop(number, None)
    shown = [f"#{number} {text.replace(', ', ': ', 1)}" for number, text in sorted(latest.items())]
    more = len(shown) - MAX_STREAMS_SHOWN
    return " · ".join(shown[:MAX_STREAMS_SHOWN]) + (f" · +{more} more" if more > 0 else "")


def summary(database: Database, job_id: uuid.UUID) -> schemas.JobDetail:
    with database.session_scope() as session:
        return service.job_summary(session, service.get_job(session, job_id), with_details=True)


class CtrlC:
    """Counts the SIGINTs the terminal sends: the first asks for a clean pause, the second to stop now."""

    def __init__(self) -> None:
        self.presses = 0
        self.pressed = asyncio.Event()

    def press(self) -> None:
        self.presses += 1
        self.pressed.set()


class InFlight:
    """A Procrastinate task middleware that knows which job item each task of this process is generating,
    so a second Ctrl-C cancels exactly this job's calls: calls of another job that this worker happens to run
    are not this command's to stop (cancelled, their items would be cancelled for good), so they finish."""

    def __init__(self) -> None:
        self.items: dict[asyncio.Task[Any], str | None] = {}

    async def __call__(
        self, call_next: Callable[[], Awaitable[Any]], context: procrastinate.JobContext, worker: object
    ) -> Any:
        task = asyncio.current_task()
        assert task is not None
        item_id = context.job.task_kwargs.get("item_id")  # generate_item's; an economy task has none
        self.items[task] = item_id if isinstance(item_id, str) else None
        try:
            return await call_next()
        finally:
            del self.items[task]

    def cancel(self, item_ids: set[str]) -> None:
        """Cancel the calls in flight for these items: the runner gives their conversations back, saves
        nothing of them, and (the job being paused) leaves them paused for the resume."""
        for task, item_id in self.items.items():
            if item_id in item_ids:
                task.cancel()


@dataclass(frozen=True)
class RunOutcome:
    job: schemas.JobDetail
    interrupted: bool  # Ctrl-C was pressed
    forced: bool  # a second Ctrl-C stopped the calls in flight


def _item_ids(database: Database, job_id: uuid.UUID) -> set[str]:
    with database.session_scope() as session:
        return {str(i) for i in session.scalars(select(GenerationJobItem.id).where(GenerationJobItem.job_id == job_id))}


async def work_until_done(
    database: Database,
    settings: Settings,
    job_id: uuid.UUID,
    *,
    concurrency: int | None,
    on_progress: Callable[[schemas.JobDetail], None],
    on_pausing: Callable[[int], None] = lambda in_flight: None,
) -> RunOutcome:
    """Run workers in this process while the job is active, calling `on_progress` as it moves: on
    `concurrency` conversations at once, or (None) as many as the account's limits keep busy.

    Ctrl-C is handled here rather than by asyncio.run, whose default cancels every task at once: calls in
    flight would be cut off, their items marked cancelled for good, and the worker's pool closed under them.
    The first Ctrl-C stops this worker taking work, pauses the job (its queued work stops everywhere) and
    lets the calls in flight finish and be saved (`on_pausing` gets how many there are); a second one
    cancels this job's calls, whose conversations the runner gives back with nothing saved. Either way the
    worker stops in order, so nothing is left running or half-written.
    """
    loop = asyncio.get_running_loop()
    ctrl_c = CtrlC()
    loop.add_signal_handler(signal.SIGINT, ctrl_c.press)
    in_flight = InFlight()
    app = make_app(database.target)
    try:
        async with app.open_async():
            runtime = build_runtime(database, settings, app)
            worker = asyncio.create_task(
                run_workers_async(app, runtime, concurrency=concurrency, task_middleware=[in_flight])
            )
            try:
                current = await _follow(database, job_id, on_progress, ctrl_c)
                if not ctrl_c.presses:
                    return RunOutcome(current, interrupted=False, forced=False)
                forced = await _pause_and_stop(database, job_id, worker, ctrl_c, in_flight, on_progress, on_pausing)
                final = await asyncio.to_thread(summary, database, job_id)
                on_progress(final)
                return RunOutcome(final, interrupted=True, forced=forced)
            finally:
                if not worker.cancelling():  # already stopping after a Ctrl-C: a second cancel would cut it short
                    worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                await runtime.aclose()
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def _follow(
    database: Database, job_id: uuid.UUID, on_progress: Callable[[schemas.JobDetail], None], ctrl_c: CtrlC
) -> schemas.JobDetail:
    """Show progress until the job is no longer active or Ctrl-C is pressed (acted on at once)."""
    while True:
        current = await asyncio.to_thread(summary, database, job_id)
        on_progress(current)
        if current.status not in RUNNING_JOB_STATUSES or ctrl_c.presses:
            return current
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctrl_c.pressed.wait(), PROGRESS_INTERVAL_SECONDS)


async def _pause_and_stop(
    database: Database,
    job_id: uuid.UUID,
    worker: asyncio.Task[None],
    ctrl_c: CtrlC,
    in_flight: InFlight,
    on_progress: Callable[[schemas.JobDetail], None],
    on_pausing: Callable[[int], None],
) -> bool:
    """After the first Ctrl-C: stop the worker and pause the job, then wait for the calls in flight, or stop
    them on a second Ctrl-C. Returns whether they were stopped."""
    # Cancelling its task makes Procrastinate's worker stop fetching at once and wait for the tasks it runs.
    worker.cancel()
    paused = await asyncio.to_thread(pause, database, job_id, PAUSE_REASON, only_if_queued=True)
    on_pausing(len(in_flight.items))
    forced = False
    next_progress = asyncio.get_running_loop().time() + PROGRESS_INTERVAL_SECONDS
    while not worker.done():
        if ctrl_c.presses > 1 and not forced:
            if not paused:  # paused first, so the runner keeps the stopped calls' items for the resume
                await asyncio.to_thread(pause, database, job_id, PAUSE_REASON)
            in_flight.cancel(await asyncio.to_thread(_item_ids, database, job_id))
            forced = True
        await asyncio.wait({worker}, timeout=FORCE_CHECK_SECONDS)
        if asyncio.get_running_loop().time() >= next_progress:
            on_progress(await asyncio.to_thread(summary, database, job_id))
            next_progress += PROGRESS_INTERVAL_SECONDS
    return forced
