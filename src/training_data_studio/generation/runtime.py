"""What a worker process shares between its generation tasks: the database, the configured provider behind
the shared pacer, and the queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.config import Settings
from ..core.db import Database
from ..llm.base import Provider
from ..llm.factory import GenerationUnavailable, provider_from_settings
from ..llm.pacing import PacedProvider, Pacer
from ..llm.shared_pacing import PostgresPacingStore
from . import service
from .queue import ProcrastinateQueue


@dataclass
class Runtime:
    """What a worker process shares between tasks."""

    database: Database
    settings: Settings
    provider: Provider | None  # None: generation is not configured; items fail with the reason
    queue: service.JobQueue
    on_close: list[Callable[[], None]] = field(default_factory=list)

    async def aclose(self) -> None:
        """Release the HTTP client and the pacing connections."""
        if self.provider is not None:
            await self.provider.aclose()
        for close in self.on_close:
            close()


def build_runtime(database: Database, settings: Settings, app: Any) -> Runtime:
    """A worker's runtime: its database, the configured provider behind the shared pacer, its queue."""
    try:
        base = provider_from_settings(settings)
    except GenerationUnavailable:
        return Runtime(database=database, settings=settings, provider=None, queue=ProcrastinateQueue(app))
    # Budgets, 429 blocks and the optional total cap are shared with every other worker through Postgres.
    store = PostgresPacingStore(database.target.conninfo, base.name, max_in_flight=settings.max_calls_in_flight_total)
    provider = PacedProvider(base, Pacer.from_settings(settings, store=store))
    return Runtime(
        database=database, settings=settings, provider=provider, queue=ProcrastinateQueue(app), on_close=[store.close]
    )
