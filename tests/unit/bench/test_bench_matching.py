"""Matching canonical events to the ledger entries that must produce them."""

from __future__ import annotations

from typing import Any

from bench.matching import Arrival, Expected, expected_from_ledger, match, system_of

MS = 1_000_000
TYPES = {"order.placed", "order.picked", "goods.received"}


def _row(seq: int, events: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "committed": True,
        "verdict": "pass",
        "erp_commit_ns": 1000 * MS + seq * MS,
        "wms_commit_ns": None,
        "events": events,
    } | over


def test_ledger_rows_become_expected_events_of_canonical_types_only() -> None:
    rows = [
        _row(
            1,
            [
                {"type": "order.placed", "key": "O1"},
                {"type": "inventory.level_changed", "key": "S|I"},
            ],
        ),
        _row(2, [{"type": "order.placed", "key": "O2"}], committed=False),
        _row(3, [{"type": "order.placed", "key": "O3"}], verdict="quarantine"),
        _row(4, [{"type": "order.picked", "key": "O1"}], wms_commit_ns=2000 * MS),
    ]
    found = expected_from_ledger(rows, TYPES)
    assert [(e.event_type, e.key, e.seq) for e in found] == [
        ("order.placed", "O1", 1),
        ("order.picked", "O1", 4),
    ]
    assert found[1].commit_ns == {"erp": 1004 * MS, "wms": 2000 * MS}


def test_latency_uses_the_commit_of_the_database_the_event_came_from() -> None:
    entry = Expected("order.picked", "O1", {"erp": 1000 * MS, "wms": 1200 * MS})
    result = match([entry], [Arrival("order.picked", "O1", "wms", 1500 * MS)])
    assert [m.latency_ms for m in result.matches] == [300.0]
    result = match([entry], [Arrival("order.picked", "O1", "erp", 1500 * MS)])
    assert [m.latency_ms for m in result.matches] == [500.0]


def test_unknown_system_falls_back_to_the_last_commit() -> None:
    entry = Expected("order.placed", "O1", {"erp": 1000 * MS, "wms": 1200 * MS})
    result = match([entry], [Arrival("order.placed", "O1", "mes", 1500 * MS)])
    assert [m.latency_ms for m in result.matches] == [300.0]


def test_same_key_twice_pairs_in_commit_order() -> None:
    first = Expected("goods.received", "P1", {"erp": 1000 * MS}, seq=1)
    second = Expected("goods.received", "P1", {"erp": 2000 * MS}, seq=2)
    arrivals = [
        Arrival("goods.received", "P1", "erp", 2400 * MS),
        Arrival("goods.received", "P1", "erp", 1300 * MS),
    ]
    result = match([second, first], arrivals)
    assert sorted((m.expected.seq, m.latency_ms) for m in result.matches) == [
        (1, 300.0),
        (2, 400.0),
    ]


def test_an_arrival_before_the_commit_is_never_its_event() -> None:
    # A stale arrival of the same key (an earlier run) must not give a negative latency.
    entry = Expected("order.placed", "O1", {"erp": 1000 * MS})
    result = match([entry], [Arrival("order.placed", "O1", "erp", 900 * MS)])
    assert result.matches == []
    assert result.missing == [entry]
    assert result.unmatched_arrivals == 1


def test_missing_and_extra_events_are_counted_per_type() -> None:
    expected = [
        Expected("order.placed", "O1", {"erp": 1000 * MS}),
        Expected("order.placed", "O2", {"erp": 1000 * MS}),
    ]
    arrivals = [
        Arrival("order.placed", "O1", "erp", 1100 * MS),
        Arrival("order.placed", "O9", "erp", 1100 * MS),
        Arrival("order.placed", "O1", "erp", 1200 * MS),
    ]
    result = match(expected, arrivals)
    assert len(result.matches) == 1
    assert [e.key for e in result.missing] == ["O2"]
    assert result.unmatched_arrivals == 2
    assert result.expected_by_type == {"order.placed": 2}
    assert result.matched_by_type == {"order.placed": 1}


def test_system_of_a_cloudevents_source() -> None:
    assert system_of("/erp/proddta") == "erp"
    assert system_of("/wms/wmwhse1") == "wms"
