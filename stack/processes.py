"""Start, track and stop the stack's processes by pid file, and nothing else.

A pid file holds the pid and the process start time (from ``/proc``), so a recycled pid is never
mistaken for ours and ``down`` can never signal a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stack.errors import CorruptState


def _start_time(pid: int) -> int | None:
    """Clock ticks since boot at which ``pid`` started, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # Field 2 (comm) may contain spaces and parentheses; everything after the last ')' is fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited; it only waits for its parent
        return None
    return int(fields[19])


@dataclass(frozen=True, slots=True)
class TrackedProcess:
    pid: int
    started: int

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


class PidFile:
    """``<run>/<name>.pid``: the one process of a component that this launcher started."""

    def __init__(self, run_dir: Path, name: str) -> None:
        self.path = run_dir / f"{name}.pid"

    def read(self) -> TrackedProcess | None:
        if not self.path.exists():
            return None
        try:
            pid_text, started_text = self.path.read_text().split()
            return TrackedProcess(int(pid_text), int(started_text))
        except ValueError as exc:
            raise CorruptState(
                f"{self.path} is not a pid file written by scv; remove it and retry"
            ) from exc

    def running(self) -> TrackedProcess | None:
        proc = self.read()
        return proc if proc is not None and proc.alive() else None

    def write(self, pid: int) -> TrackedProcess:
        started = _start_time(pid)
        if started is None:
            raise ProcessLookupError(pid)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid} {started}\n")
        return TrackedProcess(pid, started)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    fds: Mapping[int, bytes] | None = None,
) -> int:
    """Start ``argv`` detached from our session, stdout and stderr appended to ``log``.

    ``fds``: descriptor number in the child -> bytes it reads there (a pipe, written and
    closed before the start; each must fit a pipe's buffer)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pipes = _pipes(fds or {})

    def place() -> None:
        # In the child, before exec (and before it closes what pass_fds does not keep): each
        # pipe's read end to the number asked for.
        for number, read in pipes.items():
            if read != number:
                os.dup2(read, number)
            os.set_inheritable(number, True)

    try:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                user=user,
                group=user,
                extra_groups=[] if user else None,
                start_new_session=True,  # Ctrl-C in the user's shell must not reach the stack
                # Kept open through exec under the numbers asked for (``place`` put them there).
                pass_fds=tuple(pipes),
                preexec_fn=place if pipes else None,
            )
    finally:
        for read in pipes.values():
            os.close(read)
    # The process outlives this handle: it is tracked by its pid file and reaped by `stop` (or
    # by init once we exit). Marking the handle settled keeps Popen from warning about it.
    proc.returncode = 0
    return proc.pid


def _pipes(fds: Mapping[int, bytes]) -> dict[int, int]:
    """A pipe per wanted descriptor, filled and its write end closed: number -> read end."""
    pipes: dict[int, int] = {}
    for number, data in fds.items():
        read, write = os.pipe()
        try:
            os.write(write, data)
        finally:
            os.close(write)
        pipes[number] = read
    return pipes


def stop(proc: TrackedProcess, sig: signal.Signals, timeout: float) -> bool:
    """Signal ``proc`` and wait until it exits; SIGKILL after ``timeout``. True if it was ours."""
    if not proc.alive():
        return False
    os.kill(proc.pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            _reap(proc.pid)
            return True
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    while proc.alive():
        time.sleep(0.05)
    _reap(proc.pid)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if the process was our own child (a no-op otherwise)."""
    # Not our child (a previous `scv stack up` started it): init reaps it, nothing to collect.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
