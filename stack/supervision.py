"""Restart what died, with exponential back-off: the decisions, apart from any process.

Two supervisors use it: the stack's (``scv stack up --supervise``: PostgreSQL, MariaDB, Kafka,
Connect, each tracked by its pid file) and the services' (``scv run``: the pipeline runner, the
views and the later stages, each a child process). Both hand it :class:`Supervised` things and
call :meth:`Supervisor.tick` in a loop; the clock is injected, so the schedule is tested
without waiting.

The schedule: the first restart of a component comes ``initial_s`` after its death was seen,
each further one ``factor`` times later, at most ``max_s``. A component that then stayed up
``stable_s`` has recovered: its next death starts the schedule again at ``initial_s``. A
crash loop therefore costs one start per ``max_s`` at most, and a rare crash is restarted at
once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from stack.errors import StackError


class Backoff(BaseModel):
    """The restart schedule (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_s: float = Field(default=1.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_s: float = Field(default=60.0, gt=0)
    #: Up this long after a restart: recovered, the schedule starts again.
    stable_s: float = Field(default=60.0, gt=0)

    def delay(self, restarts: int) -> float:
        """Seconds from a death to the restart, given how many restarts came before it in a
        row (0 for the first): ``initial_s * factor**restarts``, at most ``max_s``."""
        if restarts < 0:
            raise ValueError(f"restarts must be >= 0, not {restarts}")
        # Capped before the power overflows: factor**restarts grows without bound.
        delay = self.initial_s
        for _ in range(restarts):
            delay *= self.factor
            if delay >= self.max_s:
                return self.max_s
        return min(delay, self.max_s)


class Supervised(Protocol):
    """What a supervisor needs of a thing it restarts."""

    @property
    def name(self) -> str: ...

    def alive(self) -> bool:
        """True while it runs."""
        ...

    def exit_detail(self) -> str:
        """How it ended, for the log (an exit code, "killed by SIGKILL"); "" if unknown."""
        ...

    def start(self) -> None:
        """Start it again (raises if it cannot be started at all)."""
        ...


class GiveUp(StackError):
    """Raised by :meth:`Supervised.start`: restarting cannot help (a usage error that fails
    the same way every time); the supervisor stops and says why."""

    exit_code = 2


@dataclass(slots=True)
class Track:
    """The supervisor's record of one supervised thing."""

    restarts_in_row: int = 0
    restarts_total: int = 0
    #: When its death was first seen (None: alive, as far as we know).
    dead_since: float | None = None
    #: When the pending restart is due.
    due: float | None = None
    last_start: float | None = None
    last_restart_wall: str | None = None
    last_exit: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One thing the supervisor did or saw, for its log."""

    name: str
    what: str  # "died" | "restarted" | "restart failed" | "recovered"
    detail: str


@dataclass
class Supervisor:
    """Watches ``children`` and restarts the dead ones on :class:`Backoff`'s schedule."""

    children: Sequence[Supervised]
    #: Monotonic seconds (``time.monotonic``; a fake in tests).
    clock: Callable[[], float]
    backoff: Backoff = field(default_factory=Backoff)
    wall: Callable[[], str] = field(default=lambda: "")
    tracks: dict[str, Track] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = self.clock()
        for child in self.children:
            self.tracks.setdefault(child.name, Track(last_start=now))

    def tick(self) -> list[Event]:
        """Look at every child once: note deaths, restart those whose time has come."""
        events: list[Event] = []
        for child in self.children:
            events += self._look(child)
        return events

    def _look(self, child: Supervised) -> list[Event]:
        track = self.tracks[child.name]
        now = self.clock()
        if child.alive():
            stable = (
                track.last_start is not None and now - track.last_start >= self.backoff.stable_s
            )
            if track.restarts_in_row and stable:
                track.restarts_in_row = 0
                return [Event(child.name, "recovered", f"up {self.backoff.stable_s:.0f}s")]
            return []
        events = []
        if track.dead_since is None:
            track.dead_since = now
            track.last_exit = child.exit_detail()
            delay = self.backoff.delay(track.restarts_in_row)
            track.due = now + delay
            detail = f"{track.last_exit}; " if track.last_exit else ""
            events.append(Event(child.name, "died", f"{detail}restart in {delay:.1f}s"))
        if track.due is not None and now >= track.due:
            events.append(self._restart(child, track, now))
        return events

    def _restart(self, child: Supervised, track: Track, now: float) -> Event:
        track.restarts_in_row += 1
        try:
            child.start()
        except GiveUp:
            raise
        except (OSError, StackError) as exc:  # a failed start is one more death, retried
            track.due = now + self.backoff.delay(track.restarts_in_row)
            return Event(
                child.name,
                "restart failed",
                f"{exc.__class__.__name__}: {exc}; next try in {track.due - now:.1f}s",
            )
        track.restarts_total += 1
        track.dead_since = None
        track.due = None
        track.last_start = now
        track.last_restart_wall = self.wall()
        return Event(
            child.name,
            "restarted",
            f"restart {track.restarts_total} (#{track.restarts_in_row} in a row)",
        )
