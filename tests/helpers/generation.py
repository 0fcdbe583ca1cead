"""Starting generation jobs and running a worker until they are done, for the engine's integration tests: the
real service, a real Procrastinate queue and worker, the real SDK against a fake server."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers.workers import run_async
from training_data_studio.conversations import selection
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.generation import schemas, service
from training_data_studio.generation.queue import ProcrastinateQueue
from training_data_studio.generation.runtime import Runtime, build_runtime
from training_data_studio.jobs import make_app, run_worker_async


def anthropic_settings(**extra: Any) -> Settings:
    """Settings for the Anthropic provider; ANTHROPIC_BASE_URL (the fake) comes from the environment."""
    return Settings(ANTHROPIC_API_KEY="test-key", TDS_ANTHROPIC_MODEL="claude-sonnet-4-6", **extra)  # type: ignore[call-arg]


def start_job(
    database: Database,
    job_type: schemas.JobType,
    idents: list[str] | None,
    *,
    regenerate: bool = False,
    **options: Any,
) -> uuid.UUID:
    """Create and enqueue a job as user "dana"; `idents` None means every remaining conversation."""
    app = make_app(database.target).open()
    try:
        with database.session_scope() as s:
            conversations = (
                selection.remaining_conversations(s) if idents is None else selection.resolve_conversations(s, idents)
            )
            job = service.create_job(
                s,
                job_type=job_type,
                conversations=conversations,
                options=schemas.JobOptions(**options),
                user="dana",
                provider="anthropic",
                model="claude-sonnet-4-6",
                regenerate=regenerate,
            )
            service.enqueue_job(s, ProcrastinateQueue(app), job)
            return job.id
    finally:
        app.close()


def work_until_idle(database: Database, settings: Settings, *, concurrency: int = 4) -> Runtime:
    """Run a worker in this process until the queue is empty."""

    async def run() -> Runtime:
        app = make_app(database.target)
        async with app.open_async():
            runtime = build_runtime(database, settings, app)
            try:
                await run_worker_async(app, runtime, concurrency=concurrency, wait=False)
            finally:
                await runtime.aclose()
            return runtime

    return run_async(run())
