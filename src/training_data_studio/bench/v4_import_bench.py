"""The v4 row of `tds bench import`: a training file of the size of the user's real ones (bench/v4_file.py:
72 conversations, 447 pairs: 216 exchanges, 216 half pairs merged into them and 15 open endings;
3.75 MB) imported through the CLI and through the
Import page, each into a fresh database.

* CLI: `python -m training_data_studio import <file>` in its own process, as the user runs it; the wall time
  from the start of the process to its exit (interpreter start-up and connecting included).
* Import page: the app (``create_app``) in this process, driven over HTTP by a test client as the browser
  drives it: the upload (POST /import), then the progress panel polled every 50 ms until it shows the summary;
  the wall time from the upload to the summary. The conversations checked along the way are counted from the
  panels (the per-conversation progress lines).

Both files hold the same shape with different UUIDs. After each, the conversations, turns and quality rows are
counted in the database: the time is of an import that wrote everything.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from ..core.config import Settings
from ..core.db import Database, DatabaseTarget
from ..core.migrate import migrate
from ..models import QualityMetrics, TrainingConversation, TrainingTurn
from .common import append_section, fresh_database, machine_line, server_version
from .v4_file import build_training_file, load_v4_example, training_file_bytes

TARGET_SECONDS = 5.0
# The origin the test client presents (the app's own host, as the browser sees it).
ORIGIN = "http://127.0.0.1:8000"
POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 300
_POLL = re.compile(r'hx-get="(/import/progress/[^"]+)"')
_CHECKED = re.compile(r"Checked conversation (\d+) of (\d+) of this file")


@dataclass(frozen=True)
class V4Counts:
    conversations: int
    turns: int
    quality_rows: int


@dataclass(frozen=True)
class V4ImportResult:
    mode: str
    server_version: str
    file_bytes: int
    conversations: int
    pairs: int
    exchanges: int
    cli_seconds: float
    cli_exit_code: int
    cli_written: V4Counts
    page_seconds: float
    page_progress_lines: int
    page_written: V4Counts
    load_average: tuple[float, float]

    def _complete(self, written: V4Counts) -> bool:
        return written == V4Counts(self.conversations, self.exchanges, self.conversations)

    @property
    def cli_met(self) -> bool:
        return self.cli_exit_code == 0 and self._complete(self.cli_written) and self.cli_seconds < TARGET_SECONDS

    @property
    def page_met(self) -> bool:
        return self._complete(self.page_written) and self.page_seconds < TARGET_SECONDS

    def describe(self) -> str:
        return (
            f"v4 training file, {self.mode} database (PostgreSQL {self.server_version}): "
            f"{self.file_bytes / 1e6:.2f} MB, "
            f"{self.conversations} conversations, {self.pairs} pairs -> {self.exchanges} exchanges; "
            f"CLI {self.cli_seconds:.2f} s (exit {self.cli_exit_code}, {self.cli_written}); Import page "
            f"{self.page_seconds:.2f} s ({self.page_progress_lines} per-conversation progress panels seen, "
            f"{self.page_written}); target < {TARGET_SECONDS:.0f} s: CLI {'met' if self.cli_met else 'NOT met'}, "
            f"page {'met' if self.page_met else 'NOT met'}"
        )


def _counts(target: DatabaseTarget) -> V4Counts:
    database = Database(target, pool_size=1)
    try:
        with database.session_scope() as session:
            return V4Counts(
                conversations=session.execute(select(func.count()).select_from(TrainingConversation)).scalar_one(),
                turns=session.execute(select(func.count()).select_from(TrainingTurn)).scalar_one(),
                quality_rows=session.execute(
                    select(func.count()).select_from(QualityMetrics).where(QualityMetrics.checks.is_not(None))
                ).scalar_one(),
            )
    finally:
        database.dispose()


def _run_cli(target: DatabaseTarget, path: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "DATABASE_URL", "SUPABASE_"))}
    env.update(DATABASE_URL=target.conninfo, TDS_USER="bench", NO_COLOR="1")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "training_data_studio", "import", str(path)],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return time.perf_counter() - started, result.returncode


def _run_page(target: DatabaseTarget, name: str, content: bytes) -> tuple[float, int]:
    from fastapi.testclient import TestClient

    from ..app import create_app
    from ..core.csrf import COOKIE

    database = Database(target)
    settings = Settings(TDS_USER="bench")
    seen: set[int] = set()
    try:
        with TestClient(create_app(settings, database), base_url=ORIGIN) as client:
            # As a browser: the page gives the CSRF token (a cookie), the upload sends it back from the same origin.
            client.get("/import").raise_for_status()
            token = client.cookies.get(COOKIE) or ""
            headers = {"HX-Request": "true", "Origin": ORIGIN, "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": token}
            started = time.perf_counter()
            panel = client.post("/import", files=[("files", (name, content, "application/json"))], headers=headers)
            panel.raise_for_status()
            if _POLL.search(panel.text) is None:
                raise RuntimeError(f"the Import page did not start the import: {panel.text[:300]}")
            text = panel.text
            while (match := _POLL.search(text)) is not None:
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise TimeoutError(f"the Import page did not finish within {TIMEOUT_SECONDS} s")
                time.sleep(POLL_SECONDS)
                polled = client.get(html.unescape(match.group(1)), headers=headers)
                if polled.status_code == 200:
                    text = polled.text
                    seen.update(int(found.group(1)) for found in _CHECKED.finditer(text))
            seconds = time.perf_counter() - started
    finally:
        database.dispose()
    return seconds, len(seen)


def run_v4_import_bench(*, seeds: Path, settings: Settings, console: Console) -> V4ImportResult:
    example = load_v4_example(seeds)
    shape = build_training_file(example)
    blocks = shape["conversations"]
    pairs = sum(len(block["training_pairs"]) for block in blocks)
    exchanges = sum(1 for block in blocks for pair in block["training_pairs"] if pair.get("target_response"))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tds-bench-v4-") as folder:
        cli_file = Path(folder) / "training_file_v4.json"
        cli_file.write_bytes(training_file_bytes(example))
        with fresh_database(settings, prefix="tds_bench_v4") as target:
            migrate(target.conninfo)
            version = server_version(target.conninfo)
            console.print(
                f"v4: importing {cli_file.stat().st_size / 1e6:.2f} MB with `tds import` into {target.describe()}"
            )
            cli_seconds, exit_code = _run_cli(target, cli_file)
            cli_written = _counts(target)
        page_content = training_file_bytes(example)
        with fresh_database(settings, prefix="tds_bench_v4") as target:
            migrate(target.conninfo)
            console.print("v4: importing the same shape (other UUIDs) through the Import page")
            page_seconds, progress_lines = _run_page(target, "training_file_v4.json", page_content)
            page_written = _counts(target)
            mode = target.mode
    return V4ImportResult(
        mode=mode,
        server_version=version,
        file_bytes=len(page_content),
        conversations=len(blocks),
        pairs=pairs,
        exchanges=exchanges,
        cli_seconds=cli_seconds,
        cli_exit_code=exit_code,
        cli_written=cli_written,
        page_seconds=page_seconds,
        page_progress_lines=progress_lines,
        page_written=page_written,
        load_average=(load_before, os.getloadavg()[0]),
    )


def append_v4_to_docs(result: V4ImportResult) -> Path:
    body = f"""
- Machine: {machine_line(result.server_version)}
- Load average: {result.load_average[0]:.1f} at the start, {result.load_average[1]:.1f} at the end (other work on \
the machine shares its CPUs)
- Workload: `tds bench import` (v4 row): a v4 training file built in memory from the shared v4 example
  (bench/v4_file.py): {result.file_bytes / 1e6:.2f} MB, {result.conversations} conversations, {result.pairs} pairs
  (half pairs merged: {result.exchanges} exchanges), lean annotation; quality checks included
- CLI (`tds import <file>` in its own process, start-up included): **{result.cli_seconds:.2f} s**, exit code
  {result.cli_exit_code}; in the database: {result.cli_written.conversations} conversations,
  {result.cli_written.turns} turns, {result.cli_written.quality_rows} quality rows
- Import page (upload, then the progress panel polled every {POLL_SECONDS * 1000:.0f} ms until the summary):
  **{result.page_seconds:.2f} s**; {result.page_progress_lines} distinct per-conversation progress lines seen;
  in the database: {result.page_written.conversations} conversations, {result.page_written.turns} turns,
  {result.page_written.quality_rows} quality rows
- Target: < {TARGET_SECONDS:.0f} s: CLI {"met" if result.cli_met else "NOT met"}, Import page \
{"met" if result.page_met else "NOT met"}
"""
    return append_section(f"v4 training-file import ({result.mode} database)", body)
