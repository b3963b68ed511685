"""The demo's live view: percentiles and a rendered frame."""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from demo.live import Snapshot, percentile
from demo.run import render
from demo.settings import DemoSettings


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([0.25], 99) == 0.25
    assert percentile([], 50) is None


def test_frame_shows_every_section() -> None:
    snap = Snapshot(
        source_changes_per_s=812.4,
        events_per_s=377.0,
        events_total=12_345,
        latency={"erp": (0.21, 0.734), "wms": (0.9, 1.6)},
        quarantined=Counter({"order.placed.quantity_positive": 3}),
        connectors={"erp": "RUNNING (tasks RUNNING)", "wms": "RUNNING (tasks FAILED)"},
        positions=[("20001", "ITEM-1", "10", "4", "6")],
        alerts=["warning  raised   below_reorder_point: ITEM-1 at 20001"],
    )
    console = Console(width=120, record=True)
    console.print(render(snap, "simulating", 42.0, DemoSettings()))
    text = console.export_text()
    for expected in (
        "812",
        "377",
        "12,345",
        "p50 210 ms · p99 734 ms",
        "order.placed.quantity_positive",
        "RUNNING (tasks FAILED)",
        "ITEM-1",
        "below_reorder_point",
        "42s / 120s",
    ):
        assert expected in text, expected
