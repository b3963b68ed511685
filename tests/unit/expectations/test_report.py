"""The quality report's numbers and its self-contained HTML (no services)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from expectations.quarantine import MASK, QuarantineRecord
from expectations.report import (
    GatedEvent,
    bucket_seconds,
    percentile,
    summarize,
    volume_chart,
    write_report,
)

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MS0 = int(T0.timestamp() * 1000)


def event(kind: str, second: int, lag_ms: int, *, table: str = "f4211") -> GatedEvent:
    recorded = datetime.fromtimestamp((MS0 + second * 1000) / 1000, tz=UTC)
    payload = {
        "event_type": kind,
        "recorded_at": recorded.isoformat().replace("+00:00", "Z"),
        "source": {"system": "erp", "table": table, "snapshot": False},
    }
    return GatedEvent(payload, MS0 + second * 1000 + lag_ms)


def quarantined(offset: int, second: int, rules: list[str], kind: str) -> QuarantineRecord:
    headers: list[tuple[str, bytes | None]] = [
        ("scv_quarantine_stage", b"gate"),
        ("scv_original_topic", b"erp.proddta.f4211"),
        ("scv_original_partition", b"0"),
        ("scv_original_offset", str(offset).encode()),
        ("__rule.name", rules[0].encode()),
        ("dq.failed_rules", json.dumps(rules).encode()),
        ("dq.event_type", kind.encode()),
        ("scv_quarantine_detail", b"order.placed: 'PO-SECRET-1' is not a number; sdan8=4242"),
    ]
    value = {"after": {"sddoco": 7, "sdvr01": "PO-SECRET-1", "sduorg": -100}}
    return QuarantineRecord(
        0,
        offset,
        MS0 + second * 1000,
        b'{"sddoco":"7"}',
        json.dumps(value).encode(),
        tuple(headers),
    )


def data() -> tuple[list[GatedEvent], list[QuarantineRecord]]:
    events = [event("order.placed", s, 100 + 10 * s) for s in range(0, 100, 2)]
    events += [event("item.upserted", 5, 300, table="f4101")]
    records = [
        quarantined(1, 10, ["quantity_positive", "status_known"], "order.placed"),
        quarantined(2, 70, ["quantity_positive"], "order.placed"),
    ]
    return events, records


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([5.0], 99) == 5.0


def test_buckets_keep_the_chart_readable() -> None:
    assert bucket_seconds(100) == 10
    assert bucket_seconds(3600) == 300
    assert bucket_seconds(30 * 86400) == 86400


def test_summary_per_type_table_rule_time_and_freshness() -> None:
    events, records = data()
    s = summarize(events, records, since=T0, now=T0)
    assert s["totals"]["passed"] == 51
    assert s["totals"]["quarantined"] == 2
    assert s["failures"] == [
        {"rule": "quantity_positive", "count": 2, "event_types": ["order.placed"]},
        {"rule": "status_known", "count": 1, "event_types": ["order.placed"]},
    ]
    placed = next(g for g in s["event_types"] if g["name"] == "order.placed")
    assert (placed["passed"], placed["quarantined"]) == (50, 2)
    assert placed["pass_rate"] == 50 / 52
    assert placed["top_keys"] == [{"key": '{"sddoco":"7"}', "count": 2}]
    assert [g["name"] for g in s["source_tables"]] == ["erp.f4101", "erp.f4211"]
    assert s["bucket_seconds"] == 10
    assert sum(b["passed"] for b in placed["series"]) == 50
    assert [b["quarantined"] for b in placed["series"]][1] == 1  # second 10
    fresh = placed["freshness"]
    assert fresh["events"] == 50
    assert fresh["p50_ms"] == 580.0
    assert fresh["max_ms"] == 1080.0
    assert s["samples"][0]["row"]["sdvr01"] == MASK
    assert s["samples"][0]["detail"] == f"order.placed: '{MASK}' is not a number; sdan8={MASK}"


def test_snapshot_reads_have_no_freshness() -> None:
    e = event("item.upserted", 0, 50)
    snapshot = GatedEvent({**e.payload, "source": {"snapshot": True}}, e.timestamp_ms)
    assert e.freshness_s == 0.05
    assert snapshot.freshness_s is None


def test_the_html_is_self_contained_with_charts_and_figures(tmp_path: Path) -> None:
    events, records = data()
    summary = summarize(events, records, since=T0, now=T0, topic_prefix="t.")
    summary["data_docs"] = {"index": "gx/uncommitted/data_docs/local_site/index.html",
                            "validations": []}  # fmt: skip
    index = write_report(tmp_path, summary)
    html = index.read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["totals"]["passed"] == 51
    assert html.count("<svg") >= 3
    assert "<script" not in html
    assert re.findall(r"(?:https?:)?//[\w.-]+", html) == []
    assert "PO-SECRET-1" not in html
    assert 'id="total-passed">51<' in html
    assert "quantity_positive" in html
    assert 'href="gx/uncommitted/data_docs/local_site/index.html"' in html


def test_an_empty_window_still_renders(tmp_path: Path) -> None:
    html = write_report(tmp_path, summarize([], [], since=None, now=T0)).read_text()
    assert "Nothing quarantined" in html
    assert "<svg" in html


def test_chart_labels_are_escaped() -> None:
    svg = volume_chart([{"start": "<x>", "passed": 1, "quarantined": 0, "pass_rate": 1.0}])
    assert "<x>" not in svg
    assert "&lt;x&gt;" in svg
