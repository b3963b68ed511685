"""Bad input on the command line: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCV = [sys.executable, "-m", "scv"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCV, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("scv: error: ")
    return lines[0]


def test_unknown_verb(tmp_path: Path) -> None:
    proc = _run(["stack", "statu"], SCV_STATE_DIR=str(tmp_path))
    assert proc.returncode == 2
    assert "No such command 'statu'" in _one_line_error(proc)


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("oops")
    proc = _run(["stack", "up"], SCV_STATE_DIR=str(state))
    assert proc.returncode == 2
    assert "is not a directory" in _one_line_error(proc)


def test_missing_java(tmp_path: Path) -> None:
    proc = _run(["stack", "up"], SCV_STATE_DIR=str(tmp_path), PATH=str(tmp_path))
    assert proc.returncode == 2
    assert "java: not found" in _one_line_error(proc)


def test_corrupt_pid_file(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kafka.pid").write_text("garbage")
    proc = _run(["stack", "status"], SCV_STATE_DIR=str(tmp_path))
    assert proc.returncode == 2
    assert "kafka.pid is not a pid file" in _one_line_error(proc)


def test_logs_of_unknown_component(tmp_path: Path) -> None:
    proc = _run(["stack", "logs", "zookeeper"], SCV_STATE_DIR=str(tmp_path))
    assert proc.returncode == 2
    _one_line_error(proc)
