"""Reconciliation finds differences by key and bucket, on either side."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from views.positions import Position
from views.reconcile import Truth, compare

D = Decimal


def test_equal_positions_reconcile() -> None:
    stream = {("1", "A"): Position(on_hand=D(5), allocated=D(2))}
    truth = Truth(
        "erp", ("on_hand", "allocated"), {("1", "A"): {"on_hand": D(5), "allocated": D(2)}}
    )
    assert compare(stream, [truth]) == []


def test_a_bucket_off_a_missing_and_an_invented_key_are_each_reported() -> None:
    stream = {("1", "A"): Position(on_hand=D(5)), ("1", "X"): Position(on_hand=D(1))}
    truth = Truth(
        "wms",
        ("on_hand",),
        {("1", "A"): {"on_hand": D(4)}, ("2", "B"): {"on_hand": D(3)}},
    )
    found = {(m.site_id, m.item_id, m.bucket, m.stream, m.truth) for m in compare(stream, [truth])}
    assert found == {
        ("1", "A", "on_hand", D(5), D(4)),
        ("1", "X", "on_hand", D(1), D(0)),
        ("2", "B", "on_hand", D(0), D(3)),
    }


def test_zero_on_both_sides_is_no_mismatch() -> None:
    stream = {("1", "A"): Position()}
    assert compare(stream, [Truth("erp", ("on_order",), {("2", "B"): {"on_order": D(0)}})]) == []


def test_an_unknown_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown buckets"):
        compare({}, [Truth("erp", ("onhand",), {})])


def test_the_legacy_truths_state_each_sources_buckets_in_the_base_unit() -> None:
    from legacy_sim.expected import Position as ErpPosition
    from legacy_sim.expected import WmsPosition
    from views.reconcile import legacy_truths, reconcile

    key = ("20001", "A")
    truths = legacy_truths(
        {key: ErpPosition(D(10), D(2), D(1), D(4))},
        {key: D(4)},
        {key: WmsPosition(9, 3, 1)},
    )
    assert [(t.source, tuple(t.buckets)) for t in truths] == [
        ("erp f41021", ("on_hand", "allocated", "on_order")),
        ("erp f4311 open lines", ("on_order",)),
        ("wms LOTxLOCxID", ("on_hand", "reserved", "picked")),
    ]
    assert truths[0].values[key] == {"on_hand": D(10), "allocated": D(3), "on_order": D(4)}
    assert truths[2].values[key] == {"on_hand": D(9), "reserved": D(3), "picked": D(1)}
    stream = {key: Position(on_hand=D(10), allocated=D(3), on_order=D(4), picked=D(1))}
    result = reconcile(stream, truths)
    assert (result.keys, result.sources, result.ok) == (1, 3, False)
    assert {(m.source, m.bucket) for m in result.mismatches} == {
        ("wms LOTxLOCxID", "on_hand"),
        ("wms LOTxLOCxID", "reserved"),
    }


def test_a_source_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    import sqlalchemy

    from views.errors import SourceError
    from views.reconcile import read_truths

    erp = sqlalchemy.create_engine("sqlite://")  # no legacy tables
    try:
        with pytest.raises(SourceError, match=r"^cannot read the legacy sources \("):
            read_truths(erp, f"sqlite:///{tmp_path}/wms.db")
    finally:
        erp.dispose()
