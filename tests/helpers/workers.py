"""Real Procrastinate workers for tests: in a background thread of this process, or as `tds worker`
subprocesses (which can be killed the hard way)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.generation.runtime import build_runtime
from training_data_studio.jobs import make_app, run_worker_async

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class BackgroundWorker:
    """A worker running in a thread until stopped; stopping lets tasks in flight finish."""

    def __init__(self, database: Database, settings: Settings, *, concurrency: int = 2) -> None:
        self.database = database
        self.settings = settings
        self.concurrency = concurrency
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="test-worker", daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        app = make_app(self.database.target)
        async with app.open_async():
            runtime = build_runtime(self.database, self.settings, app)
            self._task = asyncio.create_task(
                run_worker_async(app, runtime, concurrency=self.concurrency, polling_interval=0.5)
            )
            self._ready.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            finally:
                await runtime.aclose()

    def __enter__(self) -> BackgroundWorker:
        self._thread.start()
        self._ready.wait(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=60)


def worker_process(conninfo: str, env: dict[str, str], *, concurrency: int = 2) -> subprocess.Popen[bytes]:
    """`tds worker` in its own process, against the test database."""
    full_env = {**os.environ, **env, "DATABASE_URL": conninfo}
    return subprocess.Popen(
        [sys.executable, "-m", "training_data_studio", "worker", "--concurrency", str(concurrency)],
        env=full_env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own, so it works even when this thread already has a running loop
    (Playwright's sync API keeps one for the whole session)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(coroutine))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="test-asyncio")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]
