"""`tds bench ui`: the Matrix and a job dashboard in headless Chromium, with 100 and with 10,000 conversations.

For each size: a fresh database (`fresh_database`), migrated, loaded in SQL as `tds bench db` does (seeded, so
every run loads the same rows), one generation job created with the service (no worker runs it); then the app
is served by `python -m training_data_studio serve` in its own process and Chromium (Playwright) measures:

* cold load: a new browser context (empty cache) goes to `/`; from the start of the navigation until
  DOMContentLoaded has fired and the first table row is visible;
* filter change: the persona filter changes (HTMX request, the results block swapped) until the new table is in
  the page;
* detail open: a click on a row's View until the slide-over's content is visible;
* job event: a row inserted into generation_job_events (committed by this process, as a worker would) until
  its line appears in the open dashboard's step log (NOTIFY, the server-sent event, the htmx SSE extension).

Each measure: 2 warm-up runs, then `runs` timed ones; p50 and p95 in milliseconds, measured by this process's
clock around the Playwright calls (so they include a few milliseconds of Playwright's own round trips).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psycopg
from rich.console import Console

from ..conversations import selection
from ..core.config import Settings
from ..core.db import Database, DatabaseTarget
from ..core.errors import AppError
from ..core.migrate import migrate
from ..generation import schemas, service
from .common import append_section, fresh_database, machine_line, server_version
from .db_bench import load_rows

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SIZES = (100, 10_000)
RUNS = 20
WARMUPS = 2
CHROMIUM = os.environ.get("TDS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
STARTUP_SECONDS = 60
STEP_TIMEOUT_MS = 15_000
# TR-TRAIN-005, in milliseconds.
TARGETS_MS = {"cold_load": 2000.0, "filter": 500.0, "detail": 1000.0, "job_event": 200.0}
LABELS = {
    "cold_load": "Cold load of / (navigation → DOMContentLoaded + first row visible)",
    "filter": "Filter change → updated table",
    "detail": "Detail open (click View → slide-over content visible)",
    "job_event": "Job event → log line visible on the dashboard",
}
ROW = "#matrix-table tbody tr[data-conversation]"
PERSONAS = ("Marcus", "Jennifer", "David", "Mixed")


@dataclass
class SizeResult:
    conversations: int
    samples_ms: dict[str, list[float]] = field(default_factory=dict)

    def p50(self, measure: str) -> float:
        return statistics.median(self.samples_ms[measure])

    def p95(self, measure: str) -> float:
        return statistics.quantiles(self.samples_ms[measure], n=100, method="inclusive")[94]


@dataclass
class UiBenchResult:
    mode: str
    postgres: str
    runs: int
    sizes: list[SizeResult]

    def met(self, measure: str) -> bool:
        return all(size.p95(measure) < TARGETS_MS[measure] for size in self.sizes)

    def describe(self) -> str:
        lines = [f"{self.mode} database (PostgreSQL {self.postgres}), {self.runs} timed runs per measure"]
        for measure, label in LABELS.items():
            figures = "; ".join(
                f"{s.conversations:,}: p50 {s.p50(measure):.0f} ms, p95 {s.p95(measure):.0f} ms" for s in self.sizes
            )
            verdict = "met" if self.met(measure) else "NOT met"
            lines.append(f"  {label}: {figures} (target < {TARGETS_MS[measure]:.0f} ms: {verdict})")
        return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(target: DatabaseTarget, workdir: Path) -> Iterator[str]:
    """The app in its own process on the benchmark database, until the block ends."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SUPABASE_JWT_SECRET",)}
    env |= {"DATABASE_URL": target.conninfo, "TDS_LOG_LEVEL": "warning", "TDS_USER": "bench"}
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "training_data_studio", "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise AppError("bench_app_exited", f"The app exited before serving; see {log}.")
            try:
                if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AppError("bench_app_timeout", f"The app did not answer within {STARTUP_SECONDS} s; see {log}.")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # uvicorn's clean exit
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _create_job(target: DatabaseTarget) -> uuid.UUID:
    """A job over five planned conversations, as the API creates it; nothing is queued (no worker runs)."""
    database = Database(target, pool_size=1)
    try:
        with database.session_scope() as session:
            conversations = selection.remaining_conversations(session)[:5]
            job = service.create_job(
                session,
                job_type="batch",
                conversations=conversations,
                options=schemas.JobOptions(),
                user="bench",
                provider="anthropic",
                model="bench",
            )
            return job.id
    finally:
        database.dispose()


def _timed(samples: list[float], run: int, started: float) -> None:
    if run >= WARMUPS:
        samples.append((time.perf_counter() - started) * 1000)


def _cold_loads(browser: Browser, url: str, runs: int) -> list[float]:
    samples: list[float] = []
    for run in range(WARMUPS + runs):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{url}/", wait_until="domcontentloaded", timeout=STEP_TIMEOUT_MS)
        page.wait_for_selector(ROW, state="visible", timeout=STEP_TIMEOUT_MS)
        _timed(samples, run, started)
        context.close()
    return samples


def _filter_changes(page: Page, url: str, runs: int) -> list[float]:
    samples: list[float] = []
    page.goto(f"{url}/", wait_until="domcontentloaded")
    page.wait_for_selector(ROW, state="visible")
    for run in range(WARMUPS + runs):
        # The table is marked; the swap replaces it with an unmarked one.
        page.evaluate("document.querySelector('#matrix-table').dataset.stale = '1'")
        started = time.perf_counter()
        page.select_option("#f-persona", PERSONAS[run % len(PERSONAS)])
        page.wait_for_function(
            "(() => { const t = document.querySelector('#matrix-table'); return t && !t.dataset.stale; })()",
            polling="raf",
            timeout=STEP_TIMEOUT_MS,
        )
        _timed(samples, run, started)
    return samples


def _detail_opens(page: Page, url: str, runs: int) -> list[float]:
    samples: list[float] = []
    page.goto(f"{url}/", wait_until="domcontentloaded")
    page.wait_for_selector(ROW, state="visible")
    views = page.locator(f"{ROW} [data-open-detail]")
    for run in range(WARMUPS + runs):
        view = views.nth(run % 10)
        started = time.perf_counter()
        view.click()
        page.wait_for_selector("#slide-over[open] #detail-title", state="visible", timeout=STEP_TIMEOUT_MS)
        _timed(samples, run, started)
        page.keyboard.press("Escape")
        page.wait_for_selector("#slide-over[open]", state="detached", timeout=STEP_TIMEOUT_MS)
    return samples


def _job_events(page: Page, url: str, target: DatabaseTarget, job_id: uuid.UUID, runs: int) -> list[float]:
    samples: list[float] = []
    page.goto(f"{url}/jobs/{job_id}", wait_until="domcontentloaded")
    page.wait_for_selector("#job-log .log-line", state="attached")
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        for run in range(WARMUPS + runs):
            message = f"bench event {run} {uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            conn.execute(
                "INSERT INTO generation_job_events (job_id, level, step, message) VALUES (%s, 'info', 'bench', %s)",
                (job_id, message),
            )
            page.wait_for_function(
                f"document.getElementById('job-log').textContent.includes({message!r})",
                polling="raf",
                timeout=STEP_TIMEOUT_MS,
            )
            _timed(samples, run, started)
            time.sleep(0.35)  # past the dashboard's 300 ms re-render throttle, so runs do not overlap
    return samples


def _measure_size(browser: Browser, settings: Settings, console: Console, size: int, runs: int) -> SizeResult:
    result = SizeResult(conversations=size)
    with fresh_database(settings, prefix="tds_bench_ui") as target:
        migrate(target.conninfo)
        load_rows(target.conninfo, size)
        job_id = _create_job(target)
        with tempfile.TemporaryDirectory(prefix="tds-bench-ui-") as workdir, _serve(target, Path(workdir)) as url:
            console.print(f"{size:,} conversations: measuring ({runs} runs each)")
            result.samples_ms["cold_load"] = _cold_loads(browser, url, runs)
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            try:
                result.samples_ms["filter"] = _filter_changes(page, url, runs)
                result.samples_ms["detail"] = _detail_opens(page, url, runs)
                result.samples_ms["job_event"] = _job_events(page, url, target, job_id, runs)
            finally:
                context.close()
    return result


def run_ui_bench(
    settings: Settings, console: Console, *, sizes: tuple[int, ...] = SIZES, runs: int = RUNS
) -> UiBenchResult:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        raise AppError("bench_no_chromium", f"No Chromium at {CHROMIUM}: install chromium or set TDS_CHROMIUM.")
    results = []
    with fresh_database(settings, prefix="tds_bench_ui_probe") as probe:
        mode, postgres = probe.mode, server_version(probe.conninfo)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size in sizes:
                results.append(_measure_size(browser, settings, console, size, runs))
        finally:
            browser.close()
    return UiBenchResult(mode=mode, postgres=postgres, runs=runs, sizes=results)


def append_to_docs(result: UiBenchResult) -> Path:
    header = " | ".join(f"{s.conversations:,} conversations: p50 / p95" for s in result.sizes)
    rows = []
    for measure, label in LABELS.items():
        cells = " | ".join(f"{s.p50(measure):.0f} / {s.p95(measure):.0f} ms" for s in result.sizes)
        verdict = "met" if result.met(measure) else "**NOT met**"
        rows.append(f"| {label} | < {TARGETS_MS[measure]:.0f} ms | {cells} | {verdict} |")
    separator = " | ".join("---" for _ in result.sizes)
    body = f"""
- Machine: {machine_line(result.postgres)}; load average {os.getloadavg()[0]:.2f} at the end (a shared machine)
- Workload: `tds bench ui`: the app served by `python -m training_data_studio serve` ({result.mode} database),
  headless Chromium through Playwright; conversations loaded in SQL as `tds bench db` does; per measure
  {WARMUPS} warm-up runs, then {result.runs} timed runs, timed by the benchmark's clock around the Playwright
  calls (a few ms of Playwright round trips included). Target is on p95.

| Measure | Target | {header} | Target met |
| --- | --- | {separator} | --- |
{chr(10).join(rows)}
"""
    return append_section(f"Browser timings ({result.mode} database)", body)
