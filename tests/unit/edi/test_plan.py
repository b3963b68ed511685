"""What ``scv edi run`` builds from a batch: documents once, numbered without gaps, or rejects.

The events are canonical models (``events``); every document built is parsed by Bots
(``oracle``) and compared with the builders' own output for the same input, so these tests
are about the stage's decisions (which documents, when, numbered how, once), not about X12.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

import edi.plan
from edi.documents import ShippedOrder, write_856, write_944, write_945
from edi.errors import X12Error
from edi.plan import (
    EPOCH,
    Consumed,
    Context,
    Controls,
    Document,
    Item,
    Planned,
    Reject,
    State,
    StockRow,
    Unreadable,
    Where,
    due_846,
    file_name,
    plan,
    plan_846,
    read_record,
    releasable,
    slot,
    stream_time,
)
from edi.profile import load_partners
from edi.x12 import ControlNumbers
from transforms.events import CanonicalEvent, to_kafka

from . import events as ev
from . import oracle

PARTNERS = load_partners()
ACME = PARTNERS["acme-retail"]
NORTHWIND = PARTNERS["northwind-depositor"]
PUBLISHED = ev.T0 + timedelta(seconds=1)
_offsets = itertools.count()


def consumed(event: CanonicalEvent, *, at: datetime = PUBLISHED) -> Consumed:
    return Consumed(event, at, Where(event.TOPIC, 0, next(_offsets)))


def context(**changes: Any) -> Context:
    base = Context(
        profiles=PARTNERS,
        controls={},
        processed=frozenset(),
        emitted=frozenset(),
        now=ev.CREATED,
        stream_time=None,
    )
    return replace(base, **changes)


def batch(events: Iterable[CanonicalEvent], at: datetime = PUBLISHED) -> list[Consumed]:
    return [consumed(e, at=at) for e in events]


def order_events(order: ShippedOrder) -> list[CanonicalEvent]:
    return [*order.lines, *order.picks, order.dispatched]


def run(
    events: Sequence[CanonicalEvent], state: State | None = None, **changes: Any
) -> tuple[Planned, State]:
    state = state or State()
    return plan(batch(events), state, context(**changes)), state


def kinds(planned: Planned) -> list[tuple[str, str, int]]:
    return [(d.partner_id, d.doc_type, d.control.interchange) for d in planned.documents]


# --- outbound: 856 and 945 per dispatch ------------------------------------------------------


def test_a_dispatch_gives_the_856_of_the_partner_whose_site_it_left() -> None:
    order = ev.shipped_order()
    planned, state = run(order_events(order))
    assert kinds(planned) == [("acme-retail", "856", 1)]  # northwind has no Chicago site
    (doc,) = planned.documents
    control = ControlNumbers(1, 1, 1)
    expected = write_856(ACME, order, control=control, at=ev.CREATED)
    assert doc.content == expected
    parsed = oracle.parse(doc.content)
    assert (parsed.isa["ISA13"], parsed.gs["GS06"], parsed.sets[0]["ST02"]) == ("1", "1", "0001")
    assert doc.content[90:99] == b"000000001"
    assert doc.file_name == "acme-retail-856-000000001.x12"
    assert doc.business_key == f"{ev.SHIPMENT}|{ev.ORDER}"
    assert set(doc.event_ids) == {e.event_id for e in order_events(order)}
    assert planned.controls == {"acme-retail": Controls(2, 2)}
    assert not planned.rejects
    assert state.orders == {}  # the order's documents are built: its state is forgotten
    assert planned.state[("order", ev.ORDER)] is None


def test_a_dispatch_from_the_cold_dc_gives_northwinds_945() -> None:
    order = ev.shipped_order(site=ev.COLD_SITE)
    planned, _ = run(order_events(order))
    assert kinds(planned) == [("northwind-depositor", "945", 1)]
    expected = write_945(NORTHWIND, order, control=ControlNumbers(1, 1, 1), at=ev.CREATED)
    assert planned.documents[0].content == expected
    oracle.parse(expected)


def test_control_numbers_count_up_per_partner_without_gaps() -> None:
    state = State()
    controls: dict[str, Controls] = {"acme-retail": Controls(41, 7)}
    seen: list[tuple[int, int, int]] = []
    for n in range(3):
        order = replace(
            ev.shipped_order(),
            dispatched=ev.dispatched(shipment=f"MB{n:07d}"),
        )
        planned, _ = run(order_events(order), state, controls=controls)
        controls = {**controls, **planned.controls}
        seen.extend(
            (d.control.interchange, d.control.group, d.control.transaction_set)
            for d in planned.documents
        )
        for doc in planned.documents:
            parsed = oracle.parse(doc.content)
            assert int(parsed.isa["ISA13"]) == int(parsed.gs["GS06"]) == doc.control.interchange
    assert seen == [(41, 41, 7), (42, 42, 8), (43, 43, 9)]
    assert controls["acme-retail"] == Controls(44, 10)


def test_each_partner_has_its_own_numbers() -> None:
    acme = ev.shipped_order()
    cold = ev.shipped_order(site=ev.COLD_SITE, order="00020-SO-777", shipment="MB0000888")
    controls = {"acme-retail": Controls(10, 10), "northwind-depositor": Controls(500, 900)}
    planned, _ = run([*order_events(acme), *order_events(cold)], controls=controls)
    assert sorted(kinds(planned)) == [
        ("acme-retail", "856", 10),
        ("northwind-depositor", "945", 500),
    ]


def test_the_945_orders_the_quantity_as_last_changed_and_leaves_out_a_cancelled_line() -> None:
    order = ev.shipped_order(site=ev.COLD_SITE)
    extra = ev.placed("3.000", 5, site=ev.COLD_SITE)
    events = [
        *order.lines,
        extra,
        ev.line_changed("1.000", 30, site=ev.COLD_SITE),
        ev.cancelled("3.000", site=ev.COLD_SITE),
        *order.picks,
        order.dispatched,
    ]
    planned, _ = run(events)
    (doc,) = planned.documents
    lines = oracle.records(oracle.parse(doc.content).sets[0], "W12")
    # line 1 ordered 30 (changed from 24), shipped 24: partial; line 3 cancelled: not there
    assert [(w["W1202"], w["W1203"], w["W1204"]) for w in lines] == [
        ("30", "24", "6"),
        ("10", "6", "4"),
    ]


def test_a_line_without_gtin_takes_the_item_masters() -> None:
    order = ev.shipped_order()
    bare = ev.placed("1.000", 24, gtin=None)
    events = [
        ev.item("BOLT-1001-RED", gtin=ev.GTIN),
        bare,
        order.lines[1],
        *order.picks,
        order.dispatched,
    ]
    planned, _ = run(events)
    assert not planned.rejects
    assert kinds(planned) == [("acme-retail", "856", 1)]


# --- rejects ---------------------------------------------------------------------------------


def test_a_document_the_profile_cannot_express_is_rejected_and_takes_no_number() -> None:
    state = State()
    no_gtin = ev.shipped_order()
    no_gtin = replace(
        no_gtin,
        lines=(ev.placed("1.000", 24, gtin=None), no_gtin.lines[1]),
        dispatched=ev.dispatched(shipment="MB0000001"),
    )
    planned, _ = run(order_events(no_gtin), state)
    assert planned.documents == []
    (reject,) = planned.rejects
    assert (reject.reason, reject.partner_id, reject.doc_type) == (
        "missing_gtin",
        "acme-retail",
        "856",
    )
    assert reject.business_key == f"MB0000001|{ev.ORDER}"
    assert reject.event_id == no_gtin.dispatched.event_id
    assert planned.controls == {}
    good = replace(ev.shipped_order(), dispatched=ev.dispatched(shipment="MB0000002"))
    planned, _ = run(order_events(good), state)
    assert kinds(planned) == [("acme-retail", "856", 1)]  # the number the reject did not take


def test_an_unknown_unit_is_rejected_with_its_reason() -> None:
    order = ev.shipped_order(site=ev.COLD_SITE)
    odd = ev.placed("1.000", 24, site=ev.COLD_SITE, uom="DRUM")
    planned, _ = run([odd, order.lines[1], *order.picks, order.dispatched])
    (reject,) = planned.rejects
    assert reject.reason == "unknown_unit"
    assert "DRUM" in reject.detail
    assert planned.documents == []


def test_a_builder_failing_on_an_event_rejects_it_and_an_envelope_failure_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def overflow(*_: Any, **__: Any) -> bytes:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(edi.plan, "write_856", overflow)
    planned, _ = run(order_events(ev.shipped_order()))
    assert [(r.reason, r.detail) for r in planned.rejects] == [
        ("build_failed", "OverflowError: date value out of range")
    ]
    monkeypatch.undo()
    with pytest.raises(X12Error, match="ISA13"):
        run(order_events(ev.shipped_order()), controls={"acme-retail": Controls(10**9, 1)})


def test_an_unreadable_record_is_rejected_where_it_was_read() -> None:
    where = Where("scv.shipment.v1", 2, 17)
    item = read_record(b"{not json", None, where, PUBLISHED)
    assert isinstance(item, Unreadable)
    planned = plan([item], State(), context())
    assert [(r.reason, r.where) for r in planned.rejects] == [("malformed_json", where)]


# --- once ------------------------------------------------------------------------------------


def test_an_event_read_twice_acts_once() -> None:
    events = order_events(ev.shipped_order())
    twice = [*events, *events]
    planned, _ = run(twice)
    assert kinds(planned) == [("acme-retail", "856", 1)]
    assert planned.duplicates == len(events)
    assert len(planned.processed) == len(events)


def test_an_event_processed_in_an_earlier_batch_is_skipped() -> None:
    order = ev.shipped_order()
    planned, _ = run(order_events(order), processed=frozenset({order.dispatched.event_id}))
    assert planned.documents == []
    assert planned.duplicates == 1


def test_the_same_dispatch_under_another_event_id_gives_no_second_document() -> None:
    order = ev.shipped_order()
    again = ev.dispatched()  # same shipment and order, new event id
    key = f"{ev.SHIPMENT}|{ev.ORDER}"
    planned, _ = run([again], emitted=frozenset({("acme-retail", "856", key)}))
    assert planned.documents == []
    assert planned.duplicates == 1
    # and while the first is still held
    state = State()
    held, _ = run(order_events(order), state, stream_time=EPOCH)
    assert held.waiting == 1
    planned, _ = run([again], state, stream_time=EPOCH)
    assert planned.duplicates == 1
    assert len(state.held) == 1


def test_a_dispatch_read_by_a_snapshot_is_history() -> None:
    order = replace(ev.shipped_order(), dispatched=ev.dispatched(snapshot=True))
    planned, state = run(order_events(order))
    assert planned.documents == []
    assert state.held == {}


def test_sites_and_types_no_partner_receives_keep_no_state() -> None:
    elsewhere = ev.shipped_order(site="99999")
    planned, state = run(order_events(elsewhere))
    assert planned.documents == []
    assert planned.processed == []
    assert state.orders == {}
    assert state.held == {}
    receipt_at_acme = ev.received(site=ev.SITE)  # ACME receives no 944
    planned, state = run([receipt_at_acme])
    assert planned.documents == []
    assert state.held == {}


# --- when a document is built ----------------------------------------------------------------


def test_a_dispatch_waits_until_every_partition_is_read_past_it() -> None:
    state = State()
    order = ev.shipped_order()
    planned, _ = run(order_events(order), state, stream_time=PUBLISHED)  # not past it
    assert planned.documents == []
    assert planned.waiting == 1
    assert ("held", f"dispatch|{ev.SHIPMENT}|{ev.ORDER}") in planned.state
    later = context(stream_time=PUBLISHED + timedelta(milliseconds=1))
    assert releasable(state, later)
    planned = plan([], state, later)
    assert kinds(planned) == [("acme-retail", "856", 1)]
    assert planned.waiting == 0
    assert planned.state[("held", f"dispatch|{ev.SHIPMENT}|{ev.ORDER}")] is None


def test_picks_read_after_their_dispatch_are_in_its_documents() -> None:
    order = ev.shipped_order()
    state = State()
    first, _ = run([*order.lines, order.dispatched], state, stream_time=EPOCH)
    assert first.documents == []
    planned, _ = run(list(order.picks), state, stream_time=None)
    assert kinds(planned) == [("acme-retail", "856", 1)]
    expected = write_856(ACME, order, control=ControlNumbers(1, 1, 1), at=ev.CREATED)
    assert planned.documents[0].content == expected


def test_a_dispatch_waits_for_the_lines_its_picks_name_at_most_line_wait() -> None:
    order = ev.shipped_order()
    state = State()
    planned, _ = run([order.lines[0], *order.picks, order.dispatched], state)  # line 2 not read
    assert planned.documents == []
    assert planned.waiting == 1
    late = context(now=PUBLISHED + timedelta(minutes=10))
    planned = plan([], state, late)
    assert [r.reason for r in planned.rejects] == ["pick_without_line"]
    assert planned.waiting == 0
    assert state.orders == {}


def test_a_late_line_releases_the_dispatch() -> None:
    order = ev.shipped_order()
    state = State()
    run([order.lines[0], *order.picks, order.dispatched], state)
    planned, _ = run([order.lines[1]], state)
    assert kinds(planned) == [("acme-retail", "856", 1)]
    assert planned.documents[0].content == write_856(
        ACME, order, control=ControlNumbers(1, 1, 1), at=ev.CREATED
    )


def test_stream_time_is_the_oldest_read_among_partitions_not_at_their_end() -> None:
    a, b, c = ("t", 0), ("t", 1), ("t", 2)
    t1, t2 = ev.T0, ev.T0 + timedelta(seconds=5)
    assert stream_time([a, b], {a: t1, b: t2}, []) == t1
    assert stream_time([a, b], {a: t1, b: t2}, [a]) == t2
    assert stream_time([a, b, c], {a: t1, b: t2}, [a, b]) == EPOCH  # c: nothing read yet
    assert stream_time([a, b], {}, [a, b]) is None


# --- inbound: 944 per receipt ----------------------------------------------------------------


def test_a_receipt_gives_northwinds_944_with_the_item_masters_gtin() -> None:
    receipt = ev.received()
    planned, _ = run([ev.item("FISH-3003-ICE", gtin=ev.GTIN), receipt])
    assert kinds(planned) == [("northwind-depositor", "944", 1)]
    expected = write_944(
        NORTHWIND, receipt, control=ControlNumbers(1, 1, 1), at=ev.CREATED, gtin=ev.GTIN
    )
    assert planned.documents[0].content == expected
    assert planned.documents[0].business_key == receipt.receipt_id
    oracle.parse(expected)


def test_receipts_and_dispatches_share_the_partners_numbers_in_read_order() -> None:
    cold = ev.shipped_order(site=ev.COLD_SITE)
    events = [ev.received(receipt="1"), *order_events(cold), ev.received(receipt="2")]
    planned = plan(
        [consumed(e, at=PUBLISHED + timedelta(seconds=i)) for i, e in enumerate(events)],
        State(),
        context(),
    )
    assert kinds(planned) == [
        ("northwind-depositor", "944", 1),
        ("northwind-depositor", "945", 2),
        ("northwind-depositor", "944", 3),
    ]


# --- state -----------------------------------------------------------------------------------


class Table:
    """The ``state`` table: the rows the written changes leave (JSON through bytes)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def write(self, changes: dict[tuple[str, str], dict[str, Any] | None]) -> State:
        """Apply ``changes``; the state a restart would load from the rows."""
        for row, value in changes.items():
            if value is None:
                self.rows.pop(row, None)
            else:
                self.rows[row] = orjson.loads(orjson.dumps(value))
        fresh = State()
        for (kind, key), value in self.rows.items():
            fresh.load(kind, key, value)
        return fresh


def test_one_event_per_batch_with_a_restart_between_each_gives_the_same_documents() -> None:
    cold = ev.shipped_order(site=ev.COLD_SITE)
    events: list[CanonicalEvent] = [
        ev.item("FISH-3003-ICE"),
        *cold.lines,
        ev.line_changed("2.000", 12, site=ev.COLD_SITE),
        *cold.picks,
        cold.dispatched,
        ev.received(),
        *order_events(ev.shipped_order(order="00020-SO-778", shipment="MB0000999")),
    ]
    whole = plan(batch(events), State(), context())
    state, table = State(), Table()
    controls: dict[str, Controls] = {}
    pieces: list[Document] = []
    for event in events:
        planned = plan(batch([event]), state, context(controls=controls))
        controls = {**controls, **planned.controls}
        pieces.extend(planned.documents)
        state = table.write(planned.state)

    def by_partner(docs: list[Document]) -> list[bytes]:
        return [
            d.content for d in sorted(docs, key=lambda d: (d.partner_id, d.control.interchange))
        ]

    assert by_partner(pieces) == by_partner(whole.documents)
    assert len(pieces) == 3


def test_the_state_survives_its_json() -> None:
    state = State()
    order = ev.shipped_order()
    run([ev.item("X", gtin=None), *order.lines, ev.cancelled("2.000"), *order.picks], state)
    state.advised("acme-retail", ev.T0)
    run([order.dispatched], state, stream_time=EPOCH)
    rows = {(k, key): state.value(k, key) for k, key in
            [("order", ev.ORDER), ("item", "X"), ("schedule", "acme-retail"),
             *(("held", h) for h in state.held)]}  # fmt: skip
    fresh = Table().write(rows)
    assert fresh.orders == state.orders
    assert fresh.items == state.items == {"X": Item(None, "EA")}
    assert fresh.held == state.held
    assert fresh.schedule == state.schedule


def test_orders_never_dispatched_are_forgotten() -> None:
    state = State()
    old = ev.placed("1.000", 1, order="OLD")
    new = ev.placed("1.000", 1, order="NEW")
    plan([consumed(old, at=ev.T0)], state, context())
    planned = plan(
        [consumed(new, at=ev.T0 + timedelta(days=40))],
        state,
        context(forget_before=ev.T0 + timedelta(days=10)),
    )
    assert set(state.orders) == {"NEW"}
    assert planned.state[("order", "OLD")] is None


def test_a_whole_order_cancelled_is_forgotten() -> None:
    state = State()
    run([ev.placed("1.000", 1), ev.cancelled(None)], state)
    assert state.orders == {}


# --- records ---------------------------------------------------------------------------------


def test_records_of_types_not_acted_on_are_not_parsed() -> None:
    where = Where("scv.order.v1", 0, 1)
    assert read_record(b"garbage", b"order.allocated", where, PUBLISHED) is None
    assert read_record(None, None, where, PUBLISHED) is None
    record = to_kafka(ev.dispatched())
    found = read_record(record.value, b"shipment.dispatched", where, PUBLISHED)
    assert isinstance(found, Consumed)
    assert found.event.event_type == "shipment.dispatched"


def test_a_nul_in_a_text_is_rejected_before_it_reaches_jsonb() -> None:
    bad = ev.dispatched(tracking="1Z\x00")
    found = read_record(to_kafka(bad).value, None, Where("t", 0, 0), PUBLISHED)
    assert isinstance(found, Unreadable)
    assert found.reason == "invalid_text"


def test_an_unknown_type_is_told_from_an_invalid_event() -> None:
    where = Where("t", 0, 0)
    unknown = read_record(b'{"event_type": "order.teleported"}', None, where, PUBLISHED)
    invalid = read_record(b'{"event_type": "shipment.dispatched"}', None, where, PUBLISHED)
    assert isinstance(unknown, Unreadable)
    assert unknown.reason == "unknown_type"
    assert isinstance(invalid, Unreadable)
    assert invalid.reason == "invalid_event"


# --- 846 -------------------------------------------------------------------------------------


def _stock(site: str, item: str, on_hand: int, allocated: int) -> StockRow:
    return StockRow(
        site, item, Decimal(on_hand), Decimal(allocated), Decimal(0), Decimal(on_hand - allocated)
    )


STOCK = [
    _stock("30001", "FISH-3003-ICE", 40, 4),
    _stock("30001", "PEAS-4004-GRN", 12, 0),
    _stock("20001", "BOLT-1001-RED", 99, 0),  # not a northwind site: left out
]
ITEMS = {
    "FISH-3003-ICE": Item(ev.GTIN, "EA"),
    "PEAS-4004-GRN": Item(None, "CA"),
    "BOLT-1001-RED": Item(ev.GTIN_2, "EA"),
}


def test_the_846_advises_the_partners_sites_and_numbers_one_set_per_site() -> None:
    outcome, after = plan_846(
        NORTHWIND, STOCK, ITEMS, controls=Controls(5, 9), as_of=ev.T0, now=ev.CREATED,
        business_key="scheduled@x",
    )  # fmt: skip
    assert isinstance(outcome, Document)
    parsed = oracle.parse(outcome.content)
    assert [s["ST02"] for s in parsed.sets] == ["0009"]
    assert [q["QTY02"] for q in oracle.records(parsed.sets[0], "QTY")] == [
        "40", "36", "4", "12", "12", "0",
    ]  # fmt: skip
    assert (outcome.control.interchange, outcome.sets, after) == (5, 1, Controls(6, 10))
    acme, after = plan_846(
        ACME, STOCK, ITEMS, controls=Controls(1, 1), as_of=ev.T0, now=ev.CREATED,
        business_key="k",
    )  # fmt: skip
    assert isinstance(acme, Document)
    assert acme.file_name == "acme-retail-846-000000001.x12"


def test_an_846_with_an_item_the_master_does_not_hold_is_rejected_whole() -> None:
    outcome, after = plan_846(
        NORTHWIND, STOCK, {}, controls=Controls(5, 9), as_of=ev.T0, now=ev.CREATED,
        business_key="k",
    )  # fmt: skip
    assert isinstance(outcome, Reject)
    assert (outcome.reason, outcome.partner_id, outcome.doc_type) == (
        "unknown_unit", "northwind-depositor", "846",
    )  # fmt: skip
    assert after == Controls(5, 9)
    nothing, _ = plan_846(
        NORTHWIND, [], ITEMS, controls=Controls(1, 1), as_of=ev.T0, now=ev.CREATED,
        business_key="k",
    )  # fmt: skip
    assert isinstance(nothing, Reject)
    assert nothing.reason == "nothing_to_advise"


def test_the_846_schedule_has_one_slot_per_period_per_partner() -> None:
    at = datetime(2026, 3, 2, 14, 7, 3, tzinfo=UTC)
    assert slot(at, 15) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert slot(at, 60) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    due = due_846(PARTNERS, {}, at)
    assert due == [("acme-retail", slot(at, 15)), ("northwind-depositor", slot(at, 60))]
    schedule = dict(due)
    assert due_846(PARTNERS, schedule, at + timedelta(minutes=7)) == []
    assert due_846(PARTNERS, schedule, at + timedelta(minutes=8)) == [
        ("acme-retail", datetime(2026, 3, 2, 14, 15, tzinfo=UTC))
    ]


def test_file_names_are_fixed_by_partner_type_and_interchange() -> None:
    assert file_name("acme-retail", "856", 42) == "acme-retail-856-000000042.x12"
    doc = Document("p", "944", "k", (uuid.UUID(int=1),), ControlNumbers(7, 7, 3), 1, b"x", ev.T0)
    assert doc.file_name == "p-944-000000007.x12"
    assert len(doc.sha256) == 64


# --- cartons: the WMS writes them after the pick ---------------------------------------------


def test_cartons_packed_after_the_picks_are_the_856s_pack_level() -> None:
    """Picks without a carton, each followed by its ``order.packed``: the same 856 as picks
    that named their cartons, with a ``MAN*GM`` per carton, across a restart in between."""
    order = ev.shipped_order()
    table = Table()
    first, _ = run([*order.lines, *ev.as_the_wms_writes_it(order)])
    assert not first.documents
    restarted = table.write(first.state)
    packings = list(restarted.orders[ev.ORDER].packs.values())
    assert sorted(p.carton_sscc for p in packings) == [ev.SSCC, ev.SSCC_2, ev.SSCC_2]
    planned, _ = run([order.dispatched], restarted)
    (doc,) = planned.documents
    assert doc.content == write_856(ACME, order, control=ControlNumbers(1, 1, 1), at=ev.CREATED)
    (st,) = oracle.parse(doc.content).sets
    assert [m["MAN02"] for m in oracle.records(st, "MAN")] == [ev.SSCC, ev.SSCC_2, ev.SSCC_2]
    assert {p.event_id for p in packings} <= set(doc.event_ids)


def test_without_a_packing_the_856_has_no_carton() -> None:
    order = ev.shipped_order()
    bare = [p.model_copy(update={"case_id": None}) for p in order.picks]
    planned, _ = run([*order.lines, *bare, order.dispatched])
    (doc,) = planned.documents
    (st,) = oracle.parse(doc.content).sets
    assert oracle.records(st, "MAN") == []
