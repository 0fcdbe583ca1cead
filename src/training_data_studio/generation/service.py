"""Generation jobs: creating them, claiming conversations exactly once, recording progress, pausing,
resuming, cancelling and summarising. Queue operations go through a `JobQueue` so this module stays free of
Procrastinate; `tasks.py` provides the real one.

Exactly-once: a conversation is claimed by one atomic UPDATE planned→in_progress (or failed→in_progress for a
retry, or generated/reviewed/approved/flagged→in_progress for a regeneration, see conversations/revisions.py).
Two workers, two "process all" clicks or a restart can race for it; only one UPDATE matches.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..conversations import revisions
from ..conversations.selection import TIER_ORDER, remaining_conversations, resolve_conversations
from ..core.config import Settings
from ..core.errors import AppError, ConflictError, NotFoundError
from ..models import (
    GenerationAttempt,
    GenerationJob,
    GenerationJobEvent,
    GenerationJobItem,
    TrainingConversation,
)
from ..models.enums import ConversationStatus, ItemStatus, JobStatus
from . import schemas
from .prompts import DEFAULT_SECONDS_PER_CONVERSATION

ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.PAUSED)
# What a (first) generation starts from: never generated yet, a generation that failed and is retried, or an
# imported conversation with fewer turns than its file declares, which generation completes (its stored turns
# stay and are the history of the turns written after them).
GENERATABLE_STATUSES = (ConversationStatus.PLANNED, ConversationStatus.FAILED, ConversationStatus.INCOMPLETE)
OPEN_ITEM_STATUSES = (ItemStatus.QUEUED, ItemStatus.RUNNING, ItemStatus.PAUSED)
TERMINAL_ITEM_STATUSES = (ItemStatus.SUCCEEDED, ItemStatus.FAILED, ItemStatus.SKIPPED, ItemStatus.CANCELLED)
# Before any history exists: a 4-turn annotated conversation written turn by turn takes about five minutes
# (prompts.DEFAULT_SECONDS_PER_CONVERSATION) and costs about 32 cents on Sonnet (measured by
# `tds bench generate --token-aware` with conversations the size of our sample seeds).
DEFAULT_COST_CENTS_PER_CONVERSATION = Decimal("32")
# Medians over this many recent generations; older ones reflect older prompts and models.
ESTIMATE_HISTORY = 50
RECENT_EVENTS = 200


class JobQueue(Protocol):
    """What the service needs from the task queue."""

    def enqueue(self, items: Sequence[GenerationJobItem]) -> dict[uuid.UUID, int]: ...
    def enqueue_economy(self, job: GenerationJob) -> int: ...
    def schedule_batch_check(self, job_id: uuid.UUID, seconds: float) -> int: ...
    def cancel_queued(self, queue_job_ids: Sequence[int]) -> None: ...
    def abort_running(self, queue_job_ids: Sequence[int]) -> None: ...


def _already_queued(session: Session, conversation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Conversations that an active job already holds, with that job's id."""
    if not conversation_ids:
        return {}
    rows = session.execute(
        select(GenerationJobItem.conversation_id, GenerationJobItem.job_id)
        .join(GenerationJob, GenerationJob.id == GenerationJobItem.job_id)
        .where(
            GenerationJobItem.conversation_id.in_(conversation_ids),
            GenerationJobItem.status.in_(OPEN_ITEM_STATUSES),
            GenerationJob.status.in_(ACTIVE_JOB_STATUSES),
        )
    )
    return {conversation: job for conversation, job in rows}


def create_job(
    session: Session,
    *,
    job_type: schemas.JobType,
    conversations: Sequence[TrainingConversation],
    options: schemas.JobOptions,
    user: str,
    provider: str,
    model: str,
    regenerate: bool = False,
) -> GenerationJob:
    """Create a job with one item per conversation, in generation order. Refuses what cannot be generated.
    ``regenerate``: the conversations were generated before and each gets a new version (the old one is kept)."""
    if options.economy and provider != "anthropic":
        raise AppError(
            "economy_unavailable",
            "Economy mode uses Anthropic's Message Batches API: set ANTHROPIC_API_KEY to use it.",
            status=409,
        )
    if regenerate:
        if job_type == "process_all":
            raise ConflictError("Process-all generates planned conversations; regenerate a selection instead.")
        revisions.check_regeneratable(conversations)
    not_planned = [c for c in conversations if c.generation_status not in GENERATABLE_STATUSES]
    if not_planned and job_type != "process_all" and not regenerate:
        listed = ", ".join(f"#{c.conversation_number} ({c.generation_status})" for c in not_planned[:10])
        raise ConflictError(
            f"Only planned, failed or incomplete conversations can be generated; these are not: {listed}. "
            "Regenerate a generated conversation from its page instead."
        )
    incomplete = [c for c in conversations if c.generation_status == ConversationStatus.INCOMPLETE]
    if options.economy and incomplete and not regenerate:
        listed = ", ".join(f"#{c.conversation_number}" for c in incomplete[:10])
        raise ConflictError(
            f"Economy mode writes each conversation whole in one batched call; {listed} are incomplete and are "
            "completed turn by turn after their stored turns. Start them without economy mode."
        )
    held = _already_queued(session, [c.id for c in conversations])
    candidates = [c for c in conversations if c.id not in held]
    if not candidates:
        if held:
            job_ids = ", ".join(sorted({str(j) for j in held.values()}))
            raise ConflictError(f"Every selected conversation is already queued in job {job_ids}.")
        raise ConflictError("There is no planned conversation left to generate.")
    ordered = sorted(candidates, key=lambda c: (TIER_ORDER.get(c.tier, 9), c.conversation_number))
    if job_type != "process_all":
        ordered = list(candidates)  # the user's own order for a selection
    budget_cents = options.budget_usd * 100 if options.budget_usd is not None else None
    job = GenerationJob(
        job_type=job_type,
        target_conversation_ids=[c.conversation_id for c in ordered],
        total_conversations=len(ordered),
        status=ItemStatus.QUEUED,
        created_by=user,
        options=options.model_dump(mode="json"),
        budget_cents=budget_cents,
        notify_email=options.notify_email,
        provider=provider,
        model=model,
    )
    session.add(job)
    session.flush()
    session.add_all(
        GenerationJobItem(job_id=job.id, conversation_id=c.id, position=i, regenerate=regenerate)
        for i, c in enumerate(ordered, start=1)
    )
    skipped = f" ({len(held)} already queued elsewhere were left out)" if held else ""
    purpose = "to regenerate" if regenerate else "for"
    kept = " Each current version is kept as a revision when its new one is saved." if regenerate else ""
    record_event(
        session,
        job.id,
        step="job_created",
        message=f"Job created {purpose} {len(ordered)} conversations{skipped}.{kept}",
    )
    session.flush()
    return job


def start_job(
    session: Session,
    queue: JobQueue,
    *,
    settings: Settings,
    user: str,
    job_type: schemas.JobType,
    idents: Sequence[str] | None,
    options: schemas.JobOptions,
    regenerate: bool = False,
    include_seed_slots: bool = False,
) -> GenerationJob:
    """The one way a job starts (API and pages): refuse when no model is configured, create, enqueue.
    `idents` None means every remaining conversation (with the seed slots if `include_seed_slots`);
    `regenerate` replaces generated ones with new versions."""
    if idents is None:
        conversations = remaining_conversations(session, include_seed_slots=include_seed_slots)
    else:
        conversations = resolve_conversations(session, idents)
    return start_job_for(
        session,
        queue,
        settings=settings,
        user=user,
        job_type=job_type,
        conversations=conversations,
        options=options,
        regenerate=regenerate,
    )


def start_job_for(
    session: Session,
    queue: JobQueue,
    *,
    settings: Settings,
    user: str,
    job_type: schemas.JobType,
    conversations: Sequence[TrainingConversation],
    options: schemas.JobOptions,
    regenerate: bool = False,
) -> GenerationJob:
    """:func:`start_job` for conversations already resolved (``tds generate`` resolves them first, to look
    for a job to resume)."""
    from ..llm.factory import provider_from_settings

    provider = provider_from_settings(settings)  # refuses, naming the env vars, when nothing is configured
    job = create_job(
        session,
        job_type=job_type,
        conversations=list(conversations),
        options=options,
        user=user,
        provider=provider.name,
        model=provider.model,
        regenerate=regenerate,
    )
    enqueue_job(session, queue, job)
    return job


def get_job(session: Session, job_id: uuid.UUID) -> GenerationJob:
    job = session.get(GenerationJob, job_id)
    if job is None:
        raise NotFoundError("Job", job_id)
    return job


def job_items(session: Session, job_id: uuid.UUID, statuses: Sequence[str] | None = None) -> list[GenerationJobItem]:
    query = select(GenerationJobItem).where(GenerationJobItem.job_id == job_id).order_by(GenerationJobItem.position)
    if statuses:
        query = query.where(GenerationJobItem.status.in_(statuses))
    return list(session.scalars(query))


def record_event(
    session: Session,
    job_id: uuid.UUID,
    *,
    step: str,
    message: str,
    level: str = "info",
    item_id: uuid.UUID | None = None,
    conversation_number: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Store one step of the log; the table's trigger publishes it to every listening web process."""
    session.add(
        GenerationJobEvent(
            job_id=job_id,
            item_id=item_id,
            conversation_number=conversation_number,
            level=level,
            step=step,
            message=message,
            data=data,
        )
    )


def enqueue_job(session: Session, queue: JobQueue, job: GenerationJob) -> None:
    """Hand every queued item to the task queue and remember the queue's job ids (economy mode: one task
    submits the whole job as a Message Batch)."""
    if (job.options or {}).get("economy"):
        queue.enqueue_economy(job)
        return
    items = job_items(session, job.id, statuses=[ItemStatus.QUEUED])
    queue_ids = queue.enqueue(items)
    for item in items:
        item.procrastinate_job_id = queue_ids.get(item.id)
    session.flush()


def pause_job(
    session: Session, queue: JobQueue, job_id: uuid.UUID, *, reason: str = "Paused by the user."
) -> GenerationJob:
    """Queued work stops at once; a call already in flight finishes and is saved."""
    job = _lock_job(session, job_id)
    if job.status not in (JobStatus.QUEUED, JobStatus.IN_PROGRESS):
        raise ConflictError(f"A {job.status} job cannot be paused.")
    # Workers lock the job before its items too (flows.lock_job_and_item), so none holds an item this waits for.
    queued = job_items(session, job_id, statuses=[ItemStatus.QUEUED])
    queue.cancel_queued([i.procrastinate_job_id for i in queued if i.procrastinate_job_id is not None])
    for item in queued:
        item.status = ItemStatus.PAUSED
        item.procrastinate_job_id = None
    job.status = JobStatus.PAUSED
    job.paused_reason = reason
    record_event(session, job_id, step="paused", message=reason, level="warning")
    session.flush()
    return job


def resume_job(session: Session, queue: JobQueue, job_id: uuid.UUID) -> GenerationJob:
    job = _lock_job(session, job_id)
    if job.status != JobStatus.PAUSED:
        raise ConflictError(f"Only a paused job can be resumed; this one is {job.status}.")
    paused = job_items(session, job_id, statuses=[ItemStatus.PAUSED])
    for item in paused:
        item.status = ItemStatus.QUEUED
    job.status = JobStatus.IN_PROGRESS if job.started_at else JobStatus.QUEUED
    job.paused_reason = None
    session.flush()
    enqueue_job(session, queue, job)
    record_event(session, job_id, step="resumed", message=f"Resumed: {len(paused)} conversations queued again.")
    session.flush()
    # Paused while only its last calls were in flight, it has nothing left to queue: it is finished now.
    return refresh_job_totals(session, job_id)


def cancel_job(session: Session, queue: JobQueue, job_id: uuid.UUID) -> GenerationJob:
    """Queued work is dropped; a call in flight is aborted and nothing of it is saved."""
    job = _lock_job(session, job_id)
    if job.status in (JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.FAILED):
        raise ConflictError(f"A {job.status} job cannot be cancelled.")
    waiting = job_items(session, job_id, statuses=[ItemStatus.QUEUED, ItemStatus.PAUSED])
    running = job_items(session, job_id, statuses=[ItemStatus.RUNNING])
    queue.cancel_queued([i.procrastinate_job_id for i in waiting if i.procrastinate_job_id is not None])
    queue.abort_running([i.procrastinate_job_id for i in running if i.procrastinate_job_id is not None])
    for item in waiting:
        item.status = ItemStatus.CANCELLED
    for item in running:
        if item.procrastinate_job_id is None:  # waiting in a Message Batch: its result will be ignored
            release_conversation(session, item, failed=False, error=None)
            item.status = ItemStatus.CANCELLED
    job.status = JobStatus.CANCELLED
    job.completed_at = datetime.now(UTC)
    record_event(session, job_id, step="cancelled", message="Cancelled by the user.", level="warning")
    session.flush()
    return job


def retry_failed(session: Session, queue: JobQueue, job_id: uuid.UUID) -> GenerationJob:
    """Queue the job's failed conversations again (their attempts start over)."""
    job = _lock_job(session, job_id)
    failed = job_items(session, job_id, statuses=[ItemStatus.FAILED])
    if not failed:
        raise ConflictError("This job has no failed conversation to retry.")
    for item in failed:
        item.status = ItemStatus.QUEUED
        item.error = None
        item.attempts = 0
    job.failed_conversations = max(0, job.failed_conversations - len(failed))
    job.status = JobStatus.IN_PROGRESS if job.started_at else JobStatus.QUEUED
    job.completed_at = None
    session.flush()
    enqueue_job(session, queue, job)
    record_event(session, job_id, step="retry_failed", message=f"Retrying {len(failed)} failed conversations.")
    session.flush()
    return job


def _lock_job(session: Session, job_id: uuid.UUID) -> GenerationJob:
    job = session.scalars(select(GenerationJob).where(GenerationJob.id == job_id).with_for_update()).one_or_none()
    if job is None:
        raise NotFoundError("Job", job_id)
    return job


@dataclass(frozen=True)
class Claim:
    conversation: TrainingConversation
    taken_over: bool


def claim_conversation(session: Session, item: GenerationJobItem) -> Claim | None:
    """Atomically take the item's conversation for generation, or return None if someone else has it.

    A conversation already `in_progress` for this very item is taken over: that happens only when the
    worker that claimed it died and the queue handed the task to another worker.
    """
    if item.regenerate:
        return _claim_for_regeneration(session, item)
    completing = _claim_for_completion(session, item)
    if completing is not None:
        return completing
    claimed = session.scalars(
        update(TrainingConversation)
        .where(
            TrainingConversation.id == item.conversation_id,
            TrainingConversation.generation_status.in_((ConversationStatus.PLANNED, ConversationStatus.FAILED)),
        )
        .values(generation_status=ConversationStatus.IN_PROGRESS, generation_error=None, updated_at=func.now())
        .returning(TrainingConversation)
    ).one_or_none()
    if claimed is not None:
        return Claim(claimed, taken_over=False)
    if item.status == ItemStatus.RUNNING:
        conversation = session.get(TrainingConversation, item.conversation_id, with_for_update=True)
        if conversation is not None and conversation.generation_status == ConversationStatus.IN_PROGRESS:
            return Claim(conversation, taken_over=True)
    return None


def _claim_for_completion(session: Session, item: GenerationJobItem) -> Claim | None:
    """The claim of an incomplete conversation, whose status is remembered on the item: giving it back (a
    failure, a pause, a cancel) returns it to `incomplete` with its stored turns, never to `planned`."""
    claimed = session.scalars(
        update(TrainingConversation)
        .where(
            TrainingConversation.id == item.conversation_id,
            TrainingConversation.generation_status == ConversationStatus.INCOMPLETE,
        )
        .values(generation_status=ConversationStatus.IN_PROGRESS, generation_error=None, updated_at=func.now())
        .returning(TrainingConversation)
    ).one_or_none()
    if claimed is None:
        return None
    item.previous_status = ConversationStatus.INCOMPLETE
    session.flush()
    return Claim(claimed, taken_over=False)


def _claim_for_regeneration(session: Session, item: GenerationJobItem) -> Claim | None:
    """The claim of a regeneration: from the status its current version has, remembered on the item so that
    giving it back restores exactly that (the old version stays in place until the new one is saved)."""
    conversation = session.get(TrainingConversation, item.conversation_id, with_for_update=True)
    if conversation is None:
        return None
    if conversation.generation_status == ConversationStatus.IN_PROGRESS:
        taken_over = item.status == ItemStatus.RUNNING and item.previous_status is not None
        return Claim(conversation, taken_over=True) if taken_over else None
    if revisions.refusal(conversation) is not None:
        return None
    item.previous_status = conversation.generation_status
    conversation.generation_status = ConversationStatus.IN_PROGRESS
    session.flush()
    return Claim(conversation, taken_over=False)


def release_conversation(session: Session, item: GenerationJobItem, *, failed: bool, error: str | None) -> None:
    """Give a claimed conversation back: to `failed` with its error, or to `planned` (paused, cancelled). A
    regeneration gives it back with the status its untouched previous version had, and a completion to
    `incomplete`; both say why it failed."""
    if item.regenerate and item.previous_status is not None:
        status, message = item.previous_status, None
        if failed:
            message = f"Regeneration failed ({(error or 'unknown error').rstrip('.')}); the previous version is kept."
    elif item.previous_status == ConversationStatus.INCOMPLETE:
        status, message = ConversationStatus.INCOMPLETE, None
        if failed:
            message = f"Completing it failed ({(error or 'unknown error').rstrip('.')}); its stored turns are kept."
    else:
        status, message = (ConversationStatus.FAILED if failed else ConversationStatus.PLANNED), error
    session.execute(
        update(TrainingConversation)
        .where(
            TrainingConversation.id == item.conversation_id,
            TrainingConversation.generation_status == ConversationStatus.IN_PROGRESS,
        )
        .values(generation_status=status, generation_error=message, updated_at=func.now())
    )


def job_counts(session: Session, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, schemas.JobCounts]:
    """Each job's items by status, in one query: the single source of every count a job shows."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(GenerationJobItem.job_id, GenerationJobItem.status, func.count())
        .where(GenerationJobItem.job_id.in_(job_ids))
        .group_by(GenerationJobItem.job_id, GenerationJobItem.status)
    ).all()
    by_job: dict[uuid.UUID, dict[str, int]] = {job_id: {} for job_id in job_ids}
    for job_id, status, n in rows:
        by_job[job_id][str(status)] = int(n)
    return {job_id: schemas.JobCounts(**counts) for job_id, counts in by_job.items()}


def refresh_job_totals(session: Session, job_id: uuid.UUID) -> GenerationJob:
    """Recompute the job's counters and sums from its items, and finish it when nothing is left to do."""
    job = _lock_job(session, job_id)
    counts = job_counts(session, [job_id])[job_id].model_dump()
    sums: Sequence[Any] = session.execute(
        select(
            func.coalesce(func.sum(GenerationJobItem.cost_cents), 0),
            func.coalesce(func.sum(GenerationJobItem.input_tokens), 0),
            func.coalesce(func.sum(GenerationJobItem.output_tokens), 0),
            func.coalesce(func.sum(GenerationJobItem.cache_read_tokens), 0),
            func.coalesce(func.sum(GenerationJobItem.cache_write_tokens), 0),
        ).where(GenerationJobItem.job_id == job_id)
    ).one()
    # Every call that came back (a reply, or the error a conversation failed on) is an attempt row; an
    # item's `attempts` counts its claims, and a conversation written turn by turn makes a call per turn.
    api_calls = session.scalar(
        select(func.count(GenerationAttempt.id))
        .join(GenerationJobItem, GenerationAttempt.item_id == GenerationJobItem.id)
        .where(GenerationJobItem.job_id == job_id)
    )
    job.completed_conversations = int(counts.get(ItemStatus.SUCCEEDED, 0))
    job.failed_conversations = int(counts.get(ItemStatus.FAILED, 0))
    job.current_conversation_index = sum(int(counts.get(s, 0)) for s in TERMINAL_ITEM_STATUSES)
    job.total_cost_cents = Decimal(sums[0])
    job.input_tokens, job.output_tokens = int(sums[1]), int(sums[2])
    job.cache_read_tokens, job.cache_write_tokens = int(sums[3]), int(sums[4])
    job.total_tokens_used = job.input_tokens + job.output_tokens
    job.total_api_calls = int(api_calls or 0)
    open_items = sum(int(counts.get(s, 0)) for s in (ItemStatus.QUEUED, ItemStatus.RUNNING))
    if (
        job.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)
        and open_items == 0
        and not counts.get(ItemStatus.PAUSED)
    ):
        job.status = JobStatus.COMPLETED
        job.completed_at = datetime.now(UTC)
        if job.started_at:
            job.total_duration_seconds = Decimal(str(round((job.completed_at - job.started_at).total_seconds(), 2)))
        job.results_summary = {
            "succeeded": job.completed_conversations,
            "failed": job.failed_conversations,
            "skipped": int(counts.get(ItemStatus.SKIPPED, 0)),
            "cost_cents": str(job.total_cost_cents),
        }
        record_event(
            session,
            job_id,
            step="job_completed",
            level="success" if not job.failed_conversations else "warning",
            message=(
                f"Job complete: {job.completed_conversations} generated, {job.failed_conversations} failed, "
                f"${job.total_cost_cents / 100:.2f}."
            ),
        )
    session.flush()
    return job


def estimate(
    session: Session, conversations: Sequence[TrainingConversation], *, economy: bool = False
) -> schemas.Estimate:
    """Time and cost from the median of recent generations, or documented defaults before any history."""
    history: Sequence[Any] = session.execute(
        select(TrainingConversation.generation_duration_seconds, TrainingConversation.generation_cost_cents)
        .where(
            TrainingConversation.generation_duration_seconds.is_not(None),
            TrainingConversation.generation_cost_cents.is_not(None),
            TrainingConversation.generation_method != "seed_import",
        )
        .order_by(TrainingConversation.generation_date.desc().nulls_last())
        .limit(ESTIMATE_HISTORY)
    ).all()
    if history:
        seconds = float(statistics.median(float(d) for d, _ in history))
        cost = Decimal(str(statistics.median(Decimal(c) for _, c in history)))
        based_on: Literal["history", "default"] = "history"
    else:
        seconds, cost, based_on = DEFAULT_SECONDS_PER_CONVERSATION, DEFAULT_COST_CENTS_PER_CONVERSATION, "default"
    if economy:
        cost = cost / 2
    by_tier: dict[str, int] = {}
    for c in conversations:
        by_tier[c.tier] = by_tier.get(c.tier, 0) + 1
    n = len(conversations)
    return schemas.Estimate(
        conversations=n,
        seconds_per_conversation=seconds,
        cost_cents_per_conversation=cost.quantize(Decimal("0.01")),
        total_seconds=seconds * n,
        total_cost_cents=(cost * n).quantize(Decimal("0.01")),
        based_on=based_on,
        by_tier=by_tier,
    )


def job_summary(session: Session, job: GenerationJob, *, with_details: bool = False) -> schemas.JobDetail:
    """Everything a progress dashboard shows, from the job's items and events."""
    rows = session.execute(
        select(
            GenerationJobItem,
            TrainingConversation.conversation_id,
            TrainingConversation.conversation_number,
            TrainingConversation.tier,
            TrainingConversation.persona_type,
            TrainingConversation.topic_category,
        )
        .join(TrainingConversation, TrainingConversation.id == GenerationJobItem.conversation_id)
        .where(GenerationJobItem.job_id == job.id)
        .order_by(GenerationJobItem.position)
    ).all()
    items = [
        schemas.ItemRead(
            id=item.id,
            conversation_id=cid,
            conversation_number=number,
            tier=tier,
            persona_type=persona,
            topic_category=topic,
            status=item.status,
            attempts=item.attempts,
            error=item.error,
            quality_score=item.quality_score,
            cost_cents=item.cost_cents,
            duration_seconds=item.duration_seconds,
            finished_at=item.finished_at,
        )
        for item, cid, number, tier, persona, topic in rows
    ]
    tiers: dict[str, schemas.TierProgress] = {}
    for it in items:
        progress = tiers.setdefault(it.tier, schemas.TierProgress(tier=it.tier, total=0, succeeded=0, failed=0))
        progress.total += 1
        progress.succeeded += it.status == ItemStatus.SUCCEEDED
        progress.failed += it.status == ItemStatus.FAILED
    # Every count below comes from these same rows, so they add up whatever pause/resume/retry/cancel did.
    counts = schemas.JobCounts.of(it.status for it in items)
    durations = [float(it.duration_seconds) for it in items if it.duration_seconds is not None]
    open_count = counts.remaining
    eta = None
    if durations and open_count:
        # Calls overlap, so wall time per conversation is the job's elapsed time over what it finished.
        elapsed = (datetime.now(UTC) - job.started_at).total_seconds() if job.started_at else None
        per_item = elapsed / counts.finished if elapsed and counts.finished else statistics.median(durations)
        eta = per_item * open_count
    scores = [float(it.quality_score) for it in items if it.quality_score is not None]
    events: list[schemas.EventRead] = []
    if with_details:
        event_rows = session.scalars(
            select(GenerationJobEvent)
            .where(GenerationJobEvent.job_id == job.id)
            .order_by(GenerationJobEvent.id.desc())
            .limit(RECENT_EVENTS)
        ).all()
        events = [
            schemas.EventRead(
                id=e.id,
                created_at=e.created_at,
                level=e.level,
                step=e.step,
                message=e.message,
                conversation_number=e.conversation_number,
            )
            for e in reversed(event_rows)
        ]
    return schemas.JobDetail(
        id=job.id,
        job_type=job.job_type,
        status=job.status,
        created_at=job.created_at,
        created_by=job.created_by,
        started_at=job.started_at,
        completed_at=job.completed_at,
        counts=counts,
        total_conversations=counts.total,
        completed_conversations=counts.succeeded,
        failed_conversations=counts.failed,
        cancelled_conversations=counts.cancelled,
        skipped_conversations=counts.skipped,
        finished_conversations=counts.finished,
        remaining_conversations=counts.remaining,
        queued_conversations=counts.queued + counts.paused,
        running_conversations=counts.running,
        percent=counts.percent,
        total_api_calls=job.total_api_calls,
        total_tokens_used=job.total_tokens_used,
        total_cost_cents=job.total_cost_cents,
        budget_cents=job.budget_cents,
        paused_reason=job.paused_reason,
        provider=job.provider,
        model=job.model,
        economy=bool((job.options or {}).get("economy")),
        eta_seconds=eta,
        average_quality=round(statistics.mean(scores), 2) if scores else None,
        tiers=sorted(tiers.values(), key=lambda t: TIER_ORDER.get(t.tier, 9)),
        items=items if with_details else [],
        events=events,
    )


def list_jobs(session: Session, *, limit: int = 50) -> list[GenerationJob]:
    return list(session.scalars(select(GenerationJob).order_by(GenerationJob.created_at.desc()).limit(limit)))


def job_log_lines(session: Session, job_id: uuid.UUID) -> list[str]:
    """The whole step log as plain text lines, for "download log"."""
    events = session.scalars(
        select(GenerationJobEvent).where(GenerationJobEvent.job_id == job_id).order_by(GenerationJobEvent.id)
    )
    lines = []
    for e in events:
        where = f" #{e.conversation_number}" if e.conversation_number is not None else ""
        lines.append(f"{e.created_at.isoformat()} {e.level.upper():7}{where} {e.step}: {e.message}")
    return lines
