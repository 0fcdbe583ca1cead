"""`tds bench import`: seed-import throughput on a fresh database.

The parseable upstream seed files are imported `copies` times with their conversation and pair ids
rewritten (``<id>_b001`` ...), so every copy is a new conversation: with the 9 real files and 100 copies,
900 conversations and 3,500 turns. Each copy of the file set is one run (one transaction, one savepoint
per file) through `import_sources`, exactly as `tds import` does it; parsing, validation and the computed
quality checks (every check of quality/checks, one quality_metrics row per conversation) are part of the
measured time. The turns and quality rows are counted in the database afterwards: the rate is of turns
actually written.

Embedded mode (no DATABASE_URL): a fresh database is created on the embedded server and dropped afterwards.
Server mode: the DATABASE_URL database is used as given; point it at a fresh, empty database.
"""

from __future__ import annotations

import json
import os
import platform
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ..core.config import Settings
from ..core.db import Database, DatabaseMode, DatabaseTarget, check_connection, parse_database_url
from ..core.embedded import start_embedded
from ..core.errors import AppError
from ..core.migrate import migrate
from ..imports.parsing import SeedSource, parse_source
from ..imports.schemas import ImportOptions
from ..imports.service import import_sources
from ..models import QualityMetrics, TrainingConversation, TrainingTurn
from ..quality.checks import ALL_CHECKS

DOCS_FILE = Path(__file__).resolve().parents[3] / "docs" / "benchmarks.md"
TARGET_TURNS_PER_SECOND = 500


@dataclass(frozen=True)
class ImportBenchResult:
    mode: DatabaseMode
    server_version: str
    files: int
    copies: int
    conversations: int
    turns: int
    sentences: int
    seconds: float
    parse_seconds: float
    errors: int
    client_cpu_seconds: float
    server_cpu_seconds: float | None
    load_average: tuple[float, float]
    # Counted in the database after the run.
    turns_written: int
    quality_rows: int

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    @property
    def complete(self) -> bool:
        """Every reported turn is in the database, and every conversation has its quality_metrics row."""
        return self.turns_written == self.turns and self.quality_rows == self.conversations

    @property
    def met_target(self) -> bool:
        return self.errors == 0 and self.complete and self.turns_per_second >= TARGET_TURNS_PER_SECOND

    @property
    def written_note(self) -> str:
        return f"{self.turns_written} turns and {self.quality_rows} quality_metrics rows counted in the database"

    @property
    def cpu_note(self) -> str:
        per_turn = 1000 / self.turns if self.turns else 0.0
        server = (
            f", server {self.server_cpu_seconds * per_turn:.2f} ms"
            if self.server_cpu_seconds is not None
            else " (server CPU not measurable)"
        )
        return f"CPU per turn: client {self.client_cpu_seconds * per_turn:.2f} ms{server}"

    def describe(self) -> str:
        verdict = "met" if self.met_target else "NOT met"
        return (
            f"{self.mode} database (PostgreSQL {self.server_version}): {self.files} files x {self.copies} copies = "
            f"{self.conversations} conversations, {self.turns} turns, {self.sentences} sentence breakdowns in "
            f"{self.seconds:.2f} s -> {self.turns_per_second:,.0f} turns/s "
            f"({self.conversations / self.seconds:,.0f} conversations/s); parsing + validation alone "
            f"{self.parse_seconds:.2f} s; all {len(ALL_CHECKS)} quality checks per conversation; {self.cpu_note}; "
            f"load average {self.load_average[0]:.1f} -> {self.load_average[1]:.1f}; {self.written_note}; "
            f"errors {self.errors}; "
            f"target >= {TARGET_TURNS_PER_SECOND} turns/s {verdict}"
        )


def load_seed_documents(seeds: Path) -> list[tuple[str, dict[str, Any]]]:
    """The fully annotated seed files of the folder (one conversation per file, the layout of files 01-09) that
    parse and validate as they are (no repair); the later layouts have their own row (v4_import_bench)."""
    if not seeds.is_dir():
        raise AppError("bench_seeds", f"Seed folder {seeds} does not exist (use --seeds).")
    documents = []
    for path in sorted(seeds.glob("*.json")):
        parsed = parse_source(SeedSource.from_path(path))
        annotated = parsed.ok and parsed.layout == "single" and not any(doc.missing_blocks() for doc in parsed.docs)
        if annotated:
            documents.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    if not documents:
        raise AppError("bench_seeds", f"No valid seed file in {seeds}.")
    return documents


def _rewrite_ids(node: Any, suffix: str, ids: set[str]) -> Any:
    """Append ``suffix`` to every string equal to a conversation or pair id, wherever it occurs."""
    if isinstance(node, dict):
        return {key: _rewrite_ids(value, suffix, ids) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_ids(value, suffix, ids) for value in node]
    if isinstance(node, str) and node in ids:
        return node + suffix
    return node


def copy_sources(documents: list[tuple[str, dict[str, Any]]], copy: int) -> list[SeedSource]:
    suffix = f"_b{copy:03d}"
    sources = []
    for name, document in documents:
        pairs = document.get("training_pairs") or [
            pair for block in document.get("conversations", []) for pair in block["training_pairs"]
        ]
        ids = {pair["conversation_id"] for pair in pairs} | {pair["id"] for pair in pairs}
        data = json.dumps(_rewrite_ids(document, suffix, ids), ensure_ascii=False).encode("utf-8")
        sources.append(SeedSource.from_bytes(f"{name}#{copy}", data))
    return sources


def _fresh_target(settings: Settings) -> tuple[DatabaseTarget, str | None, str | None]:
    """(target, admin conninfo, database to drop afterwards)."""
    if settings.database_url:
        return DatabaseTarget("server", parse_database_url(settings.database_url)), None, None
    admin = start_embedded(settings.data_dir)
    name = f"tds_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin).set(database=name)
    return DatabaseTarget("embedded", parse_database_url(url.render_as_string(hide_password=False))), admin, name


def run_import_bench(*, seeds: Path, copies: int, settings: Settings, console: Console) -> ImportBenchResult:
    documents = load_seed_documents(seeds)
    all_sources = [copy_sources(documents, copy) for copy in range(1, copies + 1)]

    parse_started = time.perf_counter()
    for sources in all_sources:
        for source in sources:
            parse_source(source)
    parse_seconds = time.perf_counter() - parse_started

    target, admin, drop = _fresh_target(settings)
    try:
        check_connection(target)
        migrate(target.conninfo)
        database = Database(target, pool_size=1)
        try:
            with database.session_scope() as session:
                taken = session.execute(
                    select(func.count())
                    .select_from(TrainingConversation)
                    .where(TrainingConversation.conversation_id.like("%\\_b001"))
                ).scalar_one()
                server_version = str(session.connection().exec_driver_sql("SHOW server_version").scalar_one())
            if taken:
                raise AppError(
                    "bench_not_fresh", "The database already holds benchmark conversations: use a fresh database."
                )
            console.print(f"importing {len(documents)} files x {copies} copies into {target.describe()}")
            conversations = turns = sentences = errors = 0
            load_before = os.getloadavg()[0]
            with database.session_scope() as session:
                backend = int(session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            server_before = _process_cpu_seconds(backend)
            client_before = time.process_time()
            started = time.perf_counter()
            for sources in all_sources:
                with database.session_scope() as session:
                    summary = import_sources(
                        session=session, inputs=sources, user="bench", options=ImportOptions(source="bench")
                    )
                conversations += summary.totals.conversations
                turns += summary.totals.turns
                sentences += summary.totals.sentences
                errors += summary.totals.errors
            seconds = time.perf_counter() - started
            client_cpu = time.process_time() - client_before
            server_after = _process_cpu_seconds(backend)
            server_cpu = (
                server_after - server_before if server_after is not None and server_before is not None else None
            )
            load_after = os.getloadavg()[0]
            with database.session_scope() as session:
                turns_written = session.execute(select(func.count()).select_from(TrainingTurn)).scalar_one()
                quality_rows = session.execute(
                    select(func.count()).select_from(QualityMetrics).where(QualityMetrics.checks.is_not(None))
                ).scalar_one()
        finally:
            database.dispose()
    finally:
        if admin and drop:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(drop)))
    return ImportBenchResult(
        mode=target.mode,
        server_version=server_version,
        files=len(documents),
        copies=copies,
        conversations=conversations,
        turns=turns,
        sentences=sentences,
        seconds=seconds,
        parse_seconds=parse_seconds,
        errors=errors,
        client_cpu_seconds=client_cpu,
        server_cpu_seconds=server_cpu,
        load_average=(load_before, load_after),
        turns_written=turns_written,
        quality_rows=quality_rows,
    )


def _process_cpu_seconds(pid: int) -> float | None:
    """CPU time of a local process (the server backend on this machine), or None where it cannot be read.

    The benchmark's single connection is one backend process (pool of 1), so its CPU is the server's work."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def append_to_docs(result: ImportBenchResult, path: Path = DOCS_FILE) -> Path:
    """Append a dated section with the machine and the figures (the file is created with a title)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Benchmarks\n", encoding="utf-8")
    now = datetime.now(UTC)
    section = f"""
## Seed import ({result.mode} database), {now:%Y-%m-%d %H:%M} UTC

- Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL \
{result.server_version}
- Load average: {result.load_average[0]:.1f} at the start, {result.load_average[1]:.1f} at the end (other work on \
the machine shares its CPUs)
- Workload: `tds bench import`: {result.files} upstream files x {result.copies} copies with rewritten ids =
  {result.conversations} conversations, {result.turns} turns, {result.sentences} sentence breakdowns; one run
  (transaction) per copy, one savepoint per file, parsing, validation and the quality checks included
- Quality checks: all {len(ALL_CHECKS)} computed checks run on every conversation, as on every `tds import`;
  {result.written_note}
- Result: **{result.turns_per_second:,.0f} turns/s** ({result.conversations / result.seconds:,.0f} \
conversations/s, {result.seconds:.2f} s in total; parsing + validation alone {result.parse_seconds:.2f} s);
  errors: {result.errors}
- {result.cpu_note}
- Target: >= {TARGET_TURNS_PER_SECOND} turns/s: {"met" if result.met_target else "NOT met"}
"""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return path
