"""The quality gate step of the pipeline: the expectations suites behind ``pipeline.Gate``.

``expectations`` knows events by duck typing only; this adapter turns its verdicts into the
pipeline's ``Rejection``s. Rules of severity ``warning``/``info`` never stop an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from expectations.gate import Gate as SuiteGate
from expectations.suites import SUITES_DIR
from transforms.events import CanonicalEvent
from transforms.pipeline import Rejection


class QualityGate:
    """Gates a batch's events against the compiled gating suites (no GX on this path)."""

    def __init__(self, gate: SuiteGate) -> None:
        self.gate = gate

    @classmethod
    def load(cls, directory: Path = SUITES_DIR) -> QualityGate:
        return cls(SuiteGate.load(directory))

    def reject(self, events: Sequence[CanonicalEvent]) -> list[Rejection]:
        rejections: list[Rejection] = []
        for verdict in self.gate.check(events):
            if not verdict.quarantine:
                continue
            failed = [s for s in verdict.failed if s.severity == "critical"]
            rejections.append(
                Rejection(
                    event=events[verdict.index],
                    reason=verdict.first.rule_id,
                    detail=f"{verdict.event_type} {verdict.event_id}: "
                    + ", ".join(s.describe() for s in failed),
                    suite=verdict.suite,
                    rules=tuple(s.rule_id for s in failed),
                )
            )
        return rejections
