"""Recovery arithmetic of one scenario run, pure: from the faults' instants and the arrivals
the probe stamped to the figures a run records.

An *arrival* is one canonical event as a ``read_committed`` reader saw it: its source commit
time (the event's ``recorded_at``, Debezium's ``source.ts_ms``) and the wall time it became
visible. For a fault injected at ``F``:

- *time to recover* is ``V - F``, where ``V`` is the earliest visibility of an event committed
  at the source after ``F`` (a *new* event: nothing committed before the fault counts, however
  late it arrives) by a source system the fault hits (a deleted ERP connector does not stop
  the WMS's events, which must not count as its recovery). No such event: the run never
  recovered (``None``).
- *events delayed* are the events of those systems committed at the source between ``F`` and
  that ``V``: each had to wait for the recovery. A run with several faults counts an event
  once, however many of the windows it falls in.

Wall times are seconds since the epoch (``time.time()``); the databases and the probe run on
one machine, so their clocks agree. MariaDB's binlog stamps whole seconds, which can only move
an event's commit time earlier: it can make an event not count as new, never the opposite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Both source systems: a fault that stops every change (Connect, the broker).
ERP_WMS = frozenset({"erp", "wms"})


@dataclass(frozen=True)
class Arrival:
    """One canonical event seen by the probe."""

    #: Source commit time (``recorded_at``), seconds since the epoch.
    committed: float
    #: When a ``read_committed`` reader first saw it, seconds since the epoch.
    visible: float
    #: The source system (``source.system``: ``erp``, ``wms``).
    system: str


@dataclass(frozen=True)
class Fault:
    """One fault a scenario injected: what, when, and which source systems it stops."""

    name: str
    at: float
    systems: frozenset[str] = ERP_WMS


@dataclass(frozen=True)
class Recovery:
    """One fault and how the chain came back from it."""

    fault: str
    at: float
    #: Seconds from the fault to the first new event visible; None: never.
    recover_s: float | None
    systems: tuple[str, ...] = ("erp", "wms")


def recovery(fault: Fault, arrivals: Sequence[Arrival]) -> float | None:
    """Seconds from ``fault`` to the first event of its systems committed after it becoming
    visible."""
    after = [a.visible for a in arrivals if a.committed > fault.at and a.system in fault.systems]
    return max(0.0, min(after) - fault.at) if after else None


def delayed(recoveries: Sequence[Recovery], arrivals: Sequence[Arrival]) -> int:
    """Events committed inside any fault's window (fault, first new event visible] by a
    system it hits; a fault never recovered from has an open window."""
    windows = [
        (r.at, r.at + r.recover_s if r.recover_s is not None else float("inf"), r.systems)
        for r in recoveries
    ]
    return sum(
        1
        for a in arrivals
        if any(start < a.committed <= end and a.system in hit for start, end, hit in windows)
    )


def recoveries(faults: Sequence[Fault], arrivals: Sequence[Arrival]) -> list[Recovery]:
    """Each fault with its time to recover."""
    return [Recovery(f.name, f.at, recovery(f, arrivals), tuple(sorted(f.systems))) for f in faults]


def lag(arrivals: Sequence[Arrival], since: float | None, until: float | None) -> float | None:
    """Median seconds from source commit to visible of the events committed in
    (``since``, ``until``]: the chain's lag before the first fault, to read a recovery against.
    None without such events."""
    if since is None or until is None:
        return None
    lags = sorted(a.visible - a.committed for a in arrivals if since < a.committed <= until)
    if not lags:
        return None
    middle = len(lags) // 2
    return lags[middle] if len(lags) % 2 else (lags[middle - 1] + lags[middle]) / 2
