"""Reconciliation finds differences by key and bucket, on either side."""

from __future__ import annotations

from decimal import Decimal

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
