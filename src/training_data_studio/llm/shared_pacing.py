"""The pacing state shared by every worker through Postgres: one `provider_rate_state` row per provider,
changed under SELECT … FOR UPDATE, and, when TDS_MAX_CALLS_IN_FLIGHT_TOTAL is set, a fixed number of
calls-in-flight slots held as advisory locks (released by Postgres itself if a worker dies mid-call)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import fields

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from .pacing import PacingState

# How often a caller looks for a free slot while all are taken: short next to a call that takes seconds.
SLOT_POLL_SECONDS = 0.05
_COLUMNS = [f.name for f in fields(PacingState) if f.name != "updated_at"]


def _slot_base(provider: str) -> int:
    """Advisory-lock keys of this provider's slots: a stable 32-bit base from its name."""
    return int.from_bytes(hashlib.sha256(f"tds-slots:{provider}".encode()).digest()[:4], "big") << 8


class PostgresPacingStore:
    def __init__(self, conninfo: str, provider: str, *, max_in_flight: int | None = None) -> None:
        self.conninfo = conninfo
        self.provider = provider
        self.max_in_flight = max_in_flight
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True)
        self._slot_base = _slot_base(provider)

    def close(self) -> None:
        self._pool.close()

    def _update_sync(self, change: Callable[[PacingState], PacingState]) -> PacingState:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO provider_rate_state (provider) VALUES (%s) ON CONFLICT (provider) DO NOTHING",
                (self.provider,),
            )
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute("SELECT * FROM provider_rate_state WHERE provider = %s FOR UPDATE", (self.provider,))
                row = cur.fetchone()
            assert row is not None
            new = change(PacingState.from_row(row))
            assignments = ", ".join(f"{name} = %({name})s" for name in _COLUMNS)
            conn.execute(
                f"UPDATE provider_rate_state SET {assignments}, updated_at = now() WHERE provider = %(provider)s",
                {**{name: getattr(new, name) for name in _COLUMNS}, "provider": self.provider},
            )
            return new

    async def update(self, change: Callable[[PacingState], PacingState]) -> PacingState:
        return await asyncio.to_thread(self._update_sync, change)

    def snapshot(self) -> PacingState:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM provider_rate_state WHERE provider = %s", (self.provider,))
            row = cur.fetchone()
        return PacingState.from_row(row) if row else PacingState()

    def replace(self, state: PacingState) -> None:
        self._update_sync(lambda _: state)

    def slot(self) -> AbstractAsyncContextManager[None]:
        return self._slot() if self.max_in_flight is not None else nullcontext()

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        assert self.max_in_flight is not None
        conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        try:
            held = None
            while held is None:
                for index in range(self.max_in_flight):
                    key = self._slot_base + index
                    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                    got = await cur.fetchone()
                    if got and got[0]:
                        held = key
                        break
                if held is None:
                    await asyncio.sleep(SLOT_POLL_SECONDS)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (held,))
        finally:
            await conn.close()
