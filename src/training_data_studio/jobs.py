"""The one Procrastinate app. Each feature's tasks.py declares a Blueprint; this module gathers them.

The connection string is known only at run time (the embedded server's socket lives in the data
directory), so the app is built by a function rather than at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

import procrastinate
from procrastinate.middleware import TaskMiddleware

from .core.db import DatabaseTarget

if TYPE_CHECKING:
    from .generation.runtime import Runtime

log = logging.getLogger(__name__)

# How long a worker may stay silent before other workers treat its jobs as stalled and take them over.
STALLED_WORKER_TIMEOUT_SECONDS = 20.0
# Heartbeats often enough that a dead worker is noticed well within STALLED_WORKER_TIMEOUT_SECONDS.
HEARTBEAT_SECONDS = 5.0
# How often each worker looks for tasks left running by a dead worker.
STALLED_SWEEP_SECONDS = 10.0
# How often the workers of a growing set are looked at for one that failed.
WORKERS_CHECK_SECONDS = 1.0


def blueprints() -> list[tuple[str, procrastinate.Blueprint]]:
    """Every feature's task blueprint with its namespace."""
    from .generation.tasks import make_blueprint as generation

    return [("generation", generation())]


def make_app(target: DatabaseTarget) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=target.conninfo))
    for namespace, blueprint in blueprints():
        app.add_tasks_from(blueprint, namespace=namespace)
    return app


async def retry_stalled_jobs(app: procrastinate.App, *, stalled_after: float) -> int:
    """Hand the running tasks of dead workers (no heartbeat for `stalled_after` s) back to the queue."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after))
    for job in stalled:
        log.warning("retrying task %s of a dead worker (%s)", job.id, job.task_name)
        await app.job_manager.retry_job(job)
    return len(stalled)


async def watch_stalled_jobs(app: procrastinate.App) -> None:
    """Every worker looks for dead workers' tasks at start and then periodically; retrying twice is harmless
    because a retried task finds its work done or takes over its own claim."""
    while True:
        try:
            await retry_stalled_jobs(app, stalled_after=STALLED_WORKER_TIMEOUT_SECONDS)
        except Exception:  # a failed sweep must not stop the worker; the next one tries again
            log.exception("stalled-task sweep failed")
        await asyncio.sleep(STALLED_SWEEP_SECONDS)


async def run_worker_async(
    app: procrastinate.App,
    runtime: object,
    *,
    concurrency: int,
    wait: bool = True,
    install_signal_handlers: bool = False,
    polling_interval: float = 5.0,
    task_middleware: Sequence[TaskMiddleware] = (),
    listen_notify: bool = True,
    sweep: bool = True,
) -> None:
    """Run a worker on an open app, with the stalled-task sweep beside it (``sweep``; one per process is
    enough). Without ``listen_notify`` it looks for work every ``polling_interval`` instead of listening."""
    sweeper = asyncio.create_task(watch_stalled_jobs(app)) if sweep else None
    try:
        await app.run_worker_async(
            additional_context={"runtime": runtime},
            concurrency=concurrency,
            wait=wait,
            install_signal_handlers=install_signal_handlers,
            stalled_worker_timeout=STALLED_WORKER_TIMEOUT_SECONDS,
            update_heartbeat_interval=HEARTBEAT_SECONDS,
            fetch_job_polling_interval=polling_interval,
            abort_job_polling_interval=min(polling_interval, 1.0),
            task_middleware=list(task_middleware),
            listen_notify=listen_notify,
        )
    finally:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper


async def run_workers_async(
    app: procrastinate.App,
    runtime: Runtime,
    *,
    concurrency: int | None,
    task_middleware: Sequence[TaskMiddleware] = (),
    polling_interval: float = 1.0,
) -> None:
    """Work on `concurrency` tasks at once; or, with None, on as many conversations at once as the account's
    limits keep busy (generation.capacity): workers are added as the limits call for more, each taking the
    difference, because a Procrastinate worker's concurrency is fixed when it starts. They share this
    process's runtime and pacer; only the first listens for new work and sweeps for dead workers' tasks, the
    others poll every `polling_interval`. Cancelled, every worker stops taking work and waits for the tasks it
    is running."""
    from .generation import capacity

    def worker(size: int, *, first: bool) -> asyncio.Task[None]:
        return asyncio.create_task(
            run_worker_async(
                app,
                runtime,
                concurrency=size,
                polling_interval=polling_interval,
                task_middleware=task_middleware,
                listen_notify=first,
                sweep=first,
            )
        )

    if concurrency is not None:
        await worker(concurrency, first=True)
        return
    workers: list[asyncio.Task[None]] = []
    started = 0

    def grow_to(total: int) -> None:
        nonlocal started
        workers.append(worker(total - started, first=not workers))
        started = total

    grower = asyncio.create_task(capacity.grow_with_the_limits(runtime.provider, grow_to))
    try:
        while True:
            for task in (grower, *workers):
                if task.done():
                    task.result()  # a worker that failed fails the run; the grower ends at the ceiling
            await asyncio.sleep(WORKERS_CHECK_SECONDS)
    finally:
        grower.cancel()
        for task in workers:
            task.cancel()
        await asyncio.gather(grower, *workers, return_exceptions=True)


def run_worker(target: DatabaseTarget, *, concurrency: int | None = None) -> None:
    """`tds worker`: run until SIGINT/SIGTERM, letting tasks in flight finish. Without `concurrency`, on as
    many conversations at once as the account's limits keep busy."""
    from .core.config import get_settings
    from .core.db import Database
    from .generation.runtime import build_runtime

    async def main() -> None:
        app = make_app(target)
        # Sessions are used briefly, from the default thread pool; a fixed worker may hold one per task.
        database = Database(target, pool_size=(concurrency or 6) + 2)
        async with app.open_async():
            runtime = build_runtime(database, get_settings(), app)
            workers = asyncio.create_task(run_workers_async(app, runtime, concurrency=concurrency))
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, workers.cancel)
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await workers
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)
                await runtime.aclose()
                database.dispose()

    asyncio.run(main())
