"""`tds serve`, `tds worker` and `tds run` (both, with the database migrated and seeded)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Annotated, NoReturn

import typer

from ..core.config import get_settings
from .common import app, clear_errors, connected_database, console, migrate_database


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Migrate, then serve the web app."""
    import uvicorn

    from ..app import create_app

    settings = get_settings()
    with clear_errors():
        database = connected_database()
        migrate_database(database)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Training Data Studio on http://{bind_host}:{bind_port} ({database.target.mode} database)")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(create_app(settings, database), host=bind_host, port=bind_port, log_level=settings.log_level)


def _exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    """After a graceful shutdown uvicorn raises the signal it stopped on again. SIGTERM's default action would
    then end the process on the spot: no `finally`, no exit handlers, so `tds run`'s worker and the embedded
    server it started would be left running. Exiting with the usual 128 + signal code runs them."""
    raise SystemExit(128 + signum)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=128,
            help="Tasks run at once in this process (default: as many conversations as the account's limits "
            "keep busy, found from the replies' headers).",
        ),
    ] = None,
) -> None:
    """Run a background worker against the same Postgres (start as many as you like, anywhere)."""
    from ..jobs import run_worker

    with clear_errors():
        database = connected_database()
        migrate_database(database)
        target = database.target
        database.dispose()
    console.print(f"worker started ({target.mode} database)")
    run_worker(target, concurrency=concurrency)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Everything `make run` needs: migrate, seed an empty database, start one worker and the web app."""
    from ..plan.seed import seed_default_data

    with clear_errors():
        database = connected_database()
        migrate_database(database)
        with database.session_scope() as session:
            summary = seed_default_data(session, user=get_settings().user, only_if_empty=True)
        console.print(summary.describe())
        database.dispose()
    worker_process = subprocess.Popen([sys.executable, "-m", "training_data_studio", "worker"], env=os.environ.copy())
    try:
        serve(host=host, port=port)
    finally:
        worker_process.terminate()
        worker_process.wait(timeout=30)
