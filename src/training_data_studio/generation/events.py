"""Live job events: every insert into generation_job_events is NOTIFYed on one channel; a web process listens
and streams the rows to browsers as server-sent events. Any web process sees any worker's events."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

CHANNEL = "tds_job_events"
# A comment line keeps proxies from closing an idle stream; browsers ignore it.
KEEPALIVE_SECONDS = 15.0


async def _rows_after(
    conn: psycopg.AsyncConnection[Any], job_id: uuid.UUID | None, after_id: int
) -> list[dict[str, Any]]:
    query = (
        "SELECT id, job_id, item_id, conversation_number, level, step, message, data, created_at "
        "FROM generation_job_events WHERE id > %(after)s "
    )
    params: dict[str, Any] = {"after": after_id}
    if job_id is not None:
        query += "AND job_id = %(job)s "
        params["job"] = job_id
    query += "ORDER BY id LIMIT 500"
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def _as_sse(row: dict[str, Any]) -> dict[str, str]:
    payload = {
        "id": row["id"],
        "job_id": str(row["job_id"]),
        "item_id": str(row["item_id"]) if row["item_id"] else None,
        "conversation_number": row["conversation_number"],
        "level": row["level"],
        "step": row["step"],
        "message": row["message"],
        "data": row["data"],
        "created_at": row["created_at"].isoformat(),
    }
    return {"id": str(row["id"]), "event": "job_event", "data": json.dumps(payload)}


async def stream_events(conninfo: str, *, job_id: uuid.UUID | None, after_id: int = 0) -> AsyncIterator[dict[str, str]]:
    """Yield stored events after `after_id`, then new ones as workers write them, until the client leaves."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as listener:
        await listener.execute(f"LISTEN {CHANNEL}")
        last = after_id
        for row in await _rows_after(listener, job_id, last):
            last = row["id"]
            yield _as_sse(row)
        while True:
            woke = False
            async for _ in listener.notifies(timeout=KEEPALIVE_SECONDS, stop_after=1):
                woke = True
            if not woke:
                yield {"comment": "keepalive"}
                continue
            # Several notifications may have arrived; one query after the last seen id catches up on all.
            for row in await _rows_after(listener, job_id, last):
                last = row["id"]
                yield _as_sse(row)
