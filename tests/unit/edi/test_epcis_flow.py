"""The EPCIS flow: what becomes an EPCIS event and when, once per canonical event."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edi.epcis import SOURCE_EVENT_ID, epcis_document, to_json
from edi.epcis_flow import CANDIDATES, Emitted, Flow, Rejected, export_events, read_event
from edi.plan import Consumed, Unreadable, Where
from edi.settings import EdiSettings
from transforms.events import CanonicalEvent, to_kafka

from . import events as ev

SCHEMA = Path(__file__).parents[2] / "fixtures" / "epcis" / "EPCIS-JSON-Schema.json"
WAIT = timedelta(minutes=10)
_offsets = count()


def _flow() -> Flow:
    return Flow(EdiSettings().gs1())


def _read(event: CanonicalEvent, seconds: int = 0) -> Consumed:
    return Consumed(event, ev.T0 + timedelta(seconds=seconds), Where("t", 0, next(_offsets)))


def _order_events() -> list[CanonicalEvent]:
    order = ev.shipped_order()
    return [
        ev.item("BOLT-1001-RED"),
        ev.item("NUT-2002-BLU", gtin=ev.GTIN_2),
        *order.lines,
        *order.picks,
        order.dispatched,
    ]


def _valid(events: list[dict[str, Any]]) -> None:
    validator = jsonschema.Draft7Validator(
        json.loads(SCHEMA.read_text()), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    document = json.loads(to_json(epcis_document(events, created_at=ev.CREATED)))
    assert not [e.message for e in validator.iter_errors(document)]


def test_a_finished_read_exports_receipts_picks_dispatches_and_readings_once_each() -> None:
    source = [
        *_order_events(),
        ev.item("FISH-3003-ICE"),
        ev.received(),
        ev.temperature(),
        ev.line_changed("1.000", 30),  # a reference, no event of its own
    ]
    outcomes = export_events(_flow(), [_read(e, i) for i, e in enumerate(source)], ev.CREATED)
    assert all(isinstance(o, Emitted) for o in outcomes), outcomes
    steps = sorted(o.event["bizStep"] for o in outcomes if isinstance(o, Emitted))
    assert steps == ["picking"] * 3 + ["receiving", "sensor_reporting", "shipping"]
    candidates = {e.event_id for e in source if e.event_type in CANDIDATES}
    assert {o.source for o in outcomes} == candidates
    _valid([o.event for o in outcomes if isinstance(o, Emitted)])


def test_a_dispatch_waits_for_the_stream_to_pass_it_and_for_its_order_lines() -> None:
    flow = _flow()
    order = ev.shipped_order()
    flow.take(_read(order.dispatched, 10))
    for pick in order.picks:
        flow.take(_read(pick, 5))
    # the stream has not been read past the dispatch yet
    assert flow.release(ev.T0 + timedelta(seconds=10), ev.T0, WAIT) == []
    # past it, but the picks name lines not read yet: it waits for them (picks are ready)
    later = ev.T0 + timedelta(seconds=11)
    released = flow.release(later, later, WAIT)
    # the picks' item is not known yet either: they wait too
    assert released == []
    assert order.dispatched.event_id in flow.held
    for line in order.lines:
        flow.take(_read(line, 12))
    flow.take(_read(ev.item("BOLT-1001-RED"), 12))
    flow.take(_read(ev.item("NUT-2002-BLU", gtin=ev.GTIN_2), 12))
    released = flow.release(None, later, WAIT)
    assert [o.source_type for o in released] == ["order.picked"] * 3 + ["shipment.dispatched"]
    shipped = released[-1]
    assert isinstance(shipped, Emitted)
    assert shipped.event["bizStep"] == "shipping"
    assert sum(q["quantity"] for q in shipped.event["quantityList"]) == Decimal(30)


def test_what_never_comes_is_waited_for_then_rejected_with_its_reason() -> None:
    flow = _flow()
    received = ev.received()
    flow.take(_read(received))
    assert flow.release(None, ev.T0 + WAIT - timedelta(seconds=1), WAIT) == []
    (outcome,) = flow.release(None, ev.T0 + WAIT, WAIT)
    assert isinstance(outcome, Rejected)
    assert (outcome.source, outcome.reason) == (received.event_id, "missing_gtin")
    assert not flow.held


def test_an_event_read_twice_is_decided_once_and_snapshot_history_not_at_all() -> None:
    flow = _flow()
    reading = ev.temperature()
    history = ev.dispatched(snapshot=True)
    for event in (reading, reading, history):
        flow.take(_read(event))
    assert len(flow.release(None, ev.CREATED, WAIT)) == 1
    flow.take(_read(reading))  # again, after it was decided
    assert flow.release(None, ev.CREATED, WAIT) == []
    assert (flow.stats.duplicates, flow.stats.history) == (2, 1)


def test_a_restart_that_remembers_the_decisions_decides_only_the_rest() -> None:
    source = [_read(e, i) for i, e in enumerate(_order_events())]
    first = _flow()
    for item in source[:-1]:  # stopped before the dispatch was read
        first.take(item)
    decided = first.release(None, ev.CREATED, WAIT)
    assert len(decided) == 3
    second = _flow()
    for outcome in decided:
        assert isinstance(outcome, Emitted)
        second.remember(outcome.source, outcome.event_id)
    for item in source:  # the replay, then the rest
        second.take(item)
    rest = second.release(None, ev.CREATED, WAIT)
    assert [o.source_type for o in rest] == ["shipment.dispatched"]
    whole = export_events(_flow(), source, ev.CREATED)
    assert sorted(o.event_id for o in [*decided, *rest] if isinstance(o, Emitted)) == sorted(
        o.event_id for o in whole if isinstance(o, Emitted)
    )


def test_two_picks_of_the_same_content_get_two_event_ids() -> None:
    first = ev.picked("1.000", 6, lot="L2405A", key="PD1")
    second = ev.picked("1.000", 6, lot="L2405A", key="PD2")
    outcomes = export_events(
        _flow(), [_read(ev.item("BOLT-1001-RED")), _read(first), _read(second)], ev.CREATED
    )
    events = [o.event for o in outcomes if isinstance(o, Emitted)]
    assert len({e["eventID"] for e in events}) == 2
    assert SOURCE_EVENT_ID not in events[0]
    assert events[1][SOURCE_EVENT_ID] == f"urn:uuid:{second.event_id}"
    _valid(events)


@pytest.mark.parametrize(
    ("value", "ce_type", "expected"),
    [
        (b"{", b"goods.received", "invalid_event"),
        (b"{}", None, "invalid_event"),
        (b"{", b"inventory.adjusted", None),  # not read: not parsed
        (None, b"item.upserted", None),  # a tombstone
    ],
)
def test_records_that_are_not_events_are_rejected_or_read_past(
    value: bytes | None, ce_type: bytes | None, expected: str | None
) -> None:
    item = read_event(value, ce_type, Where("t", 0, 7), ev.T0)
    if expected is None:
        assert item is None
    else:
        assert isinstance(item, Unreadable)
        assert item.reason == expected
        rejected = _flow().take(item)
        assert isinstance(rejected, Rejected)
        assert rejected.where == Where("t", 0, 7)


def test_a_record_as_the_pipeline_writes_it_is_read_back() -> None:
    reading = ev.temperature()
    record = to_kafka(reading)
    ce_type = dict(record.headers)["ce_type"]
    raw = ce_type.encode() if isinstance(ce_type, str) else ce_type
    item = read_event(record.value, raw, Where("t", 0, 1), ev.T0)
    assert isinstance(item, Consumed)
    assert item.event == reading


def test_cartons_packed_after_the_picks_are_the_shipping_events_epcs() -> None:
    """Picks without a carton, each followed by its ``order.packed`` (as the WMS writes
    them): the shipping event lists the same SSCCs as for picks that named their cartons."""
    order = ev.shipped_order()
    written = [
        ev.item("BOLT-1001-RED"),
        ev.item("NUT-2002-BLU", gtin=ev.GTIN_2),
        *order.lines,
        *ev.as_the_wms_writes_it(order),
        order.dispatched,
    ]
    outcomes = export_events(_flow(), [_read(e, i) for i, e in enumerate(written)], ev.CREATED)
    (shipping,) = [
        o.event
        for o in outcomes
        if isinstance(o, Emitted) and o.source_type == "shipment.dispatched"
    ]
    (named,) = [
        o.event
        for o in export_events(
            _flow(), [_read(e, i) for i, e in enumerate(_order_events())], ev.CREATED
        )
        if isinstance(o, Emitted) and o.source_type == "shipment.dispatched"
    ]
    assert shipping["epcList"] == named["epcList"]
    assert sorted(shipping["epcList"]) == sorted(
        f"https://id.gs1.org/00/{s}" for s in (ev.SSCC, ev.SSCC_2)
    )
    _valid([o.event for o in outcomes if isinstance(o, Emitted)])
