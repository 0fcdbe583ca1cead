"""`tds bench generate`: generation of 90 conversations against the fake Anthropic server with a real
request limit and real database writes, run as a user runs it: `tds generate --all` with no flags (or, with
``workers``, process-all on two worker processes).

The fake limits requests as the API does, with a token bucket: 60 requests at once, then one a second
(429 + retry-after when it is empty), and answers in 2 s ± 20%. Each conversation is written turn by turn
(one call per turn), so the job makes C calls for 90 conversations, and no client can finish before the
C-th call has had a request: (C - 60) seconds after the start, plus one call's service time. C is counted,
not assumed. The requirements' sequential approach (one call at a time with a 30–60 s pause between calls)
takes C × (2 s + 30…60 s) at the same service time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
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
SEQUENTIAL_PAUSES = (30.0, 60.0)
TIMEOUT_SECONDS = 1800


def bound_seconds(requests: int) -> float:
    """The earliest a job of ``requests`` admitted calls can end: the bucket gives the first 60 at once and
    one a second after that, and the last call still takes its service time."""
    return max(0, requests - REQUESTS_PER_MINUTE) * 60.0 / REQUESTS_PER_MINUTE + SERVICE_SECONDS


@dataclass(frozen=True)
class GenerateRun:
    label: str
    share_overloaded: float
    wall_seconds: float
    admitted: int
    generated: int
    failed: int
    calls: int
    rate_limited: int
    overloaded: int
    max_in_flight: int
    cost_cents: Decimal

    @property
    def bound_seconds(self) -> float:
        return bound_seconds(self.admitted)

    @property
    def vs_bound(self) -> float:
        return self.wall_seconds / self.bound_seconds


@dataclass(frozen=True)
class GenerateBenchResult:
    mode: DatabaseMode
    postgres: str
    workers: bool
    runs: list[GenerateRun]

    def describe(self) -> str:
        clean = self.runs[0]
        seq_low, seq_high = (clean.admitted * (SERVICE_SECONDS + p) for p in SEQUENTIAL_PAUSES)
        how = (
            f"process-all on {WORKERS} worker processes × {WORKER_CONCURRENCY} calls in flight "
            "(TDS_MAX_CALLS_IN_FLIGHT, per worker), budgets and 429 pauses shared through Postgres"
            if self.workers
            else "`tds generate --all` with no flags (one process; calls in flight adapt to the account's headers)"
        )
        lines = [
            f"- Machine: {machine_line(self.postgres)}; database mode: {self.mode}",
            f"- Workload: {CONVERSATIONS} conversations written turn by turn (one call per turn), {how}; fake "
            f"limit {REQUESTS_PER_MINUTE} requests per minute as a token bucket (the API's: the whole limit at "
            f"once, then one every {60 / REQUESTS_PER_MINUTE:g} s), service {SERVICE_SECONDS:.0f} s ± 20 %",
            f"- Bound: (admitted calls − {REQUESTS_PER_MINUTE}) s + {SERVICE_SECONDS:.0f} s, from the calls each run "
            f"made; sequential approach (30–60 s pauses) for the first run's calls: {seq_low:,.0f}–{seq_high:,.0f} s",
            "",
            "| run | wall time | admitted calls | bound | vs bound | 429s | 529s | max in flight | generated | failed |"
            " cost |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for run in self.runs:
            lines.append(
                f"| {run.label} | {run.wall_seconds:.1f} s | {run.admitted} | {run.bound_seconds:.0f} s | "
                f"{run.vs_bound:.2f}× | {run.rate_limited} | {run.overloaded} | {run.max_in_flight} | "
                f"{run.generated} | {run.failed} | ${run.cost_cents / 100:.2f} |"
            )
        lines.append("")
        seq_mid = clean.admitted * (SERVICE_SECONDS + sum(SEQUENTIAL_PAUSES) / 2)
        lines.append(
            f"- Speed-up over the sequential approach: {seq_low / clean.wall_seconds:.0f}× (30 s pauses), "
            f"{seq_mid / clean.wall_seconds:.0f}× (45 s, the middle of the range), "
            f"{seq_high / clean.wall_seconds:.0f}× (60 s pauses)"
        )
        if len(self.runs) > 1:
            extra = self.runs[1].wall_seconds / clean.wall_seconds - 1
            lines.append(f"- 10 % of calls answered 529 cost {extra:+.0%} wall time")
        lines.append("- Targets: within 1.1× of the bound; at most 10 calls rejected with 429")
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


def _environment(conninfo: str, fake_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": conninfo,
        "ANTHROPIC_API_KEY": "bench-key",
        "ANTHROPIC_BASE_URL": fake_url,
        "TDS_ANTHROPIC_MODEL": "claude-sonnet-4-6",
    }
    env.pop("TDS_MAX_CALLS_IN_FLIGHT", None)  # the defaults are what is measured
    return env


def _start_workers(conninfo: str, fake_url: str) -> list[subprocess.Popen[bytes]]:
    env = {**_environment(conninfo, fake_url), "TDS_MAX_CALLS_IN_FLIGHT": str(WORKER_CONCURRENCY)}
    command = [sys.executable, "-m", "training_data_studio", "worker", "--concurrency", str(WORKER_CONCURRENCY)]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(WORKERS)
    ]


def _process_all_on_workers(database: Database, settings: Settings, fake_url: str) -> uuid.UUID:
    workers = _start_workers(database.target.conninfo, fake_url)
    try:
        time.sleep(3)  # let both workers connect and register before the job exists
        started = time.monotonic()
        job_id, _ = start_or_resume(database, settings, None, schemas.JobOptions(), user="bench")
        while summary(database, job_id).status in ("queued", "in_progress"):
            if time.monotonic() - started > TIMEOUT_SECONDS:
                raise TimeoutError(f"process-all did not finish in {TIMEOUT_SECONDS} s")
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    return job_id


def _generate_all_from_the_cli(database: Database, fake_url: str) -> uuid.UUID:
    command = [sys.executable, "-m", "training_data_studio", "generate", "--all"]
    subprocess.run(
        command,
        env=_environment(database.target.conninfo, fake_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=TIMEOUT_SECONDS,
        check=False,  # exit 1 when a conversation failed: the run still counts, with its failures
    )
    with database.session_scope() as session:
        job_id = session.scalar(select(GenerationJob.id).order_by(GenerationJob.created_at.desc()).limit(1))
    if job_id is None:
        raise RuntimeError("`tds generate --all` created no job")
    return job_id


def _one_run(
    settings: Settings, label: str, share_overloaded: float, console: Console, *, workers: bool
) -> tuple[GenerateRun, str]:
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
            if workers:
                job_id = _process_all_on_workers(database, Settings(ANTHROPIC_API_KEY="bench-key"), fake.url)
            else:
                job_id = _generate_all_from_the_cli(database, fake.url)
            current = summary(database, job_id)
            with database.session_scope() as session:
                job = session.get(GenerationJob, job_id)
                if job is None or job.completed_at is None:
                    raise RuntimeError(f"the {label} run did not complete: {current.status}")
                wall = (job.completed_at - job.created_at).total_seconds()
            counters = fake.counters
            admitted = counters.calls - counters.rate_limited
            console.print(
                f"{label}: {wall:.1f} s for {admitted} calls (bound {bound_seconds(admitted):.0f} s), "
                f"{counters.rate_limited} × 429, {counters.overloaded} × 529, max {counters.max_in_flight} in flight"
            )
            run = GenerateRun(
                label=label,
                share_overloaded=share_overloaded,
                wall_seconds=wall,
                admitted=admitted,
                generated=current.completed_conversations,
                failed=current.failed_conversations,
                calls=counters.calls,
                rate_limited=counters.rate_limited,
                overloaded=counters.overloaded,
                max_in_flight=counters.max_in_flight,
                cost_cents=current.total_cost_cents,
            )
        version = server_version(target.conninfo)
        database.dispose()
    return run, version


def run_generate_bench(
    settings: Settings, console: Console, *, with_overload: bool = True, workers: bool = False
) -> GenerateBenchResult:
    runs = []
    clean, version = _one_run(settings, "no faults", 0.0, console, workers=workers)
    runs.append(clean)
    if with_overload:
        runs.append(_one_run(settings, "10 % of calls 529", 0.10, console, workers=workers)[0])
    mode: DatabaseMode = "server" if settings.database_url else "embedded"
    return GenerateBenchResult(mode=mode, postgres=version, workers=workers, runs=runs)


def append_to_docs(result: GenerateBenchResult) -> None:
    title = "process-all on two workers" if result.workers else "`tds generate --all` with defaults"
    append_section(f"Generation throughput ({title}, against the rate-limited fake)", result.describe())
