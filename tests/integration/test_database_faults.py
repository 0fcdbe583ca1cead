"""Faults a user meets before anything works: each gives one clear line, exits non-zero, loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from training_data_studio.core.embedded import EmbeddedDatabaseError, start_embedded

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_tds(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training_data_studio", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TDS_DATA_DIR")}
    env.update(extra)
    return env


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_malformed_database_url(tmp_path: Path) -> None:
    line = _one_error_line(run_tds("db", "migrate", env=_env(DATABASE_URL="postgres//nope")))
    assert "DATABASE_URL" in line


def test_unreachable_server() -> None:
    line = _one_error_line(run_tds("db", "migrate", env=_env(DATABASE_URL="postgresql://postgres@127.0.0.1:9/x")))
    assert "Cannot connect to the database" in line
    assert "Check that the server is running" in line


def test_unwritable_data_directory(tmp_path: Path) -> None:
    # A regular file where a folder is expected cannot be written into, whoever we are (root included).
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    line = _one_error_line(run_tds("db", "migrate", env=_env(TDS_DATA_DIR=str(blocker / "postgres"))))
    assert "TDS_DATA_DIR" in line


def test_a_folder_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "postgres"
    folder.mkdir()
    (folder / "notes.txt").write_text("someone's files")
    with pytest.raises(EmbeddedDatabaseError, match="not a PostgreSQL data directory"):
        start_embedded(folder)
    assert (folder / "notes.txt").read_text() == "someone's files"


def test_a_data_directory_left_by_a_crashed_run_recovers_with_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "postgres"
    env = _env(TDS_DATA_DIR=str(data_dir))
    assert run_tds("db", "migrate", env=env).returncode == 0
    # Leave a server running, write a row, then kill it the hard way: postmaster.pid stays behind.
    uri = start_embedded(data_dir, keep_running=True)
    with psycopg.connect(uri) as conn:
        conn.execute(
            "INSERT INTO conversation_templates (template_id, template_name, tier, template_prompt) "
            "VALUES ('survivor', 'Survivor', 'tier3_edge', 'kept')"
        )
    pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            time.sleep(0.1)
        except ProcessLookupError:
            break
    assert (data_dir / "postmaster.pid").exists()

    result = run_tds("db", "verify", env=env)
    assert result.returncode == 0, result.stderr
    uri = start_embedded(data_dir)
    try:
        with psycopg.connect(uri) as conn:
            row = conn.execute("SELECT template_prompt FROM conversation_templates WHERE template_id = 'survivor'")
            assert row.fetchone() == ("kept",)
    finally:
        # This process holds the handle that kept the server running: stop it so nothing is left behind.
        os.kill(int((data_dir / "postmaster.pid").read_text().splitlines()[0]), signal.SIGTERM)
