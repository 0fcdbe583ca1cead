from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

# The requirements' eight tables, in the order the spec lists them.
DATASET_TABLES = (
    "training_conversations",
    "training_turns",
    "emotional_context",
    "response_strategies",
    "response_breakdowns",
    "conversation_templates",
    "generation_jobs",
    "quality_metrics",
)
# A worker that has not sent a heartbeat for this long is considered gone (Procrastinate beats every 10 s).
WORKER_STALE_AFTER_SECONDS = 30

# Each check counts child rows whose parent is missing; any non-zero count fails verification.
ORPHAN_CHECKS = {
    "turns without a conversation": """
        SELECT count(*) FROM training_turns t
        LEFT JOIN training_conversations c ON c.id = t.conversation_id WHERE c.id IS NULL""",
    "emotional context without a turn": """
        SELECT count(*) FROM emotional_context e
        LEFT JOIN training_turns t ON t.id = e.turn_id WHERE t.id IS NULL""",
    "response strategies without a turn": """
        SELECT count(*) FROM response_strategies s
        LEFT JOIN training_turns t ON t.id = s.turn_id WHERE t.id IS NULL""",
    "sentence breakdowns without a turn": """
        SELECT count(*) FROM response_breakdowns b
        LEFT JOIN training_turns t ON t.id = b.turn_id WHERE t.id IS NULL""",
    "quality metrics without a conversation": """
        SELECT count(*) FROM quality_metrics q
        LEFT JOIN training_conversations c ON c.id = q.conversation_id WHERE c.id IS NULL""",
    "turns without emotional context": """
        SELECT count(*) FROM training_turns t
        LEFT JOIN emotional_context e ON e.turn_id = t.id WHERE e.id IS NULL""",
    "turns without a response strategy": """
        SELECT count(*) FROM training_turns t
        LEFT JOIN response_strategies s ON s.turn_id = t.id WHERE s.id IS NULL""",
    "conversations whose turn_count differs from their turns": """
        SELECT count(*) FROM training_conversations c
        WHERE c.generation_status <> 'planned'
          AND c.turn_count <> (SELECT count(*) FROM training_turns t WHERE t.conversation_id = c.id)""",
}


@dataclass
class TableInfo:
    name: str
    exists: bool
    column_count: int
    row_count: int | None


@dataclass
class WorkerInfo:
    id: int
    last_heartbeat: datetime
    alive: bool


@dataclass
class CheckResult:
    name: str
    count: int

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass
class StatusReport:
    tables: list[TableInfo]
    migrations: list[tuple[str, datetime]]
    workers: list[WorkerInfo] = field(default_factory=list)
    server_version: str = ""

    @property
    def live_workers(self) -> int:
        return sum(1 for w in self.workers if w.alive)


def table_info(session: Session, tables: tuple[str, ...] = DATASET_TABLES) -> list[TableInfo]:
    infos = []
    for name in tables:
        columns = session.execute(
            text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :name"
            ),
            {"name": name},
        ).scalar_one()
        exists = columns > 0
        rows = None
        if exists:
            # `name` comes from the fixed tuple above, never from a request.
            rows = session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        infos.append(TableInfo(name, exists, int(columns), rows))
    return infos


def applied_migrations(session: Session) -> list[tuple[str, datetime]]:
    if not session.execute(text("SELECT to_regclass('tds_schema_migrations') IS NOT NULL")).scalar_one():
        return []
    rows = session.execute(text("SELECT name, applied_at FROM tds_schema_migrations ORDER BY name"))
    return [(r.name, r.applied_at) for r in rows]


def workers(session: Session) -> list[WorkerInfo]:
    if not session.execute(text("SELECT to_regclass('procrastinate_workers') IS NOT NULL")).scalar_one():
        return []
    rows = session.execute(
        text(
            "SELECT id, last_heartbeat, last_heartbeat > now() - make_interval(secs => :stale) AS alive "
            "FROM procrastinate_workers ORDER BY last_heartbeat DESC"
        ),
        {"stale": WORKER_STALE_AFTER_SECONDS},
    )
    return [WorkerInfo(r.id, r.last_heartbeat, bool(r.alive)) for r in rows]


def status_report(session: Session) -> StatusReport:
    return StatusReport(
        tables=table_info(session),
        migrations=applied_migrations(session),
        workers=workers(session),
        server_version=str(session.execute(text("SHOW server_version")).scalar_one()),
    )


def orphan_checks(session: Session) -> list[CheckResult]:
    return [CheckResult(name, int(session.execute(text(sql)).scalar_one())) for name, sql in ORPHAN_CHECKS.items()]
