"""``scv sim verify``'s comparison (``legacy_sim.verify``): ledger facts against canonical
event payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from legacy_sim.verify import (
    Ledger,
    check,
    compare,
    expected_from_ledger,
    found_from_stream,
    num,
    render,
)

SINCE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
OID = "00020-SO-7"


def _tx(events: list[dict[str, Any]], committed: bool = True, verdict: str = "pass") -> Any:
    return {"committed": committed, "verdict": verdict, "events": events}


def _placed(*lines: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "order.placed",
        "key": OID,
        "lines": [{"line_id": f"{OID}/{n}", "qty_base": q} for n, q in lines],
    }


def _event(event_type: str, n: int, *, snapshot: bool = False, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"id-{event_type}-{n}",
        "event_type": event_type,
        "recorded_at": "2026-01-05T08:00:01+00:00",
        "site_id": "20001",
        "source": {"snapshot": snapshot},
        **fields,
    }


def _line(n: int, line: str, qty: str, event_type: str = "order.placed") -> dict[str, Any]:
    return _event(event_type, n, order_id=OID, line_id=f"{OID}/{line}", quantity=qty)


def _report(ledger: list[Any], events: list[dict[str, Any]]) -> Any:
    return compare(expected_from_ledger(ledger), found_from_stream(events, [], since=SINCE))


def test_every_fact_found_once_passes() -> None:
    report = _report(
        [_tx([_placed(("1.000", "144"), ("2.000", "6"))])],
        [_line(1, "1.000", "144.00"), _line(2, "2.000", "6")],
    )
    assert report.ok
    assert (report.types["order.placed"].expected, report.types["order.placed"].found) == (2, 2)


@pytest.mark.parametrize(
    ("events", "missing", "duplicated", "unexpected"),
    [
        pytest.param([_line(1, "1.000", "144")], 1, 0, 0, id="a line missing"),
        pytest.param(
            [_line(1, "1.000", "144"), _line(1, "1.000", "144"), _line(2, "2.000", "6")],
            0,
            1,
            0,
            id="same event_id twice",
        ),
        pytest.param(
            [_line(1, "1.000", "144"), _line(3, "1.000", "144"), _line(2, "2.000", "6")],
            0,
            1,
            0,
            id="same fact under two ids",
        ),
        pytest.param(
            [_line(1, "1.000", "12"), _line(2, "2.000", "6")], 1, 0, 1, id="unconverted quantity"
        ),
        pytest.param(
            [_line(1, "1.000", "144"), _line(2, "2.000", "6"), _line(4, "9.000", "1")],
            0,
            0,
            1,
            id="a line the ledger never placed",
        ),
    ],
)
def test_gaps_are_counted(
    events: list[dict[str, Any]], missing: int, duplicated: int, unexpected: int
) -> None:
    report = _report([_tx([_placed(("1.000", "144"), ("2.000", "6"))])], events)
    row = report.types["order.placed"]
    assert (row.missing, row.duplicated, row.unexpected) == (missing, duplicated, unexpected)
    assert not report.ok
    assert any("<--" in line for line in render(report))


def test_facts_of_a_rolled_back_transaction_are_unexpected() -> None:
    report = _report([_tx([_placed(("1.000", "5"))], committed=False)], [_line(1, "1.000", "5")])
    row = report.types["order.placed"]
    assert (row.expected, row.unexpected) == (0, 1)
    assert "rolled back" in row.examples[0]


def test_allocations_are_summed_per_line() -> None:
    ledger = [
        _tx(
            [
                {
                    "type": "order.allocated",
                    "key": OID,
                    "line_id": f"{OID}/1.000",
                    "allocated_qty": "30",
                }
            ]
        )
    ]
    picks = [
        _line(1, "1.000", "12", "order.allocated"),
        _line(2, "1.000", "18", "order.allocated"),
    ]
    assert _report(ledger, picks).ok
    assert not _report(ledger, picks[:1]).ok


def test_snapshot_reads_and_earlier_changes_are_out_of_scope() -> None:
    earlier = _line(2, "2.000", "6") | {"recorded_at": "2026-01-05T07:59:59+00:00"}
    report = _report(
        [_tx([_placed(("1.000", "144"))])],
        [_line(1, "1.000", "144"), _event("item.upserted", 1, snapshot=True), earlier],
    )
    assert report.ok
    assert sum(report.out_of_scope.values()) == 2


def test_quarantine_verdicts_are_expected_in_quarantine() -> None:
    ledger = [
        _tx(
            [{"type": "order.placed", "key": OID, "line_id": f"{OID}/1.000"}],
            verdict="quarantine",
        )
    ]
    expected = expected_from_ledger(ledger)
    assert compare(expected, found_from_stream([], [("erp.f4211", OID)], since=SINCE)).ok
    missing = compare(expected, found_from_stream([], [], since=SINCE))
    assert missing.types["(quarantine)"].missing == 1


def test_derived_and_not_yet_emitted_types_are_reported_not_checked() -> None:
    ledger = [
        _tx(
            [
                {"type": "shipment.exception", "key": "M1", "derived": True},
                {"type": "inventory.level_changed", "key": "20001|A"},
            ]
        )
    ]
    report = _report(ledger, [])
    assert report.ok
    assert set(report.not_checked) == {"shipment.exception", "inventory.level_changed"}


def test_numbers_compare_by_value() -> None:
    assert num("144.00") == num(144) == "144"
    assert num("-0.0") == "0"
    assert num("1.50") == "1.5"


def test_check_scopes_the_stream_to_the_ledgers_window() -> None:
    ledger = Ledger([_tx([_placed(("1.000", "144"))])], SINCE, None)
    early = _line(9, "9.000", "1") | {"recorded_at": "2026-01-05T07:59:59+00:00"}
    report = check(ledger, [_line(1, "1.000", "144"), early], [], examples=1)
    assert report.ok
    assert report.out_of_scope == {"order.placed (before the first run)": 1}
    late = Ledger(ledger.transactions, SINCE, SINCE)
    assert not check(late, [_line(1, "1.000", "144")], []).ok  # recorded after: missing


def test_packings_are_summed_per_carton_and_item() -> None:
    """The ledger lists a carton's contents per item; the stream has one ``order.packed`` per
    pick detail, of two lines of the same item here."""
    carton = "006141410000007752"
    ledger = [
        _tx(
            [
                {
                    "type": "order.packed",
                    "key": OID,
                    "carton_sscc": carton,
                    "contents": [{"item_id": "A", "qty": 30}, {"item_id": "B", "qty": 4}],
                }
            ]
        )
    ]

    def packed(n: int, line: str, item: str, qty: str, sscc: str = carton) -> dict[str, Any]:
        return _line(n, line, qty, "order.packed") | {"item_id": item, "carton_sscc": sscc}

    packs = [
        packed(1, "1.000", "A", "12"),
        packed(2, "2.000", "A", "18"),
        packed(3, "3.000", "B", "4"),
    ]
    report = _report(ledger, packs)
    assert report.ok
    assert (report.types["order.packed"].expected, report.types["order.packed"].found) == (2, 2)
    assert not _report(ledger, packs[:2]).ok  # item B never packed
    elsewhere = [*packs[:2], packed(3, "3.000", "B", "4", sscc="006141410000007769")]
    row = _report(ledger, elsewhere).types["order.packed"]
    assert (row.missing, row.unexpected) == (1, 1)  # B in another carton
