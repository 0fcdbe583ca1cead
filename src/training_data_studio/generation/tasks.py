"""Queued generation work on Procrastinate. Tasks receive ids, open their own sessions and are idempotent:
a re-run after a crash finds the work done (or takes over its own claim) and carries on from there."""

from __future__ import annotations

import logging
import uuid

import procrastinate

from .batches import run_economy_job
from .flows import run_item
from .queue import QUEUE
from .runtime import Runtime

log = logging.getLogger(__name__)


async def generate_item(context: procrastinate.JobContext, item_id: str) -> None:
    """Generate, check and save the conversation of one job item."""
    runtime: Runtime = context.additional_context["runtime"]
    await run_item(runtime, uuid.UUID(item_id))


async def check_economy_job(context: procrastinate.JobContext, job_id: str) -> None:
    """Submit an economy job's Message Batch, or collect its results when it has ended."""
    runtime: Runtime = context.additional_context["runtime"]
    await run_economy_job(runtime, uuid.UUID(job_id))


def make_blueprint() -> procrastinate.Blueprint:
    """A fresh blueprint per app: Procrastinate binds a blueprint's tasks to the first app that adds them,
    and a process may hold several apps (the web server's and a worker's, or tests')."""
    blueprint = procrastinate.Blueprint()
    blueprint.task(name="generate_item", queue=QUEUE, pass_context=True)(generate_item)
    blueprint.task(name="check_economy_job", queue=QUEUE, pass_context=True)(check_economy_job)
    return blueprint
