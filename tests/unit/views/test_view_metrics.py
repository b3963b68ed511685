"""The views' metrics after a committed batch: applied per type, freshness from each event's
source commit, the database commit time, rejects and positions."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from views.observe import ViewMetrics, applied_events

from .events import adjusted, opened


def test_a_committed_batch_is_counted_by_what_was_applied() -> None:
    registry = CollectorRegistry()
    first, second, duplicate = opened(10), adjusted(-2), adjusted(-3)
    parsed = [(None, first), (None, second), (None, duplicate)]
    applied = applied_events(parsed, [first.event_id, second.event_id])
    assert applied == [first, second]
    now = max(e.recorded_at.timestamp() for e in applied) + 2.5
    ViewMetrics(registry).committed(
        messages=4,
        applied=applied,
        duplicates=1,
        rejected=Counter({"not_json": 1}),
        alerts=0,
        commit_s=0.02,
        positions=1,
        now=now,
    )
    text = generate_latest(registry).decode()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    by_type = lambda name, t: got[(name, (("event_type", t),))]  # noqa: E731
    assert by_type("scv_views_consumed_total", first.event_type) == 1
    assert by_type("scv_views_consumed_total", second.event_type) == 1
    for event in applied:
        fresh = by_type("scv_views_freshness_seconds_sum", event.event_type)
        assert fresh == now - event.recorded_at.timestamp()
    assert got[("scv_views_duplicates_total", ())] == 1
    assert got[("scv_views_rejected_total", (("reason", "not_json"),))] == 1
    assert got[("scv_views_batch_messages_sum", ())] == 4
    assert got[("scv_views_commit_seconds_sum", ())] == 0.02
    assert got[("scv_views_positions", ())] == 1
