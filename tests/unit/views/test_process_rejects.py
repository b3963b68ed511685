"""The view process rejects a record it cannot apply, with a reason, instead of stopping.

Stopping on a bad canonical record stopped every start on the same record. The records here
are canonical events as the pipeline wrote them (the golden outcomes of the recorded
Debezium fixtures), one field damaged. The store is an in-memory stand-in with the real
``Store``'s contract: a batch (positions, documents, alert state, applied ids, offsets,
rejected rows) is written whole, and ``load`` gives back what the written batches left.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from transforms.events import CanonicalEvent, from_json
from views.alerts import Monitor
from views.positions import Book, doc_from_json
from views.process import Evaluator, Rejected, ViewProcess, read_event
from views.settings import ViewsSettings
from views.store import Batch
from views.supply import Supply

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"
TOPIC = "scv.inventory.v1"


def _golden(case: str) -> tuple[bytes, dict[str, Any]]:
    """The first canonical record a recorded fixture maps to: (key, value as JSON)."""
    outcome = orjson.loads((FIXTURES / f"{case}.expected.json").read_bytes())
    record = outcome["events"][0]
    return record["key"].encode(), record["value"]


ADJUSTED_KEY, ADJUSTED = _golden("wms/ITRN/c-count")  # inventory.adjusted, delta 1
SITE_ITEM = (ADJUSTED["site_id"], ADJUSTED["item_id"])


def adjusted(delta: str, n: int) -> bytes:
    """The recorded adjustment with its own id and delta."""
    return orjson.dumps({**ADJUSTED, "event_id": str(uuid.UUID(int=n)), "delta": delta})


class FakeMessage:
    def __init__(self, offset: int, value: bytes | None, partition: int = 0) -> None:
        self._offset = offset
        self._value = value
        self._partition = partition

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return ADJUSTED_KEY

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> None:
        return None


class FakeStore:
    """Keeps what the written batches leave, as the serving tables do."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.loads = 0

    def already_applied(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = set(ids)
        return {a.event_id for b in self.batches for a in b.applied} & wanted

    def write(self, batch: Batch) -> None:
        self.batches.append(batch)

    def load(
        self, book: Book, monitor: Monitor, supply: Supply | None = None
    ) -> dict[tuple[str, int], int]:
        self.loads += 1
        for batch in self.batches:
            if supply is not None and batch.supply is not None:
                for (kind, key), state in batch.supply.state.items():
                    if state is not None:
                        supply.load_row(kind, key, state)
            for key, position in batch.positions.items():
                book.load_position(key, position)
            for (kind, key), doc in batch.documents.items():
                if doc is not None:
                    book.load_doc(kind, key, doc)
            for key, value in batch.alert_state.items():
                if value is not None:
                    monitor.load(key, value)
        return {}


def _process() -> tuple[ViewProcess, FakeStore]:
    store = FakeStore()
    lines: list[str] = []
    process = ViewProcess(ViewsSettings(), store, log=lines.append)  # type: ignore[arg-type]
    process.lines = lines  # type: ignore[attr-defined]
    return process, store


def _run(process: ViewProcess, values: list[bytes | None], start: int = 0) -> Batch:
    store: FakeStore = process.store  # type: ignore[assignment]
    offsets: dict[tuple[str, int], int] = {}
    process._batch([FakeMessage(start + i, v) for i, v in enumerate(values)], offsets)  # type: ignore[arg-type]
    assert offsets == {(TOPIC, 0): start + len(values)}
    return store.batches[-1]


def test_the_recorded_records_apply() -> None:
    process, _ = _process()
    batch = _run(process, [adjusted("5", 1), adjusted("2", 2)])
    assert not batch.rejected
    assert len(batch.applied) == 2
    assert process.book.position(SITE_ITEM).on_hand == Decimal(7)


def _damaged(field: str, value: object) -> bytes:
    return orjson.dumps({**ADJUSTED, "event_id": str(uuid.UUID(int=99)), field: value})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[1, 2]", "invalid_event"),
        (_damaged("event_type", "inventory.teleported"), "unknown_type"),
        (_damaged("delta", "a lot"), "invalid_event"),
        (_damaged("occurred_at", "2026-13-45T00:00:00Z"), "invalid_event"),
        (_damaged("extra_field", 1), "invalid_event"),
        (_damaged("delta", "1E+40"), "out_of_range"),
        (_damaged("delta", "-" + "9" * 5000), "out_of_range"),
        (_damaged("occurred_at", "9999-12-31T23:59:59Z"), "out_of_range"),
        (_damaged("occurred_at", "0001-01-01T00:00:00Z"), "out_of_range"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_bad_record_is_rejected_and_its_offset_committed_in_the_same_batch(
    value: bytes, reason: str
) -> None:
    process, _ = _process()
    batch = _run(process, [adjusted("5", 1), value, adjusted("2", 2)])
    (rejected,) = batch.rejected
    assert (rejected.topic, rejected.partition, rejected.offset) == (TOPIC, 0, 1)
    assert (rejected.key, rejected.value) == (ADJUSTED_KEY, value)
    assert rejected.reason == reason
    assert rejected.detail
    assert batch.offsets == {(TOPIC, 0): 3}  # past the rejected record, in its transaction
    assert len(batch.applied) == 2
    assert process.book.position(SITE_ITEM).on_hand == Decimal(7)
    assert process.stats.rejected == {reason: 1}
    assert any(f"@1 rejected: {reason}" in line for line in process.lines)  # type: ignore[attr-defined]


def test_read_event_accepts_every_recorded_canonical_record() -> None:
    count = 0
    for path in sorted(FIXTURES.glob("*/*/*.expected.json")):
        for record in orjson.loads(path.read_bytes()).get("events", []):
            value = orjson.dumps(record["value"])
            event = read_event(value)
            assert isinstance(event, CanonicalEvent), (path.name, event)
            assert event == from_json(value)
            count += 1
    assert count > 30


def test_a_nul_in_the_reason_is_stored_escaped() -> None:
    why = read_event(_damaged("event_type", "bad\x00type"))
    assert isinstance(why, Rejected)
    assert "\x00" not in why.detail
    assert "\\x00" in why.detail


def test_an_event_whose_arithmetic_raises_is_rejected_and_the_book_reloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Applying it changed the book half-way, then raised: the batch is applied again on the
    book as the last committed batch left it, without that record."""
    poison = uuid.UUID(int=13)
    real_apply = Evaluator.apply

    def apply(self: Evaluator, event: CanonicalEvent) -> list[Any]:
        alerts = real_apply(self, event)  # the book has moved...
        if event.event_id == poison:
            raise ArithmeticError("overflow in a bucket")  # ...and then it fails
        return alerts

    monkeypatch.setattr(Evaluator, "apply", apply)
    process, store = _process()
    _run(process, [adjusted("100", 10)])  # committed: on hand 100
    batch = _run(process, [adjusted("5", 11), adjusted("1000", 13), adjusted("1", 12)], start=1)
    (rejected,) = batch.rejected
    assert (rejected.offset, rejected.reason) == (2, "apply_failed")
    assert rejected.detail == "ArithmeticError: overflow in a bucket"
    assert store.loads == 1
    assert process.book.position(SITE_ITEM).on_hand == Decimal(106)
    assert batch.positions[SITE_ITEM].on_hand == Decimal(106)
    assert [a.offset for a in batch.applied] == [1, 3]
    assert process.stats.applied == 3
    assert process.stats.rejected == {"apply_failed": 1}
    # The reloaded book is the one the process goes on with.
    assert process.evaluator.book is process.book
    _run(process, [adjusted("4", 14)], start=4)
    assert process.book.position(SITE_ITEM).on_hand == Decimal(110)


def test_a_duplicate_is_counted_once_when_the_batch_is_applied_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_apply = Evaluator.apply

    def apply(self: Evaluator, event: CanonicalEvent) -> list[Any]:
        if event.event_id == uuid.UUID(int=66):
            raise ValueError("bad")
        return real_apply(self, event)

    monkeypatch.setattr(Evaluator, "apply", apply)
    process, _ = _process()
    _run(process, [adjusted("1", 1), adjusted("1", 1), adjusted("1", 66)])
    assert (process.stats.applied, process.stats.duplicates) == (1, 1)
    assert process.stats.rejected == {"apply_failed": 1}


def test_documents_survive_the_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the reload reads back (documents) is what ``Store.load`` does: kept as written."""
    _key, placed = _golden("erp/f4211/c-case")
    process, store = _process()
    _run(process, [orjson.dumps(placed)])
    docs = {k: v for b in store.batches for k, v in b.documents.items()}
    assert ("line", placed["line_id"]) in docs
    book = Book()
    store.load(book, Monitor(ViewsSettings().policy()))
    line = book.lines[placed["line_id"]]
    assert line == doc_from_json("line", docs[("line", placed["line_id"])])


def test_a_nul_in_a_text_is_rejected_before_postgresql_refuses_the_batch() -> None:
    """A MariaDB VARCHAR holds NUL; PostgreSQL text/jsonb do not: the write would fail on it
    at every start."""
    process, _ = _process()
    batch = _run(process, [_damaged("location", "12AA\x001302"), adjusted("1", 1)])
    (rejected,) = batch.rejected
    assert rejected.reason == "invalid_text"
    assert len(batch.applied) == 1


def test_an_escaped_backslash_u0000_text_is_no_nul() -> None:
    assert isinstance(read_event(_damaged("location", "C:\\u0000")), CanonicalEvent)
