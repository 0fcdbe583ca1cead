"""JSON routes for generation: start jobs, estimate them, control them, and follow them live."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse
from sse_starlette.sse import EventSourceResponse

from ..conversations import selection
from ..core.deps import DbDep, SessionDep, SettingsDep, UserDep
from . import schemas, service
from .events import stream_events

router = APIRouter(prefix="/api/train-data", tags=["generation"])


def get_job_queue(request: Request) -> service.JobQueue:
    queue: service.JobQueue = request.app.state.job_queue
    return queue


QueueDep = Annotated[service.JobQueue, Depends(get_job_queue)]


def _start(
    session: SessionDep,
    queue: service.JobQueue,
    settings: SettingsDep,
    user: UserDep,
    *,
    job_type: schemas.JobType,
    conversation_ids: list[str] | None,
    options: schemas.JobOptions,
    regenerate: bool = False,
    include_seed_slots: bool = False,
) -> schemas.JobDetail:
    job = service.start_job(
        session,
        queue,
        settings=settings,
        user=user.id,
        job_type=job_type,
        idents=conversation_ids,
        options=options,
        regenerate=regenerate,
        include_seed_slots=include_seed_slots,
    )
    return service.job_summary(session, job, with_details=True)


@router.post("/generate/single", response_model=schemas.JobDetail, status_code=201)
def generate_single(
    body: schemas.SingleJobCreate, session: SessionDep, queue: QueueDep, settings: SettingsDep, user: UserDep
) -> schemas.JobDetail:
    """Generate one planned conversation as a background job, or with `regenerate` a new version of a generated one."""
    return _start(
        session,
        queue,
        settings,
        user,
        job_type="single",
        conversation_ids=[body.conversation_id],
        options=body.options,
        regenerate=body.regenerate,
    )


@router.post("/generate/batch", response_model=schemas.JobDetail, status_code=201)
def generate_batch(
    body: schemas.BatchJobCreate, session: SessionDep, queue: QueueDep, settings: SettingsDep, user: UserDep
) -> schemas.JobDetail:
    """Generate the selected planned or failed conversations as one job."""
    return _start(
        session, queue, settings, user, job_type="batch", conversation_ids=body.conversation_ids, options=body.options
    )


@router.post("/generate/process-all", response_model=schemas.JobDetail, status_code=201)
def generate_all(
    body: schemas.ProcessAllCreate, session: SessionDep, queue: QueueDep, settings: SettingsDep, user: UserDep
) -> schemas.JobDetail:
    """Generate every remaining planned conversation: Tier 1, then 2, then 3, by number (seed slots on request)."""
    return _start(
        session,
        queue,
        settings,
        user,
        job_type="process_all",
        conversation_ids=None,
        options=body.options,
        include_seed_slots=body.include_seed_slots,
    )


@router.get("/generate/estimate", response_model=schemas.Estimate)
def estimate(
    session: SessionDep,
    ids: Annotated[list[str] | None, Query(max_length=schemas.MAX_TARGETS)] = None,
    economy: bool = False,
) -> schemas.Estimate:
    """Estimated time and cost for the given conversations, or for all remaining ones."""
    conversations = selection.resolve_conversations(session, ids) if ids else selection.remaining_conversations(session)
    return service.estimate(session, conversations, economy=economy)


@router.get("/jobs", response_model=list[schemas.JobRead])
def list_jobs(session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[schemas.JobRead]:
    """Recent generation jobs, newest first."""
    return [service.job_summary(session, job) for job in service.list_jobs(session, limit=limit)]


@router.get("/jobs/{job_id}", response_model=schemas.JobDetail)
def read_job(job_id: uuid.UUID, session: SessionDep) -> schemas.JobDetail:
    """One job with its conversations and recent events."""
    return service.job_summary(session, service.get_job(session, job_id), with_details=True)


@router.post("/jobs/{job_id}/pause", response_model=schemas.JobDetail)
def pause_job(job_id: uuid.UUID, session: SessionDep, queue: QueueDep) -> schemas.JobDetail:
    """Stop queued work now; a call in flight finishes and is saved."""
    job = service.pause_job(session, queue, job_id)
    return service.job_summary(session, job, with_details=True)


@router.post("/jobs/{job_id}/resume", response_model=schemas.JobDetail)
def resume_job(job_id: uuid.UUID, session: SessionDep, queue: QueueDep) -> schemas.JobDetail:
    """Queue a paused job's remaining conversations again."""
    job = service.resume_job(session, queue, job_id)
    return service.job_summary(session, job, with_details=True)


@router.post("/jobs/{job_id}/cancel", response_model=schemas.JobDetail)
def cancel_job(job_id: uuid.UUID, session: SessionDep, queue: QueueDep) -> schemas.JobDetail:
    """Drop queued work and abort a call in flight; nothing half-written is kept."""
    job = service.cancel_job(session, queue, job_id)
    return service.job_summary(session, job, with_details=True)


@router.post("/jobs/{job_id}/retry-failed", response_model=schemas.JobDetail)
def retry_failed(job_id: uuid.UUID, session: SessionDep, queue: QueueDep) -> schemas.JobDetail:
    """Queue the job's failed conversations again."""
    job = service.retry_failed(session, queue, job_id)
    return service.job_summary(session, job, with_details=True)


@router.get("/jobs/{job_id}/log", response_class=PlainTextResponse)
def download_log(job_id: uuid.UUID, session: SessionDep) -> PlainTextResponse:
    """The job's full step log as a text file."""
    service.get_job(session, job_id)
    body = "\n".join(service.job_log_lines(session, job_id)) + "\n"
    headers = {"Content-Disposition": f'attachment; filename="job-{job_id}.log"'}
    return PlainTextResponse(body, headers=headers)


@router.get("/jobs/{job_id}/events")
def job_events(
    job_id: uuid.UUID,
    session: SessionDep,
    database: DbDep,
    last_event_id: Annotated[int, Header(ge=0)] = 0,
) -> EventSourceResponse:
    """Server-sent events: the job's step log so far, then every new step as workers record it."""
    service.get_job(session, job_id)
    return EventSourceResponse(stream_events(database.target.conninfo, job_id=job_id, after_id=last_event_id))


@router.get("/events")
def all_events(database: DbDep, user: UserDep, last_event_id: Annotated[int, Header(ge=0)] = 0) -> EventSourceResponse:
    """Server-sent events of every job, for pages that update rows as conversations complete."""
    return EventSourceResponse(stream_events(database.target.conninfo, job_id=None, after_id=last_event_id))
