"""The stack's supervisor: a small detached process that restarts a dead component.

``scv stack up --supervise`` starts it once every component is healthy (``run/supervisor.pid``,
log ``logs/supervisor.log``); ``scv stack down`` stops it first, so a deliberate stop is never
undone. Each second it looks at every component's pid file: a component whose pid file names a
process that is gone (``kill -9``, an OOM kill, a crash) is started again as ``up`` starts it,
on :class:`stack.supervision.Backoff`'s schedule, and each death and restart is a log line. A
component without a pid file was not started by ``up`` (or was stopped by ``down``): it is left
alone. Health beyond "the process runs" (a hung JVM) is not judged here.

What it did is in ``run/supervisor.json`` (restarts per component, the last one's time and
how the process ended), which ``scv stack status`` shows.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from stack.components import Component
from stack.errors import StackError
from stack.processes import PidFile, TrackedProcess, spawn, stop
from stack.settings import StackSettings
from stack.supervision import Backoff, Event, Supervisor

NAME = "supervisor"
#: Seconds between two looks at the components.
TICK_S = 1.0
#: How long ``launch`` waits for a new supervisor's first record (its first look).
FIRST_LOOK_TIMEOUT_S = 30.0


def pid_file(settings: StackSettings) -> PidFile:
    return PidFile(settings.run_dir, NAME)


def log_path(settings: StackSettings) -> Path:
    return settings.logs_dir / f"{NAME}.log"


def record_path(settings: StackSettings) -> Path:
    return settings.run_dir / f"{NAME}.json"


def exit_detail(status: int) -> str:
    """A ``waitpid`` status in words."""
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    if os.WIFEXITED(status):
        return f"exit code {os.WEXITSTATUS(status)}"
    return f"wait status {status}"


@dataclass
class Reaper:
    """Collects the exit status of the supervisor's own children (the components it restarted:
    without it they stay zombies); the first generation, started by ``up``, is init's."""

    statuses: dict[int, int] = field(default_factory=dict)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.statuses[pid] = status


@dataclass
class ComponentChild:
    """A stack component as :class:`stack.supervision.Supervised`."""

    component: Component
    reaper: Reaper

    @property
    def name(self) -> str:
        return self.component.name

    def alive(self) -> bool:
        tracked = self.component.pid_file.read()
        return tracked is None or tracked.alive()

    def exit_detail(self) -> str:
        tracked = self.component.pid_file.read()
        if tracked is None:
            return ""
        status = self.reaper.statuses.pop(tracked.pid, None)
        return f"pid {tracked.pid} gone" if status is None else exit_detail(status)

    def start(self) -> None:
        from stack.launcher import start

        start(self.component, "scv stack supervisor: restart")


def _log(line: str) -> None:
    # stdout is the log file (`spawn` sent it there); a line each, flushed at once.
    sys.stdout.write(f"[{time.strftime('%Y-%m-%dT%H:%M:%S')}] {line}\n")
    sys.stdout.flush()


def _write_record(settings: StackSettings, supervisor: Supervisor) -> None:
    record = {
        name: {
            "restarts": track.restarts_total,
            "last_restart": track.last_restart_wall,
            "last_exit": track.last_exit,
        }
        for name, track in supervisor.tracks.items()
    }
    path = record_path(settings)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)


def read_record(settings: StackSettings) -> dict[str, dict[str, object]]:
    """What the supervisor wrote (empty before its first look)."""
    path = record_path(settings)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def backoff_of(settings: StackSettings) -> Backoff:
    return Backoff(
        initial_s=settings.restart_backoff_s,
        max_s=settings.restart_backoff_max_s,
        stable_s=settings.restart_stable_s,
    )


def serve(settings: StackSettings, components: list[Component]) -> None:
    """The supervisor's loop, until SIGTERM or SIGINT (``scv stack down``)."""
    backoff = backoff_of(settings)
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        _log(f"{signal.Signals(signum).name}: stopping (the components keep running)")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reaper = Reaper()
    supervisor = Supervisor(
        [ComponentChild(c, reaper) for c in components],
        backoff=backoff,
        clock=time.monotonic,
        wall=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    _log(
        f"watching {', '.join(c.name for c in components)} every {TICK_S:.0f}s "
        f"(back-off {backoff.initial_s:g}s x{backoff.factor:g} up to {backoff.max_s:g}s, "
        f"reset after {backoff.stable_s:g}s up)"
    )
    _write_record(settings, supervisor)
    while not stopping:
        reaper.reap()
        events: list[Event] = supervisor.tick()
        for event in events:
            _log(f"{event.name}: {event.what} ({event.detail})")
        if events:
            _write_record(settings, supervisor)
        time.sleep(TICK_S)


def launch(settings: StackSettings) -> TrackedProcess:
    """Start the supervisor detached (``scv stack supervise``) unless it runs; its process."""
    running = pid_file(settings).running()
    if running is not None:
        return running
    argv = [
        sys.executable, "-m", "scv", "stack", "supervise",
        # The very settings `up` used (ports, heaps, state dir), whatever the environment of
        # the later restarts; they hold no secret (those stay in the state dir).
        "--settings-json", settings.model_dump_json(),
    ]  # fmt: skip
    # A record left by an earlier supervisor must not pass for this one's first look.
    record_path(settings).unlink(missing_ok=True)
    pid = spawn(argv, log=log_path(settings))
    tracked = pid_file(settings).write(pid)
    _await_first_look(settings)
    return tracked


def _await_first_look(settings: StackSettings, timeout_s: float = FIRST_LOOK_TIMEOUT_S) -> None:
    """Until the new supervisor wrote its first record: ``up --supervise`` returns once the
    stack is watched, not while the supervisor is still importing (seconds on a busy host)."""
    deadline = time.monotonic() + timeout_s
    while not record_path(settings).exists():
        if pid_file(settings).running() is None:
            raise StackError(f"the supervisor exited at start (log: {log_path(settings)})")
        if time.monotonic() > deadline:
            raise StackError(
                f"the supervisor did not start watching within {timeout_s:.0f} s "
                f"(log: {log_path(settings)})"
            )
        time.sleep(0.1)


def shut_down(settings: StackSettings) -> bool:
    """Stop the supervisor if it runs; True if it did."""
    tracked = pid_file(settings).read()
    if tracked is None:
        return False
    was_running = stop(tracked, signal.SIGTERM, 10.0)
    pid_file(settings).clear()
    # Its restarts were of this supervision: a later `status` must not show them as current.
    record_path(settings).unlink(missing_ok=True)
    return was_running
