"""`tds generate`: start (or resume) a job and work on it in this process until it ends, reporting
progress. It sits in the entry-point layer beside cli.py and jobs.py because it runs a worker.

Other workers against the same database share the work. Ctrl-C pauses the job cleanly (queued work stops,
calls in flight finish and are saved); running the same command again resumes the paused job.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .core.config import Settings
from .core.db import Database
from .core.errors import ConflictError
from .generation import schemas, service
from .generation.prompts import BuiltPrompt, Estimate, build_prompt, estimate, pick_examples
from .generation.providers.factory import provider_from_settings
from .generation.runner import _example_candidates, _template_for, build_runtime, plan_row_of
from .generation.tasks import ProcrastinateQueue
from .jobs import make_app, run_worker_async
from .models import GenerationJob, GenerationJobItem, TrainingConversation

# How often the progress display re-reads the job.
PROGRESS_INTERVAL_SECONDS = 0.5


@dataclass(frozen=True)
class PlannedPrompt:
    conversation_number: int
    conversation_id: str
    prompt: BuiltPrompt
    estimate: Estimate


def dry_run(session: Session, settings: Settings, idents: Sequence[str] | None) -> list[PlannedPrompt]:
    """The exact prompts and estimates, without calling any model (no API key needed)."""
    model = (
        settings.anthropic_model if settings.anthropic_api_key else (settings.openai_model or settings.anthropic_model)
    )
    conversations = (
        service.remaining_conversations(session) if idents is None else service.resolve_conversations(session, idents)
    )
    planned = []
    for conversation in conversations:
        plan_row = plan_row_of(conversation)
        examples = pick_examples(_example_candidates(session, conversation.id), plan_row)
        prompt = build_prompt(_template_for(session, conversation), plan_row, [e.document for e in examples])
        planned.append(
            PlannedPrompt(
                conversation.conversation_number, conversation.conversation_id, prompt, estimate(prompt, model)
            )
        )
    return planned


def _paused_job_for(
    session: Session, conversations: Sequence[TrainingConversation], job_type: str
) -> GenerationJob | None:
    """A paused job holding exactly these conversations (or, for --all, any paused process-all job)."""
    jobs = session.scalars(
        select(GenerationJob).where(GenerationJob.status == "paused").order_by(GenerationJob.created_at.desc())
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
    """Create the job, or resume the paused one that holds the same conversations. Returns (job id, resumed)."""
    provider = provider_from_settings(settings)
    app = make_app(database.target).open()
    try:
        with database.session_scope() as session:
            queue = ProcrastinateQueue(app)
            job_type: schemas.JobType = "process_all" if idents is None else ("single" if len(idents) == 1 else "batch")
            if idents is None:
                conversations = service.remaining_conversations(session)
            else:
                conversations = service.resolve_conversations(session, idents)
            paused = _paused_job_for(session, conversations, job_type)
            if paused is not None:
                service.resume_job(session, queue, paused.id)
                return paused.id, True
            if idents is None and not conversations:
                raise ConflictError("There is no planned conversation left to generate.")
            job = service.create_job(
                session,
                job_type=job_type,
                conversations=conversations,
                options=options,
                user=user,
                provider=provider.name,
                model=provider.model,
            )
            service.enqueue_job(session, queue, job)
            return job.id, False
    finally:
        app.close()


def pause(database: Database, job_id: uuid.UUID, reason: str) -> None:
    app = make_app(database.target).open()
    try:
        with database.session_scope() as session:
            job = service.get_job(session, job_id)
            if job.status in ("queued", "in_progress"):
                service.pause_job(session, ProcrastinateQueue(app), job_id, reason=reason)
    finally:
        app.close()


def summary(database: Database, job_id: uuid.UUID) -> schemas.JobDetail:
    with database.session_scope() as session:
        return service.job_summary(session, service.get_job(session, job_id), with_details=True)


async def work_until_done(
    database: Database,
    settings: Settings,
    job_id: uuid.UUID,
    *,
    concurrency: int,
    on_progress: Callable[[schemas.JobDetail], None],
) -> schemas.JobDetail:
    """Run a worker in this process while the job is active, calling `on_progress` as it moves."""
    app = make_app(database.target)
    async with app.open_async():
        runtime = build_runtime(database, settings, app)
        worker = asyncio.create_task(run_worker_async(app, runtime, concurrency=concurrency, polling_interval=1.0))
        try:
            while True:
                current = await asyncio.to_thread(summary, database, job_id)
                on_progress(current)
                if current.status not in ("queued", "in_progress"):
                    return current
                await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await runtime.aclose()
