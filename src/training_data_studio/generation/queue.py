"""The generation service's JobQueue on Procrastinate: deferring item and economy tasks, scheduling batch
checks, cancelling and aborting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import procrastinate
from sqlalchemy.orm import object_session

from ..core.privileges import app_privileges
from ..models import GenerationJob, GenerationJobItem

QUEUE = "generation"
# The task's name once jobs.py has added this blueprint under the "generation" namespace.
GENERATE_TASK = "generation:generate_item"
ECONOMY_TASK = "generation:check_economy_job"


class ProcrastinateQueue:
    """The service's JobQueue on a real Procrastinate app (which must be open)."""

    def __init__(self, app: procrastinate.App) -> None:
        self.app = app

    def _transaction_of(self, rows: Sequence[object]) -> Any | None:
        """The psycopg connection of the transaction that holds the items, when this app can defer on it.

        Deferred there, the tasks reach the workers only when that transaction commits, together with the
        rows they read. Deferred through the app's own pool instead, a worker could pick a task up before
        its item was committed, find nothing, and drop it (or see the job still paused, on a resume).
        """
        session = object_session(rows[0]) if rows else None
        if session is None or not isinstance(
            self.app.connector.get_sync_connector(), procrastinate.SyncPsycopgConnector
        ):
            return None
        return session.connection().connection.driver_connection

    def enqueue(self, items: Sequence[GenerationJobItem]) -> dict[uuid.UUID, int]:
        task = self.app.tasks[GENERATE_TASK]
        connection = self._transaction_of(items)
        ids = {}
        with self._as_app(items):
            for item in items:
                # Higher priority runs first: earlier positions (Tier 1 before 2 before 3) go first.
                configured = task.configure(priority=-item.position, connection=connection)
                ids[item.id] = configured.defer(item_id=str(item.id))
        return ids

    def enqueue_economy(self, job: GenerationJob) -> int:
        connection = self._transaction_of([job])
        with self._as_app([job]):
            return self.app.tasks[ECONOMY_TASK].configure(connection=connection).defer(job_id=str(job.id))

    @contextmanager
    def _as_app(self, rows: Sequence[object]) -> Iterator[None]:
        """Queue rows are the app's: a signed-in user's transaction defers them with the app's role."""
        session = object_session(rows[0]) if rows else None
        if session is None:
            yield
            return
        with app_privileges(session):
            yield

    def schedule_batch_check(self, job_id: uuid.UUID, seconds: float) -> int:
        task = self.app.tasks[ECONOMY_TASK]
        return task.configure(schedule_in={"seconds": max(1, round(seconds))}).defer(job_id=str(job_id))

    def cancel_queued(self, queue_job_ids: Sequence[int]) -> None:
        for job_id in queue_job_ids:
            self.app.job_manager.cancel_job_by_id(job_id, abort=False)

    def abort_running(self, queue_job_ids: Sequence[int]) -> None:
        for job_id in queue_job_ids:
            self.app.job_manager.cancel_job_by_id(job_id, abort=True)
