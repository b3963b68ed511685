"""What a run of the runner did, counted as it goes (``scv pipeline run`` prints it at the end)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import kafkaio


@dataclass
class RunStats:
    messages: int = 0
    batches: int = 0
    aborted_batches: int = 0
    events: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    #: Rows held back waiting for reference data, by reason (a row may be held many times).
    held: Counter[str] = field(default_factory=Counter)
    #: State-topic records skipped at load or catch-up, by reason (``decode_state_record``).
    bad_state: Counter[str] = field(default_factory=Counter)
    #: Ranges of raw offsets deleted before they were read, skipped by ``allow_gap``.
    gaps: list[kafkaio.Gap] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events_total(self) -> int:
        return sum(self.events.values())

    def committed(self, messages: int, counts: Mapping[str, Counter[str]]) -> None:
        """Count a committed batch: its messages and its outcomes by kind (``events``,
        ``quarantined``, ``skipped``)."""
        self.batches += 1
        self.messages += messages
        for kind, counter in counts.items():
            getattr(self, kind).update(counter)
