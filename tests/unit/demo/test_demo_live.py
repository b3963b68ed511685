"""The demo's live view: percentiles and a rendered frame."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from rich.console import Console

from demo.live import Snapshot, demand_rows, order_lines, percentile, supplier_rows
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
        order="00001-SO-00000042 · dispatched · in transit",
        timeline=["08:00:01 erp     placed             line 1.000: 5 EA of ITEM-1"],
        suppliers=[("4242", "50%", "50%", "100%", "4", "3.5 d")],
        demand=[("region:west", "40", "12.0 ± 3.0", "+9.3", "up")],
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
        "order timeline",
        "00001-SO-00000042",
        "line 1.000: 5 EA of ITEM-1",
        "worst suppliers",
        "3.5 d",
        "region:west",
        "+9.3",
    ):
        assert expected in text, expected


def test_order_lines_show_the_promise_against_the_projection_oldest_step_first() -> None:
    order = ("O-1", "dispatched", "in transit: shipment MB1 (UPS)", date(2026, 3, 6),
             date(2026, 3, 8), "carrier_eta", 2)  # fmt: skip
    at = datetime(2026, 3, 4, 9, 30, 5, tzinfo=UTC)
    steps = [
        ("eta_changed", "carrier", at.replace(minute=45), "carrier UPS ETA 2026-03-08"),
        ("dispatched", "wms", at, "shipment MB1 (load MB1)"),
    ]
    summary, lines = order_lines(order, steps)
    assert summary == (
        "O-1 · dispatched · in transit: shipment MB1 (UPS) · promised 2026-03-06, projected "
        "2026-03-08 (carrier eta), 2 day(s) late"
    )
    assert lines == [
        "09:30:05 wms     dispatched         shipment MB1 (load MB1)",
        "09:45:05 carrier eta_changed        carrier UPS ETA 2026-03-08",
    ]
    assert order_lines(None, []) == ("", [])


def test_supplier_and_demand_rows_are_formatted_for_the_panels() -> None:
    rows = supplier_rows([("4242", Decimal("0.25"), Decimal("0.5"), None, 4, Decimal("3.25"))])
    assert rows == [("4242", "25%", "50%", "-", "4", "3.2 d")]
    assert demand_rows([("region:west", 40.0, 12.0, 3.0, 9.33, "up")]) == [
        ("region:west", "40", "12.0 ± 3.0", "+9.3", "up")
    ]
    assert demand_rows([("20001|A", None, None, None, None, None)]) == [
        ("20001|A", "0", "0.0 ± 0.0", "-", "")
    ]
