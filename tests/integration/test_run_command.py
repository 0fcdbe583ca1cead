"""`tds run` (what `make run` starts) stops completely when asked to: the web app, the worker it started and the
embedded PostgreSQL, whether by Ctrl-C or by SIGTERM (a service manager, `kill`, a container stopping)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

READY_TIMEOUT = 90.0  # migrate and seed a fresh embedded database on a loaded 2-CPU machine
STOP_TIMEOUT = 40.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, "tds run ended before it served"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"tds run did not serve {url} within {READY_TIMEOUT:.0f} s")


@pytest.mark.parametrize(("stop", "exit_code"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 0)])
def test_tds_run_stops_its_worker_and_the_embedded_server(tmp_path: Path, stop: signal.Signals, exit_code: int) -> None:
    data_dir = tmp_path / "postgres"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "DATABASE_URL", "SUPABASE_", "ANTHROPIC_"))}
    env |= {"TDS_DATA_DIR": str(data_dir), "TDS_PORT": str(port), "TDS_LOG_LEVEL": "warning"}
    log = tmp_path / "run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "training_data_studio", "run"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started: list[psutil.Process] = []
    postmaster = 0
    try:
        _wait_until_serving(process, f"http://127.0.0.1:{port}/api/train-data/conversations?page_size=25")
        started = psutil.Process(process.pid).children(recursive=True)
        assert any("worker" in " ".join(child.cmdline()) for child in started), "no worker was started"
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        assert psutil.pid_exists(postmaster)

        process.send_signal(stop)
        assert process.wait(timeout=STOP_TIMEOUT) == exit_code, log.read_text()
        _, alive = psutil.wait_procs(started, timeout=STOP_TIMEOUT)
        assert not alive, f"still running after tds run ended: {[p.cmdline() for p in alive]}"
        deadline = time.monotonic() + STOP_TIMEOUT
        while psutil.pid_exists(postmaster) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not psutil.pid_exists(postmaster), "the embedded PostgreSQL is still running"
        assert not (data_dir / "postmaster.pid").exists()
    finally:  # a failed run must not leave its processes behind for the rest of the suite
        if process.poll() is None:
            process.kill()
        for child in started:
            if child.is_running():
                child.kill()
        if postmaster and psutil.pid_exists(postmaster):
            psutil.Process(postmaster).terminate()  # PostgreSQL's "smart" shutdown
