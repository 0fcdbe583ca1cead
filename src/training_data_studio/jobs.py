"""The one Procrastinate app. Each feature's tasks.py declares a Blueprint; this module gathers them.

The connection string is known only at run time (the embedded server's socket lives in the data
directory), so the app is built by a function rather than at import time.
"""

from __future__ import annotations

import procrastinate

from .core.db import DatabaseTarget

# How long a worker may stay silent before other workers treat its jobs as stalled and take them over.
STALLED_WORKER_TIMEOUT_SECONDS = 30.0


def blueprints() -> list[tuple[str, procrastinate.Blueprint]]:
    """Every feature's task blueprint with its namespace."""
    return []


def make_app(target: DatabaseTarget) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=target.conninfo))
    for namespace, blueprint in blueprints():
        app.add_tasks_from(blueprint, namespace=namespace)
    return app


def run_worker(target: DatabaseTarget, *, concurrency: int = 4, name: str | None = None) -> None:
    app = make_app(target)
    with app.open():
        app.run_worker(
            concurrency=concurrency,
            name=name,
            install_signal_handlers=True,
            stalled_worker_timeout=STALLED_WORKER_TIMEOUT_SECONDS,
        )
