"""Economy mode: a job's conversations go to Anthropic's Message Batches API (half the price, results
later). Submitting claims each conversation exactly as a live call does; results are checked by the same
checks and saved by the same exactly-once path. The batch id lives on the job and polling is a queued task
scheduled again until the batch ends, so a restart resumes polling where it was."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from ..core.errors import AppError
from ..llm.anthropic_provider import AnthropicProvider
from ..llm.base import ProviderError
from ..llm.pacing import PacedProvider
from ..models import GenerationJob, GenerationJobItem
from . import service
from .checks import check_reply
from .flows import prepare, prepared_again, save_failure, save_success
from .generate import Attempt, GenerationOutcome, InvalidOutput, ProviderFailed
from .prompts import estimate
from .runtime import Runtime

log = logging.getLogger(__name__)


def batch_provider(runtime: Runtime) -> AnthropicProvider:
    provider = runtime.provider.provider if isinstance(runtime.provider, PacedProvider) else runtime.provider
    if not isinstance(provider, AnthropicProvider):
        raise AppError("economy_unavailable", "Economy mode needs Claude's Message Batches API.", status=409)
    return provider


def _queued_item_ids(runtime: Runtime, job_id: uuid.UUID) -> tuple[list[uuid.UUID], GenerationJob | None]:
    with runtime.database.session_scope() as session:
        job = session.get(GenerationJob, job_id)
        if job is None:
            return [], None
        ids = list(
            session.scalars(
                select(GenerationJobItem.id)
                .where(GenerationJobItem.job_id == job_id, GenerationJobItem.status == "queued")
                .order_by(GenerationJobItem.position)
            )
        )
        session.expunge(job)
        return ids, job


def _pause_over_budget(runtime: Runtime, job: GenerationJob, expected_cents: Decimal) -> bool:
    if job.budget_cents is None or job.total_cost_cents + expected_cents <= job.budget_cents:
        return False
    with runtime.database.session_scope() as session:
        service.pause_job(
            session,
            runtime.queue,
            job.id,
            reason=(
                f"Paused before submitting the batch: it could cost up to ${expected_cents / 100:.2f} and the "
                f"budget is ${job.budget_cents / 100:.2f} (${job.total_cost_cents / 100:.2f} spent)."
            ),
        )
    return True


def _record_submission(runtime: Runtime, job_id: uuid.UUID, batch_id: str, count: int) -> None:
    with runtime.database.session_scope() as session:
        job = session.get(GenerationJob, job_id, with_for_update=True)
        assert job is not None
        job.batch_id = batch_id
        service.record_event(
            session,
            job_id,
            step="batch_submitted",
            message=(
                f"Submitted {count} conversations as Message Batch {batch_id}; waiting for results "
                "(usually minutes, at most 24 hours)."
            ),
            data={"batch_id": batch_id},
        )


async def submit(runtime: Runtime, job_id: uuid.UUID) -> str | None:
    """Claim and prompt every queued conversation of the job, submit them as one batch; returns its id."""
    provider = batch_provider(runtime)
    item_ids, job = await asyncio.to_thread(_queued_item_ids, runtime, job_id)
    if job is None or job.status not in ("queued", "in_progress"):
        return None
    if job.batch_id:
        return job.batch_id  # submitted before a restart: only polling is left
    prepared = []
    for item_id in item_ids:
        ready = await asyncio.to_thread(prepare, runtime, item_id, batch=True)
        if ready is not None:
            prepared.append(ready)
    if not prepared:
        return None
    expected = sum((estimate(p.prompt, provider.model, batch=True).cost_high_cents for p in prepared), Decimal(0))
    if await asyncio.to_thread(_pause_over_budget, runtime, job, expected):
        return None
    try:
        batch_id = await provider.submit_batch([(str(p.item_id), p.prompt.request()) for p in prepared])
    except ProviderError as exc:
        for p in prepared:
            failure = ProviderFailed(
                p.plan_row.conversation_id, exc, attempts=[], duration_seconds=0.0, model=provider.model
            )
            await asyncio.to_thread(save_failure, runtime, p, failure)
        return None
    await asyncio.to_thread(_record_submission, runtime, job_id, batch_id, len(prepared))
    return batch_id


def _running_item_ids(runtime: Runtime, job_id: uuid.UUID) -> list[uuid.UUID]:
    with runtime.database.session_scope() as session:
        return list(
            session.scalars(
                select(GenerationJobItem.id).where(
                    GenerationJobItem.job_id == job_id, GenerationJobItem.status == "running"
                )
            )
        )


async def collect(runtime: Runtime, job_id: uuid.UUID, batch_id: str) -> bool:
    """Ingest an ended batch; False while it is still processing."""
    provider = batch_provider(runtime)
    status = await provider.batch_status(batch_id)
    if not status.ended:
        return False
    results = await provider.batch_results(batch_id)
    for item_id in await asyncio.to_thread(_running_item_ids, runtime, job_id):
        prepared = await asyncio.to_thread(prepared_again, runtime, item_id)
        if prepared is None:
            continue
        result = results.get(str(item_id))
        conversation_id = prepared.plan_row.conversation_id
        if result is None or isinstance(result, ProviderError):
            cause = result or ProviderError(f"the batch returned no result for {conversation_id}")
            failure = ProviderFailed(conversation_id, cause, attempts=[], duration_seconds=0.0, model=provider.model)
            await asyncio.to_thread(save_failure, runtime, prepared, failure)
            continue
        report = check_reply(result, prepared.plan_row)
        conversation, problems = report.conversation, report.failures
        attempts = [
            Attempt(
                number=1,
                reply=result,
                problems=problems,
                warnings=report.warnings,
                normalisations=report.normalisations,
                accepted=conversation is not None,
            )
        ]
        elapsed = (datetime.now(UTC) - prepared.started).total_seconds()
        if conversation is None:
            invalid = InvalidOutput(
                conversation_id,
                problems,
                attempts=attempts,
                duration_seconds=elapsed,
                model=result.model or provider.model,
            )
            await asyncio.to_thread(save_failure, runtime, prepared, invalid)
            continue
        outcome = GenerationOutcome(
            conversation=conversation,
            attempts=attempts,
            usage=result.usage,
            duration_seconds=elapsed,
            model=result.model or provider.model,
        )
        await asyncio.to_thread(save_success, runtime, prepared, outcome)
    return True


async def run_economy_job(runtime: Runtime, job_id: uuid.UUID) -> None:
    """Submit the job's batch (once), then check on it; schedules itself again until the batch has ended."""
    with runtime.database.session_scope() as session:
        job = session.get(GenerationJob, job_id)
        if job is None or job.status not in ("queued", "in_progress"):
            return
        batch_id = job.batch_id
    if batch_id is None:
        batch_id = await submit(runtime, job_id)
        if batch_id is None:
            await asyncio.to_thread(_refresh, runtime, job_id)
            return
    if await collect(runtime, job_id, batch_id):
        await asyncio.to_thread(_refresh, runtime, job_id)
        return
    await asyncio.to_thread(runtime.queue.schedule_batch_check, job_id, runtime.settings.batch_poll_seconds)


def _refresh(runtime: Runtime, job_id: uuid.UUID) -> None:
    with runtime.database.session_scope() as session:
        service.refresh_job_totals(session, job_id)
