"""The quality gate: events of a micro-batch → per event, the gating rules it failed.

The gate knows events only by duck typing (an ``event_type`` and an ``event_id`` attribute,
fields readable with ``getattr``), so this package imports nothing of ``transforms``. A column
``parent__child`` reads ``event.parent.child`` (None when ``parent`` is None). Values are kept
as they are (``Decimal``, ``date``, aware ``datetime``, ``UUID``): GX sees the same
values in an object-dtype frame (``expectations.gx``), which is what the parity test relies on.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expectations.errors import MissingSuite
from expectations.evaluator import CompiledSuite, compile_suite
from expectations.suites import NESTED_SEPARATOR, SUITES_DIR, ExpectationSpec, load_suites

Accessor = Callable[[Any], object]


def accessor(column: str) -> Accessor:
    """A function reading ``column`` from an event (``a__b`` → ``event.a.b``)."""
    parts = column.split(NESTED_SEPARATOR)
    if len(parts) == 1:
        return operator.attrgetter(column)
    parent, child = operator.attrgetter(parts[0]), operator.attrgetter(".".join(parts[1:]))

    def read(obj: Any) -> object:
        value = parent(obj)
        return None if value is None else child(value)

    return read


def project(events: Sequence[Any], columns: Sequence[str]) -> dict[str, list[object]]:
    """The columns a suite reads, one list per column, rows in ``events`` order."""
    out: dict[str, list[object]] = {}
    flat = [c for c in columns if NESTED_SEPARATOR not in c]
    if flat and events:
        # One C-level itemgetter per event over its field dict, then a transpose: five times
        # faster than an attribute read per value (pydantic keeps fields in ``__dict__``).
        try:
            rows = list(map(operator.itemgetter(*flat), map(vars, events)))
        except (KeyError, TypeError):
            rows = [tuple(getattr(e, c) for c in flat) for e in events]
        if len(flat) == 1:
            rows = [(r,) for r in rows]
        out.update(zip(flat, map(list, zip(*rows, strict=True)), strict=True))
    for column in columns:
        if column not in out:
            out[column] = list(map(accessor(column), events))
    return {c: out[c] for c in columns}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One event that failed its suite: every failed rule in suite order (first = first)."""

    index: int  # position in the sequence given to ``Gate.check``
    event_type: str
    event_id: str
    suite: str  # ``name@digest``
    failed: tuple[ExpectationSpec, ...]

    @property
    def quarantine(self) -> bool:
        """Only critical rules stop an event; warnings travel as headers."""
        return any(spec.severity == "critical" for spec in self.failed)

    @property
    def first(self) -> ExpectationSpec:
        return next((s for s in self.failed if s.severity == "critical"), self.failed[0])


class Gate:
    """Compiled gating suites, one per event type."""

    def __init__(self, suites: Mapping[str, CompiledSuite]) -> None:
        self.suites = dict(suites)

    @classmethod
    def load(cls, directory: Path = SUITES_DIR) -> Gate:
        """Load and compile every gating suite (refuses an unsupported expectation type)."""
        return cls({t: compile_suite(s) for t, s in load_suites("gating", directory).items()})

    def check(self, events: Sequence[Any]) -> list[Verdict]:
        """The events that failed a rule of their suite, in input order."""
        by_type: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            by_type.setdefault(event.event_type, []).append(i)
        verdicts: list[Verdict] = []
        for event_type, indices in by_type.items():
            compiled = self.suites.get(event_type)
            if compiled is None:
                raise MissingSuite(f"no gating suite for event type {event_type!r}")
            batch = [events[i] for i in indices]
            columns = project(batch, compiled.columns)
            for row, failed in compiled.failures(columns, len(batch)).items():
                event = batch[row]
                verdicts.append(
                    Verdict(
                        index=indices[row],
                        event_type=event_type,
                        event_id=str(event.event_id),
                        suite=compiled.suite.label,
                        failed=tuple(failed),
                    )
                )
        verdicts.sort(key=lambda v: v.index)
        return verdicts
