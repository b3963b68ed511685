"""The view process feeds order tracking in its batch: the timeline, the open orders and the
alerts go into the batch's one transaction, and a failed apply rolls the tracker back.

The events are the canonical records the recorded Debezium fixtures map to (their golden
outcomes); the store is an in-memory stand-in that keeps the batches written, and the batch's
order-tracking writes run against a cursor that records the statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from transforms.events import CanonicalEvent, from_json
from views.alerts import Monitor
from views.order_store import OrderFeed
from views.orders import OrderTracker
from views.positions import Book
from views.process import ViewProcess
from views.settings import ViewsSettings
from views.store import Batch

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"


def golden(case: str) -> dict[str, Any]:
    """The first canonical record a recorded fixture maps to (topic, key, value)."""
    record: dict[str, Any] = orjson.loads((FIXTURES / f"{case}.expected.json").read_bytes())[
        "events"
    ][0]
    return record


class Message:
    def __init__(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        self._where = (topic, partition, offset)
        self._value = value

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._where[2]

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return self._value

    def error(self) -> None:
        return None


class FakeStore:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def already_applied(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return {a.event_id for b in self.batches for a in b.applied} & set(ids)

    def write(self, batch: Batch) -> None:
        self.batches.append(batch)

    def load(
        self, book: Book, monitor: Monitor, supply: object = None
    ) -> dict[tuple[str, int], int]:
        return {}


class Cursor:
    """Records ``executemany`` as (first words of the statement, rows)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[Any, ...]]]] = []

    def executemany(self, query: Any, rows: Iterable[tuple[Any, ...]]) -> None:
        self.calls.append((query.as_string(None), list(rows)))

    def rows(self, table: str, verb: str = "INSERT") -> list[tuple[Any, ...]]:
        return [
            row
            for text, rows in self.calls
            if text.startswith(verb) and f'"views".{table} ' in text
            for row in rows
        ]


def _process() -> tuple[ViewProcess, FakeStore]:
    store = FakeStore()
    process = ViewProcess(ViewsSettings(), store)  # type: ignore[arg-type]
    return process, store


def _values(*cases: str) -> list[dict[str, Any]]:
    return [golden(case) for case in cases]


def _batch(process: ViewProcess, records: list[dict[str, Any]], start: int = 0) -> Batch:
    messages = [
        Message(r["topic"], 0, start + n, orjson.dumps(r["value"])) for n, r in enumerate(records)
    ]
    process._batch(messages, {})  # type: ignore[arg-type]
    store: FakeStore = process.store  # type: ignore[assignment]
    return store.batches[-1]


def test_a_batch_carries_the_timeline_and_open_order_writes() -> None:
    process, _ = _process()
    allocated, picked = _values("wms/PICKDETAIL/c-allocated", "wms/PICKDETAIL/u-picked")
    batch = _batch(process, [allocated, picked])
    assert len(batch.extra) == 1
    cursor = Cursor()
    batch.extra[0](cursor)  # type: ignore[arg-type]
    steps = cursor.rows("order_tracking")
    assert sorted((row[0], row[2], row[4]) for row in steps) == sorted(
        [
            (allocated["value"]["order_id"], "allocated", "wms"),
            (picked["value"]["order_id"], "picked", "wms"),
        ]
    )
    opened = {row[0]: row[2] for row in cursor.rows("open_orders")}
    assert opened == {
        allocated["value"]["order_id"]: "allocated",
        picked["value"]["order_id"]: "picked",
    }
    clocks = cursor.rows("order_clocks")
    assert [(row[0], row[2]) for row in clocks] == [("scv.order.v1", "wms")]


def test_the_recorded_promise_change_moves_the_line_promise() -> None:
    changed = golden("erp/f4211/u-promise")["value"]
    order_id, line_id = changed["order_id"], changed["line_id"]
    placed = {
        **changed,
        "event_id": str(uuid.uuid4()),
        "event_type": "order.placed",
        "line_no": "1.000",
        "item_id": "ITEM",
        "original": {"value": "192", "uom": "EA"},
        "promised_ship_date": "2026-11-30",
        "promised_delivery_date": "2026-12-02",
    }
    for name in ("changes",):
        placed.pop(name)
    tracker = OrderTracker(ViewsSettings().tracking_policy())
    for value in (placed, changed):
        tracker.apply(from_json(orjson.dumps(value)), "scv.order.v1", 0)
    line = tracker.orders[order_id].lines[line_id]
    # 126337 = 3 December 2026, 126339 = 5 December 2026
    assert (line.promised_ship, line.promised_delivery) == (date(2026, 12, 3), date(2026, 12, 5))


def test_a_failed_apply_rolls_the_tracker_back_and_the_batch_is_applied_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process, _ = _process()
    allocated, picked = _values("wms/PICKDETAIL/c-allocated", "wms/PICKDETAIL/u-picked")
    real = OrderFeed.apply
    failing = picked["value"]["event_id"]

    def apply(self: OrderFeed, event: CanonicalEvent, topic: str, partition: int) -> list[Any]:
        out = real(self, event, topic, partition)
        if str(event.event_id) == failing:
            raise ValueError("boom")
        return out

    monkeypatch.setattr(OrderFeed, "apply", apply)
    batch = _batch(process, [allocated, picked])
    assert [r.reason for r in batch.rejected] == ["apply_failed"]
    cursor = Cursor()
    batch.extra[0](cursor)  # type: ignore[arg-type]
    steps = cursor.rows("order_tracking")
    # the allocation once (applied again after the rollback), the failed pick not at all
    assert [(row[0], row[2]) for row in steps] == [(allocated["value"]["order_id"], "allocated")]
    assert picked["value"]["order_id"] not in process.orders.tracker.orders
