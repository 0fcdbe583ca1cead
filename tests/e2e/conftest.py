"""End-to-end: the real app in its own process on its own embedded database, driven by headless Chromium.

The database is seeded with `tds db seed` (the shipped plan of 100 conversations and the sample seeds),
then the ten planned seed conversations get invented turns and scores, so the detail, search and quality
views have content. Expected counts are read from the JSON API, so the tests follow the shipped data.
Chromium comes from the Debian package (override with TDS_CHROMIUM); without it these tests are skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from tests.helpers import factories as f
from training_data_studio.core.db import Database, DatabaseTarget
from training_data_studio.core.embedded import start_embedded
from training_data_studio.models import TrainingConversation
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "test-results"
CHROMIUM = os.environ.get("TDS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 90
SEEDED_TEXTS = [
    (
        "I have no emergency fund and it scares me.",
        "Let us start an emergency fund with one small, automatic transfer.",
    ),
    ("Is that really enough?", "It is a beginning: we will grow it to three months of expenses, step by step."),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _enrich_seed_conversations(data_dir: Path) -> None:
    """Give the planned seed conversations (1-10) turns, annotations, scores and review states."""
    uri = start_embedded(data_dir)
    database = Database(DatabaseTarget("embedded", make_url(uri).set(drivername="postgresql+psycopg")), pool_size=1)
    statuses = ["generated", "reviewed", "approved", "flagged", "generated"]
    C = TrainingConversation
    try:
        with database.session_scope() as s:
            seeds = s.execute(
                select(C.id, C.conversation_number)
                .where(C.is_seed_example, C.generation_status == "planned")
                .order_by(C.conversation_number)
            ).all()
            for index, (conversation, number) in enumerate(seeds):
                texts = SEEDED_TEXTS if number % 2 else None
                for turn_number in (1, 2):
                    extra = {}
                    if texts:
                        extra = {"user_input": texts[turn_number - 1][0], "target_response": texts[turn_number - 1][1]}
                    f.insert_turn(s, conversation, turn_number, **extra)
                s.execute(
                    update(C)
                    .where(C.id == conversation)
                    .values(
                        generation_status=statuses[index % len(statuses)],
                        turn_count=2,
                        quality_score=3.0 + (index % 5) * 0.5,
                    )
                )
    finally:
        database.dispose()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with {process.returncode} before serving; its log:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"the app did not answer within {STARTUP_SECONDS} s; its log:\n{log.read_text()}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (install chromium or set TDS_CHROMIUM): end-to-end tests skipped")
    return CHROMIUM


@pytest.fixture(scope="session")
def app_url(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by `python -m training_data_studio serve` on a free port, with its own database."""
    workdir = tmp_path_factory.mktemp("e2e")
    data_dir = workdir / "postgres"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPABASE_JWT_SECRET")}
    env |= {"TDS_DATA_DIR": str(data_dir), "TDS_USER": "e2e-reviewer", "TDS_LOG_LEVEL": "warning"}
    seeded = subprocess.run(
        [sys.executable, "-m", "training_data_studio", "db", "seed"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if seeded.returncode != 0:
        pytest.fail(f"`tds db seed` failed:\n{seeded.stdout}\n{seeded.stderr}")
    _enrich_seed_conversations(data_dir)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "training_data_studio", "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGINT, not SIGTERM: uvicorn re-raises the signal it stopped on, and only SIGINT then ends the
    # process through Python's normal exit, which releases its handle on the shared embedded server
    # (after SIGTERM the server would outlive the tests). A worker lets its tasks in flight finish.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def embedded_database(data_dir: Path) -> Database:
    """A connection to an app's embedded database, shared with the app's own process."""
    uri = start_embedded(data_dir)
    return Database(DatabaseTarget("embedded", make_url(uri).set(drivername="postgresql+psycopg")), pool_size=1)


@dataclass(frozen=True)
class GenerationApp:
    """The app and a `tds worker`, both pointed at a fake Anthropic API served by this test process."""

    url: str
    data_dir: Path
    fake: FakeAnthropic


# Quick enough for a batch to finish in seconds; tests that pause a job raise it to about a second a call.
FAKE_LATENCY_SECONDS = 0.2


@pytest.fixture(scope="session")
def generation_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenerationApp]:
    """A second app instance, with generation configured: `serve` and `worker` subprocesses on their own
    database (the shipped plan, the ten seeds approved so they serve as prompt examples), and the fake
    Anthropic API in this process."""
    workdir = tmp_path_factory.mktemp("e2e-generation")
    data_dir = workdir / "postgres"
    fake = FakeAnthropic(FakeConfig(latency_seconds=FAKE_LATENCY_SECONDS)).start()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPABASE_JWT_SECRET", "SMTP_URL")}
    env |= {
        "TDS_DATA_DIR": str(data_dir),
        "TDS_USER": "e2e-generator",
        "TDS_LOG_LEVEL": "warning",
        "ANTHROPIC_API_KEY": "fake-key",
        "ANTHROPIC_BASE_URL": fake.url,
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "training_data_studio", "db", "seed"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if seeded.returncode != 0:
        fake.stop()
        pytest.fail(f"`tds db seed` failed:\n{seeded.stdout}\n{seeded.stderr}")
    database = embedded_database(data_dir)
    try:
        with database.session_scope() as s:
            s.execute(
                update(TrainingConversation)
                .where(TrainingConversation.conversation_number <= 10)
                .values(generation_status="approved")
            )
    finally:
        database.dispose()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "training_data_studio", "serve", "--port", str(port)],
                    env=env,
                    cwd=workdir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_until_serving(url, processes[0], log)
        with (workdir / "worker.log").open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "training_data_studio", "worker", "--concurrency", "2"],
                    env=env,
                    cwd=workdir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        yield GenerationApp(url=url, data_dir=data_dir, fake=fake)
    finally:
        for process in reversed(processes):
            _stop(process)
        fake.stop()


# Package scope: Playwright's sync API keeps an event loop running in this thread while it is open, which
# would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Browser, app_url: str, width: int, height: int) -> Iterator[Page]:
    """A fresh browser context; any JavaScript error on the page fails the test."""
    context = browser.new_context(base_url=app_url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    opened.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    yield opened
    context.close()
    assert errors == [], errors


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    yield from _page(browser, app_url, 1440, 900)


@pytest.fixture
def generation_page(browser: Browser, generation_app: GenerationApp) -> Iterator[Page]:
    """A page on the generation-enabled app."""
    yield from _page(browser, generation_app.url, 1440, 900)


@pytest.fixture
def browser_page_390(browser: Browser, app_url: str) -> Iterator[Page]:
    """A phone-sized page (390 x 844)."""
    yield from _page(browser, app_url, 390, 844)


@pytest.fixture
def api(app_url: str) -> Callable[..., dict[str, Any]]:
    """GET /api/train-data/conversations with these query parameters, as JSON."""

    def get(**params: Any) -> dict[str, Any]:
        response = httpx.get(f"{app_url}/api/train-data/conversations", params=params, timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    return get


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save test-results/<name>.png (git-ignored) for a person to look at."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def choose_filter(page: Page, name: str, value: str) -> None:
    """Tick one option of a Matrix filter's checkbox dropdown, opening the panel and the dropdown as needed."""
    panel = page.locator("[data-filters-panel]")
    if panel.get_attribute("open") is None:
        panel.locator(":scope > summary").click()
    dropdown = page.locator(f"#f-{name}")
    if dropdown.get_attribute("open") is None:
        dropdown.locator("summary").click()
    dropdown.locator(f'input[type=checkbox][value="{value}"]').check()


def chosen_filter(page: Page, name: str) -> list[str]:
    """The values ticked in a Matrix filter's checkbox dropdown."""
    values: list[str] = page.locator(f"#f-{name} input[type=checkbox]:checked").evaluate_all(
        "els => els.map((el) => el.value)"
    )
    return values
