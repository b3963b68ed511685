"""The verdict of one scenario run, pure: what it measured and whether the oracle passed it.

The oracle is the one of the issue and of ``docs/reliability.md``: the simulator's ledger
against the canonical topics (``scv sim verify``: 0 missing, 0 duplicated, 0 unexpected) and
the views' positions against the legacy sources (``scv reconcile``: 0 mismatches). Two more
conditions keep a run from passing by accident: every fault was recovered from (a new event
became visible after it), and the runner skipped as replayed exactly the changes Debezium
wrote twice to the raw topics (fewer: a copy reached the canonical topics or was lost in the
count; more: the runner dropped a change that was not a copy).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.measure import Recovery


@dataclass(frozen=True)
class Outcome:
    """Everything one run of one scenario records (``results.json``, the report's row)."""

    scenario: str
    run: int
    chaos_run_id: str
    pipeline: str
    sim_runs: tuple[int, ...]
    recoveries: tuple[Recovery, ...]
    delayed: int
    #: Median source commit → visible of the events committed before the first fault.
    lag_before_s: float | None
    raw_duplicates: int
    replays_skipped: int
    canonical_events: int
    missing: int
    duplicated: int
    unexpected: int
    reconcile_keys: int
    reconcile_mismatches: int
    seconds: float
    error: str | None = None
    #: Runner or views processes a supervised scenario restarted, and why.
    restarts: tuple[str, ...] = field(default=())
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def worst_recover_s(self) -> float | None:
        """The longest recovery (None if any fault was never recovered from, or no fault)."""
        times = [r.recover_s for r in self.recoveries]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["passed"] = self.passed
        return found


def failures(
    *,
    recoveries: tuple[Recovery, ...],
    raw_duplicates: int,
    replays_skipped: int,
    missing: int,
    duplicated: int,
    unexpected: int,
    reconcile_mismatches: int,
    error: str | None = None,
) -> tuple[str, ...]:
    """Why a run failed, one reason per broken condition (empty: it passed). Process restarts
    of a supervised scenario are no reason: they are recorded beside the verdict."""
    found: list[str] = []
    if error is not None:
        found.append(f"error: {error}")
    if not recoveries and error is None:
        found.append("no fault was injected")
    found.extend(
        f"{r.fault} at {r.at:.1f}: no new event visible afterwards"
        for r in recoveries
        if r.recover_s is None
    )
    if missing or duplicated or unexpected:
        found.append(
            f"sim verify: {missing} missing, {duplicated} duplicated, {unexpected} unexpected"
        )
    if reconcile_mismatches:
        found.append(f"reconcile: {reconcile_mismatches} mismatches")
    if replays_skipped != raw_duplicates:
        found.append(
            f"runner skipped {replays_skipped} replayed changes, the raw topics hold "
            f"{raw_duplicates} duplicates"
        )
    return tuple(found)
