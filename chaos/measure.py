"""Recovery arithmetic of one scenario run, pure: from the faults' instants and the arrivals
the probe stamped to the figures a run records.

An *arrival* is one canonical event as a ``read_committed`` reader saw it: its source commit
time (the event's ``recorded_at``, Debezium's ``source.ts_ms``) and the wall time it became
visible. For a fault injected at ``F``:

- *time to recover* is ``V - F``, where ``V`` is the earliest visibility of an event committed
  at the source after ``F`` (a *new* event: nothing committed before the fault counts, however
  late it arrives). No such event: the run never recovered (``None``).
- *events delayed* are the events committed at the source between ``F`` and that ``V``: each
  had to wait for the recovery. A run with several faults counts an event once, however many
  of the windows it falls in.

Wall times are seconds since the epoch (``time.time()``); the databases and the probe run on
one machine, so their clocks agree. MariaDB's binlog stamps whole seconds, which can only move
an event's commit time earlier: it can make an event not count as new, never the opposite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Arrival:
    """One canonical event seen by the probe."""

    #: Source commit time (``recorded_at``), seconds since the epoch.
    committed: float
    #: When a ``read_committed`` reader first saw it, seconds since the epoch.
    visible: float


@dataclass(frozen=True)
class Recovery:
    """One fault and how the chain came back from it."""

    fault: str
    at: float
    #: Seconds from the fault to the first new event visible; None: never.
    recover_s: float | None


def recovery(at: float, arrivals: Sequence[Arrival]) -> float | None:
    """Seconds from a fault at ``at`` to the first event committed after it becoming visible."""
    after = [a.visible for a in arrivals if a.committed > at]
    return max(0.0, min(after) - at) if after else None


def delayed(recoveries: Sequence[Recovery], arrivals: Sequence[Arrival]) -> int:
    """Events committed inside any fault's window (fault, first new event visible]; a fault
    never recovered from has an open window."""
    windows = [
        (r.at, r.at + r.recover_s if r.recover_s is not None else float("inf")) for r in recoveries
    ]
    return sum(1 for a in arrivals if any(start < a.committed <= end for start, end in windows))


def recoveries(faults: Sequence[tuple[str, float]], arrivals: Sequence[Arrival]) -> list[Recovery]:
    """Each ``(name, instant)`` fault with its time to recover."""
    return [Recovery(name, at, recovery(at, arrivals)) for name, at in faults]
