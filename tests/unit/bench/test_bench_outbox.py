"""B5's matching: ledger dispatches to the 856 files of the outbox."""

from __future__ import annotations

from typing import Any

from bench.outbox import Dispatch, OutboxFile, dispatches, match

MS = 1_000_000


def _row(seq: int, events: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "committed": True,
        "verdict": "pass",
        "erp_commit_ns": None,
        "wms_commit_ns": 1000 * MS + seq * MS,
        "events": events,
    } | over


def test_only_committed_passing_dispatches_with_a_wms_commit_are_measured() -> None:
    rows = [
        _row(1, [{"type": "shipment.dispatched", "key": "M1"},
                 {"type": "inventory.level_changed", "key": "20001|I"}]),
        _row(2, [{"type": "shipment.dispatched", "key": "M2"}], committed=False),
        _row(3, [{"type": "shipment.dispatched", "key": "M3"}], verdict="quarantine"),
        _row(4, [{"type": "shipment.dispatched", "key": "M4"}], wms_commit_ns=None),
        _row(5, [{"type": "order.picked", "key": "O5"}]),
    ]  # fmt: skip
    assert dispatches(rows) == [Dispatch("M1", 1001 * MS)]


def test_each_file_is_measured_from_its_shipments_commit_and_others_are_left_out() -> None:
    found = [Dispatch("M1", 1000 * MS), Dispatch("M2", 2000 * MS)]
    files = [
        OutboxFile("M1", "O1", 1250 * MS),
        OutboxFile("M1", "O2", 1400 * MS),  # a second order of the same shipment
        OutboxFile("M9", "O9", 1300 * MS),  # not a dispatch of the step
    ]
    matched = match(found, files)
    assert [(m.file.order_id, m.latency_ms) for m in matched] == [("O1", 250.0), ("O2", 400.0)]


def test_the_report_shows_b5_with_its_goal() -> None:
    from rich.console import Console

    from bench.report import table

    b5 = {
        "target_changes_per_s": 1000,
        "achieved_changes_per_s": 1003.0,
        "dispatches": 10,
        "files_856": 6,
        "p50_ms": 900.0,
        "p95_ms": 1500.0,
        "p99_ms": 2100.0,
        "goal": "p99 < 2000 ms at 1000 changes/s",
        "goal_met": False,
    }
    console = Console(width=200, record=True)
    console.print(table({"b5": b5}))
    text = console.export_text()
    assert "B5 1,000 changes/s" in text
    assert "900 / 1,500 / 2,100" in text
    assert "6 files of 10 dispatches" in text
    assert "missed" in text
