"""``scv demo`` starts the web console and prints its URL once it answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from demo.errors import StepFailed
from demo.run import wait_for_console


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_url_once_scv_serve_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SCV_STATE_DIR": str(tmp_path / "state")}
    log = tmp_path / "console.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scv", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = wait_for_console(proc, port, log)
        assert url == f"http://127.0.0.1:{port}/"
        assert httpx.get(f"{url}healthz").text == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert f"scv console: http://127.0.0.1:{port}/" in log.read_text()


def test_a_console_that_exits_fails_the_step(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(2)"])
    proc.wait(30)
    with pytest.raises(StepFailed, match=r"`scv serve` exited with 2"):
        wait_for_console(proc, _free_port(), log)
