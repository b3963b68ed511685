"""B6: the 846 build measured on the positions of a size profile."""

from __future__ import annotations

from bench.edi846 import measure, positions
from bench.report import table


def test_b6_builds_one_846_of_every_item_at_every_site_of_the_partner() -> None:
    found = measure(runs=2, profile="demo")
    assert (found["items"], found["sites"], found["positions"]) == (60, 2, 120)
    assert len(found["runs_s"]) == 2
    assert found["max_s"] >= found["median_s"] > 0
    assert found["bytes"] > 120 * 20  # at least one LIN/QTY group per position
    assert table({"b6": found}).row_count == 1


def test_positions_are_deterministic_and_every_item_has_a_valid_gtin() -> None:
    rows, master = positions(3, ["20001"])
    assert [r.item_id for r in rows] == ["ITEM-000000", "ITEM-000001", "ITEM-000002"]
    assert all(len(i.gtin or "") == 14 for i in master.values())
    assert positions(3, ["20001"]) == (rows, master)
