from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from ..core.deps import DbDep, UserDep
from . import service

router = APIRouter(prefix="/api", tags=["system"])


class TableStatus(BaseModel):
    name: str
    column_count: int
    row_count: int | None


class MigrationStatus(BaseModel):
    name: str
    applied_at: datetime


class StatusRead(BaseModel):
    database_mode: str
    server_version: str
    user: str
    migrations: list[MigrationStatus]
    tables: list[TableStatus]
    live_workers: int


@router.get("/status", response_model=StatusRead)
def read_status(database: DbDep, user: UserDep) -> StatusRead:
    """Database mode, applied migrations, row counts of every table and the number of live workers."""
    # Operational metadata (migration ledger, worker heartbeats) is read as the service, not through RLS.
    with database.session_scope() as session:
        report = service.status_report(session)
    return StatusRead(
        database_mode=database.target.mode,
        server_version=report.server_version,
        user=user.id,
        migrations=[MigrationStatus(name=n, applied_at=a) for n, a in report.migrations],
        tables=[TableStatus(name=t.name, column_count=t.column_count, row_count=t.row_count) for t in report.tables],
        live_workers=report.live_workers,
    )
