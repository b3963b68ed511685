"""``scv run``: the long-running stages as child processes under one supervisor.

The pipeline runner (``scv pipeline run``), the views (``scv views run``) and, when asked, the
EDI stage (``scv edi run``), the carrier webhook (``scv carrier serve``) and the web console
(``scv serve``) each run as the ``scv`` command a user would type, in a session of its own (a
Ctrl-C in the terminal reaches only this supervisor), output appended to ``<log_dir>/NAME.log``.
A child that exits is started again on :class:`stack.supervision.Backoff`'s schedule, and each
death and restart is a line on stderr; the stages are exactly once, so a restart loses and
doubles nothing. A child that exits with the usage code (2: a setting that will be as wrong the
next time) stops everything instead, naming its log.

SIGTERM or SIGINT to ``scv run`` is forwarded as SIGTERM to every child (each commits what it
has and exits); a child still running after ``stop_timeout_s`` is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from demo.settings import ServicesSettings
from stack.supervision import Backoff, Event, GiveUp, Supervisor

SCV = [sys.executable, "-m", "scv"]
#: The services ``scv run`` knows, in start order (stop order is the reverse): name -> argv.
SERVICES: dict[str, tuple[str, ...]] = {
    "pipeline": ("pipeline", "run"),
    "views": ("views", "run"),
    "edi": ("edi", "run"),
    "carrier": ("carrier", "serve"),
    "console": ("serve",),
}
#: A child's exit code that restarting cannot fix (scv.exit_codes.ExitCode.USAGE).
USAGE = 2


def describe_exit(returncode: int) -> str:
    """A Popen return code in words (negative: the signal that ended it)."""
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


@dataclass
class ServiceChild:
    """One service as :class:`stack.supervision.Supervised`: a ``scv`` child process."""

    name: str
    argv: Sequence[str]
    log: Path
    env: Mapping[str, str] | None = None
    popen: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_detail(self) -> str:
        if self.proc is None or self.proc.returncode is None:
            return ""
        return describe_exit(self.proc.returncode)

    def start(self) -> None:
        if self.proc is not None and self.proc.returncode == USAGE:
            raise GiveUp(
                f"{self.name}: exited with code {USAGE} (a usage error: restarting cannot help; "
                f"log {self.log})"
            )
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n==== scv run: start {time.strftime('%Y-%m-%dT%H:%M:%S')} ====\n".encode())
            out.flush()
            self.proc = self.popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(self.env) if self.env is not None else None,
                # Signals come from this supervisor only, forwarded: a Ctrl-C in the terminal
                # must not reach a child while the supervisor still counts it as running.
                start_new_session=True,
            )

    def stop(self, timeout: float) -> str:
        """SIGTERM, wait, SIGKILL after ``timeout``; how it ended."""
        if self.proc is None:
            return "never started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return f"killed after {timeout:.0f}s without exiting on SIGTERM"
        return describe_exit(self.proc.returncode)


def children(
    settings: ServicesSettings, env: Mapping[str, str] | None = None
) -> list[ServiceChild]:
    """The chosen services, in start order."""
    return [
        ServiceChild(name, [*SCV, *SERVICES[name]], settings.log_dir / f"{name}.log", env)
        for name in SERVICES
        if name in settings.services
    ]


@contextmanager
def supervised(
    services: Sequence[ServiceChild],
    backoff: Backoff,
    stop_timeout_s: float,
    say: Callable[[str], None],
) -> Iterator[Supervisor]:
    """The services started, under a :class:`Supervisor` the caller ticks; each stopped (SIGTERM,
    then SIGKILL after ``stop_timeout_s``) when the block ends, in reverse order."""
    try:
        for child in services:
            child.start()
            assert child.proc is not None  # start() set it
            say(f"{child.name}: started (pid {child.proc.pid}, log {child.log})")
        yield Supervisor(services, backoff=backoff, clock=time.monotonic)
    finally:
        for child in reversed(services):
            ended = child.stop(stop_timeout_s)
            say(f"{child.name}: stopped ({ended})")


def said(services: Sequence[ServiceChild], event: Event) -> str:
    """A supervisor's event as a line (a restart names the new pid)."""
    child = next(c for c in services if c.name == event.name)
    pid = f", pid {child.proc.pid}" if event.what == "restarted" and child.proc else ""
    return f"{event.name}: {event.what} ({event.detail}{pid})"


def run(settings: ServicesSettings, say: Callable[[str], None]) -> int:
    """Start the services, keep them running until SIGTERM/SIGINT, stop them; 0 on a clean
    stop (:class:`GiveUp` when a child cannot be helped by a restart)."""
    stopping: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    services = children(settings, os.environ)
    backoff = Backoff(
        initial_s=settings.backoff_s, max_s=settings.backoff_max_s, stable_s=settings.stable_s
    )
    try:
        with supervised(services, backoff, settings.stop_timeout_s, say) as supervisor:
            while not stopping:
                for event in supervisor.tick():
                    say(said(services, event))
                time.sleep(settings.tick_s)
            say(f"{stopping[0]}: stopping {', '.join(c.name for c in services)}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
