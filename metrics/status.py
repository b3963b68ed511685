"""One verdict per stage for ``scv status``: up, lagging, breaching SLO, or down.

A consumer stage is **down** when no instance runs (its group has no member; the views: no
process holds the serving schema's lock), **breaching SLO** when the oldest record it has not
committed yet is older than the freshness objective of the events it carries (those events
can only be later than that), **lagging** when records wait but within the objective, **up**
otherwise. A connector is up when it and its tasks run, else down.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    UP = "up"
    LAGGING = "lagging"
    BREACHING = "breaching SLO"
    DOWN = "down"

    @property
    def failed(self) -> bool:
        """``scv status`` exits non-zero on these."""
        return self in (Verdict.BREACHING, Verdict.DOWN)


@dataclass(frozen=True, slots=True)
class StageReading:
    stage: str
    #: Instances running (None: not a consumer stage).
    members: int | None
    #: Records waiting for it, over all its partitions.
    lag: int
    #: Age of the oldest waiting record (None: none waits).
    oldest_s: float | None
    #: The freshness objective its waiting records are held to (None: none).
    slo_s: float | None
    #: For a connector: it and its tasks run.
    running: bool = True
    detail: str = ""


def verdict(r: StageReading) -> Verdict:
    if r.members == 0 or not r.running:
        return Verdict.DOWN
    if r.oldest_s is not None and r.slo_s is not None and r.oldest_s > r.slo_s:
        return Verdict.BREACHING
    if r.lag > 0:
        return Verdict.LAGGING
    return Verdict.UP


def line(r: StageReading) -> str:
    """``<stage>: <verdict> (<figures>)``, one line."""
    figures: list[str] = []
    if r.members is not None:
        figures.append(f"{r.members} running")
        figures.append(f"lag {r.lag}")
        if r.oldest_s is not None:
            figures.append(f"oldest waiting {r.oldest_s:.1f}s")
        if r.slo_s is not None:
            figures.append(f"SLO {r.slo_s:g}s")
    if r.detail:
        figures.append(r.detail)
    return f"{r.stage}: {verdict(r)}" + (f" ({', '.join(figures)})" if figures else "")
