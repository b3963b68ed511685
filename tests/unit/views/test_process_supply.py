"""The view process feeds the supply views through its hook and writes their state in the
batch: an event whose supply arithmetic raises is rejected and the supply state reloaded as
the last committed batch left it (the in-memory store of ``test_process_rejects``)."""

from __future__ import annotations

from typing import Any

import pytest

from transforms.events import CanonicalEvent
from views.process import ViewProcess
from views.settings import ViewsSettings
from views.store import Batch
from views.suppliers import SupplierBook

from .test_process_rejects import FakeStore
from .test_suppliers import issued, received

TOPIC = "scv.inbound.v1"


class Message:
    def __init__(self, offset: int, event: CanonicalEvent) -> None:
        self._offset = offset
        self._value = event.model_dump_json().encode()

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return self._value

    def error(self) -> None:
        return None


def _batch(process: ViewProcess, events: list[CanonicalEvent], start: int) -> Batch:
    store: FakeStore = process.store  # type: ignore[assignment]
    messages = [Message(start + i, e) for i, e in enumerate(events)]
    process._batch(messages, {})  # type: ignore[arg-type]
    return store.batches[-1]


def test_supply_state_and_scorecards_are_written_in_the_batch() -> None:
    process = ViewProcess(ViewsSettings(), FakeStore())  # type: ignore[arg-type]
    batch = _batch(process, [issued("P1/1", 10), received("P1/1", 9, day=2)], 0)
    assert batch.supply is not None
    assert batch.supply.state[("po_line", "P1/1")] is not None
    cards = {(c.supplier_id, c.window_days, c.lines, c.in_full) for c in batch.supply.scorecards}
    assert cards == {("S1", 7, 1, 0), ("S1", 30, 1, 0), ("S1", 90, 1, 0)}


def test_a_failing_supply_event_is_rejected_and_the_supply_state_reloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poison = received("P2/1", 10, day=3)
    real_apply = SupplierBook.apply

    def apply(self: SupplierBook, event: CanonicalEvent, *args: Any) -> list[Any]:
        alerts = real_apply(self, event, *args)  # the lines have moved...
        if event.event_id == poison.event_id:
            raise ArithmeticError("bad receipt")  # ...and then it fails
        return alerts

    monkeypatch.setattr(SupplierBook, "apply", apply)
    process = ViewProcess(ViewsSettings(), FakeStore())  # type: ignore[arg-type]
    _batch(process, [issued("P1/1", 10), issued("P2/1", 10)], 0)
    batch_events = [poison, received("P1/1", 10, day=3)]
    batch = _batch(process, batch_events, 2)
    (rejected,) = batch.rejected
    assert rejected.reason == "apply_failed"
    lines = process.supply.suppliers.lines
    assert lines["P2/1"].receipts == {}  # as the committed batch left it
    assert lines["P1/1"].closed
    assert [a.event_id for a in batch.applied] == [batch_events[1].event_id]
