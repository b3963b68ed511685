"""`scv stack up` refuses bad situations with one clear line, before starting anything.

These run beside the real stack, on a scratch state directory that shares its jar cache, so
they reach the checks that need the installed databases and jars.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from stack.settings import StackSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(state: Path, settings: StackSettings, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scv", "stack", "up"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "SCV_STATE_DIR": str(state),
            "SCV_JAR_CACHE": str(settings.cache_dir),
            **env,
        },
    )


def _only_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("scv: error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def test_occupied_port(tmp_path: Path, stack_settings: StackSettings) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        proc = _up(tmp_path, stack_settings, SCV_POSTGRES_PORT=str(port))
    assert proc.returncode == 2
    assert f"postgres: port {port} on 127.0.0.1 is in use" in _only_line(proc)
    assert not list((tmp_path / "run").glob("*.pid")), "nothing may have been started"


def test_database_dir_without_a_cluster(tmp_path: Path, stack_settings: StackSettings) -> None:
    pgdata = tmp_path / "data" / "postgres" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "stray-file").write_text("not a database")
    proc = _up(tmp_path, stack_settings, SCV_POSTGRES_PORT=str(_free_port()))
    assert proc.returncode == 2
    assert "holds no database cluster" in _only_line(proc)
    assert not list((tmp_path / "run").glob("*.pid")), "nothing may have been started"
