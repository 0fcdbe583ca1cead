"""`tds bench generate`: process-all of 90 conversations against the fake Anthropic server with a real
request limit, two worker processes and real database writes.

The fake enforces 60 requests per sliding minute (429 + retry-after beyond it) and answers in 2 s ± 20%.
The best any client can do is 60 calls accepted in the first minute and the other 30 started when the window
frees at 60 s, finishing about 2 s later: roughly 62 s. The requirements' sequential approach (one call at a
time with a 30–60 s pause between calls) takes 90 × (2 s + 30…60 s) at the same service time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from sqlalchemy import select, update

from ..core.config import Settings
from ..core.db import Database, DatabaseMode
from ..core.migrate import migrate
from ..generation import schemas
from ..local_generation import start_or_resume, summary
from ..models import GenerationJob, TrainingConversation
from ..plan.seed import seed_default_data
from ..testing.fake_anthropic import FakeAnthropic
from ..testing.fake_llm import FakeConfig
from .common import append_section, fresh_database, machine_line, server_version

CONVERSATIONS = 90
REQUESTS_PER_MINUTE = 60
SERVICE_SECONDS = 2.0
SERVICE_JITTER_SECONDS = 0.4  # ± 20 %
WORKERS = 2
WORKER_CONCURRENCY = 8
# The limit's bound: 60 calls admitted at once, the rest when the first leave the window, plus service time.
BOUND_SECONDS = 60.0 + SERVICE_SECONDS
SEQUENTIAL_PAUSES = (30.0, 60.0)
TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class GenerateRun:
    label: str
    share_overloaded: float
    wall_seconds: float
    generated: int
    failed: int
    calls: int
    rate_limited: int
    overloaded: int
    max_in_flight: int
    cost_cents: Decimal


@dataclass(frozen=True)
class GenerateBenchResult:
    mode: DatabaseMode
    postgres: str
    runs: list[GenerateRun]

    def describe(self) -> str:
        clean = self.runs[0]
        seq_low, seq_high = (CONVERSATIONS * (SERVICE_SECONDS + p) for p in SEQUENTIAL_PAUSES)
        lines = [
            f"- Machine: {machine_line(self.postgres)}; database mode: {self.mode}",
            f"- Workload: {CONVERSATIONS} conversations, process-all, {WORKERS} worker processes × "
            f"{WORKER_CONCURRENCY} calls in flight (TDS_MAX_CALLS_IN_FLIGHT, per worker); budgets and 429 pauses "
            f"shared through Postgres; fake limit {REQUESTS_PER_MINUTE} requests per sliding minute, service "
            f"{SERVICE_SECONDS:.0f} s ± 20 %",
            f"- Bound set by the limit: about {BOUND_SECONDS:.0f} s; sequential approach (30–60 s pauses): "
            f"{seq_low:,.0f}–{seq_high:,.0f} s",
            "",
            "| run | wall time | vs bound | 429s | 529s | max in flight | generated | failed |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for run in self.runs:
            lines.append(
                f"| {run.label} | {run.wall_seconds:.1f} s | {run.wall_seconds / BOUND_SECONDS:.2f}× | "
                f"{run.rate_limited} | {run.overloaded} | {run.max_in_flight} | {run.generated} | {run.failed} |"
            )
        lines.append("")
        seq_mid = CONVERSATIONS * (SERVICE_SECONDS + sum(SEQUENTIAL_PAUSES) / 2)
        lines.append(
            f"- Speed-up over the sequential approach: {seq_low / clean.wall_seconds:.0f}× (30 s pauses), "
            f"{seq_mid / clean.wall_seconds:.0f}× (45 s, the middle of the range), "
            f"{seq_high / clean.wall_seconds:.0f}× (60 s pauses)"
        )
        if len(self.runs) > 1:
            extra = self.runs[1].wall_seconds / clean.wall_seconds - 1
            lines.append(f"- 10 % of calls answered 529 cost {extra:+.0%} wall time")
        lines.append(
            "- Targets: within 1.15× of the bound; at most 10 calls rejected with 429; 10 % 529s cost at most "
            "10 % more time; at least 50× faster than sequential"
        )
        return "\n".join(lines)


def _prepare(database: Database) -> None:
    migrate(database.target.conninfo)
    with database.session_scope() as session:
        seed_default_data(session, user="bench")
        # The ten seeds of the plan count as done; the 90 others are generated.
        session.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_number <= 10)
            .values(generation_status="approved")
        )


def _start_workers(conninfo: str, fake_url: str) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": conninfo,
        "ANTHROPIC_API_KEY": "bench-key",
        "ANTHROPIC_BASE_URL": fake_url,
        "TDS_ANTHROPIC_MODEL": "claude-sonnet-4-6",
        "TDS_MAX_CALLS_IN_FLIGHT": str(WORKER_CONCURRENCY),
    }
    command = [sys.executable, "-m", "training_data_studio", "worker", "--concurrency", str(WORKER_CONCURRENCY)]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(WORKERS)
    ]


def _one_run(settings: Settings, label: str, share_overloaded: float, console: Console) -> tuple[GenerateRun, str]:
    with fresh_database(settings, prefix="tds_bench_generate") as target:
        database = Database(target)
        _prepare(database)
        config = FakeConfig(
            latency_seconds=SERVICE_SECONDS,
            latency_jitter_seconds=SERVICE_JITTER_SECONDS,
            requests_per_minute=REQUESTS_PER_MINUTE,
            share_overloaded=share_overloaded,
            seed=7,
        )
        with FakeAnthropic(config) as fake:
            bench_settings = Settings(ANTHROPIC_API_KEY="bench-key")
            os.environ["ANTHROPIC_BASE_URL"] = fake.url
            workers = _start_workers(target.conninfo, fake.url)
            try:
                time.sleep(3)  # let both workers connect and register before the job exists
                started = time.monotonic()
                job_id, _ = start_or_resume(database, bench_settings, None, schemas.JobOptions(), user="bench")
                while True:
                    current = summary(database, job_id)
                    if current.status not in ("queued", "in_progress"):
                        break
                    if time.monotonic() - started > TIMEOUT_SECONDS:
                        raise TimeoutError(f"the {label} run did not finish in {TIMEOUT_SECONDS} s")
                    time.sleep(0.2)
                with database.session_scope() as session:
                    job = session.get(GenerationJob, job_id)
                    assert job is not None
                    completed_at = job.completed_at
                    assert completed_at is not None
                    started_at = session.scalar(select(GenerationJob.created_at).where(GenerationJob.id == job_id))
                    assert started_at is not None
                wall = (completed_at - started_at).total_seconds()
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(timeout=60)
            console.print(
                f"{label}: {wall:.1f} s, {fake.counters.rate_limited} × 429, {fake.counters.overloaded} × 529, "
                f"max {fake.counters.max_in_flight} in flight"
            )
            run = GenerateRun(
                label=label,
                share_overloaded=share_overloaded,
                wall_seconds=wall,
                generated=current.completed_conversations,
                failed=current.failed_conversations,
                calls=fake.counters.calls,
                rate_limited=fake.counters.rate_limited,
                overloaded=fake.counters.overloaded,
                max_in_flight=fake.counters.max_in_flight,
                cost_cents=current.total_cost_cents,
            )
        version = server_version(target.conninfo)
        database.dispose()
    return run, version


def run_generate_bench(settings: Settings, console: Console, *, with_overload: bool = True) -> GenerateBenchResult:
    runs = []
    clean, version = _one_run(settings, "no faults", 0.0, console)
    runs.append(clean)
    if with_overload:
        runs.append(_one_run(settings, "10 % of calls 529", 0.10, console)[0])
    return GenerateBenchResult(mode="server" if settings.database_url else "embedded", postgres=version, runs=runs)


def append_to_docs(result: GenerateBenchResult) -> None:
    append_section("Generation throughput (process-all against the rate-limited fake)", result.describe())
