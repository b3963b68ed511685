"""Position arithmetic: each canonical event moves each bucket once, in any topic order."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from transforms.events import CanonicalEvent
from views.positions import Book, Position, doc_from_json, doc_to_json, replay

from .events import (
    ITEM,
    SITE,
    adjusted,
    advised,
    allocated,
    cancelled,
    dispatched,
    issued,
    opened,
    picked,
    placed,
    po_cancelled,
    received,
    reversed_receipt,
)

KEY = (SITE, ITEM)


def _position(*events: CanonicalEvent) -> Position:
    return replay(events).position(KEY)


def test_opening_stock_adjustments_receipts_and_reversals_move_on_hand() -> None:
    p = _position(opened(100), adjusted(-3), adjusted(2), received("P1", "1.000", 48))
    assert p.on_hand == Decimal(147)
    p = _position(opened(100), received("P1", "1.000", 48), reversed_receipt("P1", "1.000", 48))
    assert p.on_hand == Decimal(100)


def test_an_order_commits_on_entry_and_releases_on_dispatch() -> None:
    events = [
        opened(100),
        placed("SO1", "1.000", 10),
        placed("SO1", "2.000", 5),
        allocated("SO1", "1.000", "PD1", 10),
        allocated("SO1", "2.000", "PD2", 5),
    ]
    p = _position(*events)
    assert (p.on_hand, p.allocated, p.reserved, p.available) == (100, 15, 15, 85)
    events += [picked("SO1", "1.000", "PD1", 10), picked("SO1", "2.000", "PD2", 5)]
    p = _position(*events)
    assert (p.reserved, p.picked, p.on_hand, p.allocated) == (0, 15, 100, 15)
    p = _position(*events, dispatched("SO1"))
    assert p == Position(on_hand=Decimal(85))


def test_a_short_allocation_still_releases_the_whole_line_at_dispatch() -> None:
    p = _position(
        opened(4),
        placed("SO1", "1.000", 10),
        allocated("SO1", "1.000", "PD1", 4),
        picked("SO1", "1.000", "PD1", 4),
        dispatched("SO1"),
    )
    assert p == Position()


def test_a_cancelled_line_releases_its_commitment_once() -> None:
    p = _position(opened(50), placed("SO1", "1.000", 10), cancelled("SO1", "1.000"))
    assert (p.allocated, p.available) == (0, 50)
    p = _position(
        opened(50), placed("SO1", "1.000", 10), cancelled("SO1", "1.000"), dispatched("SO1")
    )
    assert p.allocated == 0


def test_purchase_lines_are_on_order_then_in_transit_then_received() -> None:
    events: list[CanonicalEvent] = [issued("P1", "1.000", 120)]
    assert _position(*events).on_order == 120
    events.append(advised("P1", "1.000", 120))
    p = _position(*events)
    assert (p.on_order, p.in_transit) == (120, 120)
    # A short receipt that closes the line (JDE pruopn 0) empties on order as well.
    events.append(received("P1", "1.000", 96, still_open=0))
    p = _position(*events)
    assert (p.on_order, p.in_transit, p.on_hand) == (0, 0, 96)


def test_a_cancelled_po_line_leaves_on_order_once() -> None:
    events = [issued("P1", "1.000", 120), issued("P1", "2.000", 30), po_cancelled("P1", "2.000")]
    assert (_position(*events).on_order, _position(*events).projected) == (120, 120)
    # Advised, then cancelled: it leaves in transit as well; read twice, it counts once.
    p = _position(
        issued("P1", "1.000", 40),
        advised("P1", "1.000", 40),
        po_cancelled("P1", "1.000"),
        po_cancelled("P1", "1.000"),
        advised("P1", "1.000", 40),
    )
    assert (p.on_order, p.in_transit) == (0, 0)


def test_a_status_change_other_than_a_cancel_keeps_the_line_on_order() -> None:
    change = po_cancelled("P1", "1.000").model_copy(update={"status": "280"})
    assert _position(issued("P1", "1.000", 12), change).on_order == 12


def test_a_cut_pick_moves_what_was_picked_and_releases_the_rest() -> None:
    events = [
        opened(100),
        placed("SO1", "1.000", 10),
        allocated("SO1", "1.000", "PD1", 10),
        picked("SO1", "1.000", "PD1", 6),
    ]
    p = _position(*events)
    # 10 reserved end; 6 picked; the line still commits its 10 until the dispatch.
    assert (p.reserved, p.picked, p.allocated, p.on_hand) == (0, 6, 10, 100)
    p = _position(*events, dispatched("SO1"))
    assert p == Position(on_hand=Decimal(94))
    # The same when the dispatch is read before the pick (different topics).
    p = _position(*events[:3], dispatched("SO1"), events[3])
    assert p == Position(on_hand=Decimal(94))


def test_a_partial_receipt_without_open_quantity_keeps_the_rest_on_order() -> None:
    p = _position(issued("P1", "1.000", 120), received("P1", "1.000", 50, still_open=None))
    assert (p.on_order, p.on_hand) == (70, 50)


def test_snapshot_reads_state_documents_but_move_no_stock() -> None:
    p = _position(
        opened(80, snapshot=True),
        adjusted(5),
        *[e.model_copy(update={"source": e.source.model_copy(update={"snapshot": True})})
          for e in (received("P9", "1.000", 30), adjusted(-7))],
    )  # fmt: skip
    assert p.on_hand == 85


ORDER_FLOW = (
    placed("SO7", "1.000", 6),
    allocated("SO7", "1.000", "PD7", 6),
    picked("SO7", "1.000", "PD7", 6),
)
DISPATCH = dispatched("SO7")


@pytest.mark.parametrize("at", range(len(ORDER_FLOW) + 1))
def test_a_dispatch_read_before_the_order_events_gives_the_same_position(at: int) -> None:
    # Order and shipment events travel on different topics: any interleaving is possible.
    events = [opened(20), *ORDER_FLOW[:at], DISPATCH, *ORDER_FLOW[at:]]
    assert _position(*events) == Position(on_hand=Decimal(14))


def test_every_event_counts_once_even_when_replayed() -> None:
    flow = [opened(20), *ORDER_FLOW, DISPATCH, issued("P1", "1.000", 12)]
    once = _position(*flow)
    assert _position(*flow, *flow) == once


def test_documents_survive_a_json_round_trip() -> None:
    book = replay([opened(20), *ORDER_FLOW, issued("P1", "1.000", 12)])
    restored = Book()
    for key, position in book.positions.items():
        restored.load_position(key, position)
    docs, _ = book.take_dirty()
    for kind, key in docs:
        doc = book.doc(kind, key)
        assert doc is not None
        restored.load_doc(kind, key, doc_to_json(doc))
        assert doc_from_json(kind, doc_to_json(doc)) == doc
    for events in (restored, book):
        events.apply(DISPATCH)
    assert (
        restored.position(KEY)
        == book.position(KEY)
        == Position(on_hand=Decimal(14), on_order=Decimal(12))
    )


def test_permutations_of_independent_topics_agree() -> None:
    inbound = [issued("P1", "1.000", 24), advised("P1", "1.000", 24), received("P1", "1.000", 24)]
    outbound = [*ORDER_FLOW]
    shipment = [DISPATCH]
    results = set()
    for order in itertools.permutations([inbound, outbound, shipment]):
        results.add(_position(opened(10), *itertools.chain(*order)))
    assert results == {Position(on_hand=Decimal(28))}


def test_a_balance_inserted_and_read_again_by_a_snapshot_opens_once() -> None:
    p = _position(opened(100), adjusted(-4), opened(100, snapshot=True))
    assert p.on_hand == Decimal(96)
