"""Pid files identify our processes by pid and start time, so a recycled pid is not ours."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stack.errors import CorruptState
from stack.processes import PidFile, spawn, stop


def test_spawned_process_is_tracked_and_stopped(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path, "sleeper")
    pid = spawn([sys.executable, "-c", "import time; time.sleep(60)"], log=tmp_path / "s.log")
    tracked = pid_file.write(pid)
    assert pid_file.running() == tracked
    assert stop(tracked, signal.SIGTERM, timeout=10)
    assert pid_file.running() is None


def test_recycled_pid_is_not_ours(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path, "me")
    tracked = pid_file.write(os.getpid())
    # Same pid, different start time: what a recycled pid looks like.
    pid_file.path.write_text(f"{tracked.pid} {tracked.started + 1}\n")
    assert pid_file.running() is None


def test_exited_process_is_not_running(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    pid_file = PidFile(tmp_path, "short")
    pid_file.write(proc.pid)
    proc.kill()
    proc.wait()
    assert pid_file.running() is None


def test_garbage_pid_file_is_corrupt_state(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path, "broken")
    pid_file.path.write_text("not a pid\n")
    with pytest.raises(CorruptState, match=r"broken\.pid"):
        pid_file.read()
