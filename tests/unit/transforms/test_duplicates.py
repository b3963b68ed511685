"""A line entered twice and a reading written twice: the mappers mark the second copy
``duplicate`` (the gate quarantines it) from reference state, whatever batch it comes in, and
the first copy passes. Captured envelopes, with the copy's key columns changed."""

from __future__ import annotations

from pathlib import Path

import orjson

from transforms.events import OrderPlaced, TemperatureRecorded
from transforms.pipeline import Emit, RawMessage, process, route
from transforms.quality import QualityGate
from transforms.reference import Reference, StateStore

from .test_mappers import FIXTURES, REGISTRY, reference

GATE = QualityGate.load()


def _raw(path: Path, offset: int, **after: object) -> RawMessage:
    record = orjson.loads(path.read_bytes())
    value = orjson.loads(record["value"])
    value["after"].update(after)
    return RawMessage(record["topic"], 0, offset, None, orjson.dumps(value))


def _map(ref: Reference, store: StateStore, raw: RawMessage) -> Emit:
    outcome = process(raw, REGISTRY, ref)
    assert isinstance(outcome, Emit), outcome
    for update in outcome.state:
        store.apply(update)
    store.commit()  # as the runner does after each batch: the copies are in other batches
    return outcome


def _store(ref: Reference) -> StateStore:
    store: StateStore = ref._store
    return store


def test_the_second_entry_of_a_line_is_a_duplicate_and_the_gate_refuses_only_it() -> None:
    path = FIXTURES / "erp/f4211/c-case.json"
    ref = reference(leave_out=path)
    store = _store(ref)
    first = _map(ref, store, _raw(path, 1))
    again = _map(ref, store, _raw(path, 2))  # the same line read again (a re-snapshot)
    copy = _map(ref, store, _raw(path, 3, sdlnid=2000))
    other = _map(ref, store, _raw(path, 4, sdlnid=3000, sduorg=100))  # another quantity
    placed = [o.events[0] for o in (first, again, copy, other)]
    assert all(isinstance(e, OrderPlaced) for e in placed)
    assert [e.duplicate for e in placed] == [False, False, True, False]  # type: ignore[attr-defined]
    routed = route([(_raw(path, i), o) for i, o in enumerate((first, copy, other))], GATE)
    assert [type(o).__name__ for _, o in routed] == ["Emit", "Quarantine", "Emit"]
    assert routed[1][1].reason == "line_not_duplicated"  # type: ignore[union-attr]


def test_a_second_reading_of_a_probe_at_the_same_instant_is_a_duplicate() -> None:
    path = FIXTURES / "wms/ZZ_TEMP_LOG/c-reading.json"
    ref = reference()
    store = _store(ref)
    after = orjson.loads(orjson.loads(path.read_bytes())["value"])["after"]
    serial, epoch = after["SerialKey"], after["ReadingEpoch"]
    first = _map(ref, store, _raw(path, 1))
    copy = _map(ref, store, _raw(path, 2, SerialKey=serial + 1))
    later = _map(ref, store, _raw(path, 3, SerialKey=serial + 2, ReadingEpoch=epoch + 60))
    readings = [o.events[0] for o in (first, copy, later)]
    assert all(isinstance(e, TemperatureRecorded) for e in readings)
    assert [e.duplicate for e in readings] == [False, True, False]  # type: ignore[attr-defined]
    routed = route([(_raw(path, i), o) for i, o in enumerate((first, copy, later))], GATE)
    assert [type(o).__name__ for _, o in routed] == ["Emit", "Quarantine", "Emit"]
    assert routed[1][1].reason == "reading_not_duplicated"  # type: ignore[union-attr]
