"""A component killed by hand shows as down, and `up` brings back only that one."""

from __future__ import annotations

import os
import signal
import time

from rich.console import Console

from stack import launcher
from stack.processes import PidFile
from stack.settings import StackSettings


def _states(settings: StackSettings) -> dict[str, str]:
    return {s.name: s.state for s in launcher.status(settings)}


def test_killed_component_is_reported_down_and_restarted(stack_settings: StackSettings) -> None:
    pid_file = PidFile(stack_settings.run_dir, "connect")
    victim = pid_file.running()
    assert victim is not None
    others = {
        name: PidFile(stack_settings.run_dir, name).running()
        for name in ("postgres", "mariadb", "kafka")
    }

    os.kill(victim.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while victim.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _states(stack_settings)["connect"] == "down"

    launcher.up(stack_settings, Console(quiet=True))
    assert set(_states(stack_settings).values()) == {"running"}
    restarted = pid_file.running()
    assert restarted is not None
    assert restarted.pid != victim.pid
    for name, proc in others.items():  # up touched nothing that was running
        assert PidFile(stack_settings.run_dir, name).running() == proc
