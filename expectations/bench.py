"""The gate's cost per 1,000 events: compiled evaluator versus GX, in one run.

Both executors get the same micro-batches (events grouped by type, the columns each suite
reads); the compiled figure includes reading the columns off the events, the GX figure
includes building its object-dtype frame. Medians over ``repeats`` runs. A later
``scv bench`` calls :func:`bench_gate`; ``scv quality bench`` prints it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from expectations.gate import Gate, project

#: The goal of the design of record: under 5 ms of gate work per 1,000 events.
GOAL_MS_PER_1000 = 5.0


@dataclass(frozen=True, slots=True)
class GateBench:
    name: str
    events: int
    event_types: int
    compiled_ms: float  # median per batch
    gx_ms: float | None  # None when GX was not run

    @property
    def compiled_per_1000(self) -> float:
        return self.compiled_ms * 1000 / self.events

    @property
    def gx_per_1000(self) -> float | None:
        return None if self.gx_ms is None else self.gx_ms * 1000 / self.events

    @property
    def ratio(self) -> float | None:
        return None if self.gx_ms is None else self.gx_ms / self.compiled_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "events": self.events,
            "event_types": self.event_types,
            "compiled_ms_per_1000": round(self.compiled_per_1000, 3),
            "gx_ms_per_1000": None if self.gx_ms is None else round(self.gx_per_1000 or 0, 1),
            "gx_over_compiled": None if self.ratio is None else round(self.ratio, 1),
            "goal_ms_per_1000": GOAL_MS_PER_1000,
        }


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call costs (regex caches, GX metric registry) are not the steady state
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_gate(
    batches: Mapping[str, Sequence[Any]],
    *,
    gate: Gate | None = None,
    repeats: int = 7,
    with_gx: bool = True,
) -> list[GateBench]:
    """Time the gate on each named batch (a sequence of events, any mix of types)."""
    loaded = gate or Gate.load()
    validator = None
    if with_gx:
        from expectations.gx import GxValidator, frame

        validator = GxValidator()
    results = []
    for name, events in batches.items():
        by_type: dict[str, list[Any]] = {}
        for event in events:
            by_type.setdefault(event.event_type, []).append(event)

        def run_compiled(events: Sequence[Any] = events) -> None:
            loaded.check(events)

        compiled_ms = _median_ms(run_compiled, repeats)
        gx_ms = None
        if validator is not None:
            suites = {t: loaded.suites[t] for t in by_type}

            def run_gx(
                by_type: dict[str, list[Any]] = by_type, suites: dict[str, Any] = suites
            ) -> None:
                for event_type, group in by_type.items():
                    compiled = suites[event_type]
                    columns = project(group, compiled.columns)
                    validator.validate(compiled.suite, frame(columns, compiled.columns))

            gx_ms = _median_ms(run_gx, max(1, repeats // 3))
        results.append(GateBench(name, len(events), len(by_type), compiled_ms, gx_ms))
    return results
