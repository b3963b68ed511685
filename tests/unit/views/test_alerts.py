"""Alerts: one per episode (no storm), resolved once, deterministic ids."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from transforms.events import CanonicalEvent
from views.alerts import Alert, AlertPolicy, Monitor
from views.positions import Book
from views.process import Evaluator

from .events import (
    ITEM,
    SITE,
    T0,
    adjusted,
    allocated,
    dispatched,
    opened,
    picked,
    placed,
    reading,
)

KEY = f"{SITE}|{ITEM}"


def _run(events: list[CanonicalEvent], policy: AlertPolicy) -> list[Alert]:
    evaluator = Evaluator(Book(), Monitor(policy))
    alerts: list[Alert] = []
    for event in events:
        alerts.extend(evaluator.apply(event))
    return alerts


def _actions(alerts: list[Alert], kind: str) -> list[str]:
    return [a.action for a in alerts if a.kind == kind]


ROP = AlertPolicy(default_reorder_point=Decimal(20))


def test_sliding_further_below_the_reorder_point_raises_one_alert() -> None:
    events: list[CanonicalEvent] = [opened(25), *(adjusted(-1) for _ in range(20))]
    alerts = _run(events, ROP)
    assert _actions(alerts, "below_reorder_point") == ["raised"]
    (alert,) = alerts
    assert (alert.subject, alert.measured, alert.threshold) == (KEY, Decimal(19), Decimal(20))


def test_oscillating_around_the_reorder_point_raises_once_per_crossing_and_resolves() -> None:
    # 25 → 19 → 21 → 19 → 21 → 19 → 21: three downward crossings, three recoveries.
    events: list[CanonicalEvent] = [opened(25), adjusted(-6)]
    for _ in range(2):
        events += [adjusted(2), adjusted(-2)]
    events.append(adjusted(2))
    # Many events on each side of the line that do not cross it say nothing.
    events += [adjusted(1), adjusted(-1)] * 10
    alerts = _run(events, ROP)
    assert _actions(alerts, "below_reorder_point") == ["raised", "resolved"] * 3
    episodes = Counter(a.episode_id for a in alerts)
    assert sorted(episodes.values()) == [2, 2, 2]  # each raise has exactly its resolve


def test_a_resolve_margin_keeps_jitter_around_the_line_one_episode() -> None:
    policy = AlertPolicy(default_reorder_point=Decimal(20), resolve_margin=Decimal(5))
    events: list[CanonicalEvent] = [opened(25), adjusted(-6)]
    events += [adjusted(2), adjusted(-2)] * 5  # 19 ↔ 21: never back at 25
    events.append(adjusted(10))  # 29: recovered
    assert _actions(_run(events, policy), "below_reorder_point") == ["raised", "resolved"]


def test_commitments_count_against_available_and_scheduled_receipts_for_projection() -> None:
    events: list[CanonicalEvent] = [opened(30), placed("SO1", "1.000", 40)]
    alerts = _run(events, AlertPolicy(default_reorder_point=Decimal(5)))
    assert _actions(alerts, "below_reorder_point") == ["raised"]
    assert _actions(alerts, "projected_stockout") == ["raised"]
    events += [adjusted(15)]
    alerts = _run(events, AlertPolicy(default_reorder_point=Decimal(5)))
    assert _actions(alerts, "projected_stockout") == ["raised", "resolved"]


def test_alert_ids_are_the_same_on_a_rebuild() -> None:
    events: list[CanonicalEvent] = [opened(25), adjusted(-10), adjusted(10)]
    first = [a.alert_id for a in _run(events, ROP)]
    assert first == [a.alert_id for a in _run(events, ROP)]
    assert len(set(first)) == 2


def test_late_shipment_is_raised_when_the_promised_date_passes_and_resolved_on_dispatch() -> None:
    promised = T0.date()
    flow: list[CanonicalEvent] = [
        opened(10),
        placed("SO1", "1.000", 2, promised=promised),
        allocated("SO1", "1.000", "PD1", 2),
        picked("SO1", "1.000", "PD1", 2),
    ]
    on_time = _run([*flow, dispatched("SO1", at=T0 + timedelta(hours=2))], AlertPolicy())
    assert _actions(on_time, "late_shipment") == []
    next_day = T0 + timedelta(days=1, hours=1)
    late = _run([*flow, adjusted(1).model_copy(update={"occurred_at": next_day}),
                 dispatched("SO1", at=next_day + timedelta(hours=1))], AlertPolicy())  # fmt: skip
    assert _actions(late, "late_shipment") == ["raised", "resolved"]
    assert late[0].order_id == "SO1"


def test_a_dispatch_after_the_promised_date_is_late_at_once() -> None:
    flow: list[CanonicalEvent] = [
        placed("SO2", "1.000", 1, promised=T0.date()),
        dispatched("SO2", at=T0 + timedelta(days=2)),
    ]
    alerts = _run(flow, AlertPolicy())
    assert [(a.action, a.severity) for a in alerts if a.kind == "late_shipment"] == [
        ("raised", "warning")
    ]
    assert "2 day(s) after" in alerts[-1].message


def test_an_order_already_past_its_date_when_first_seen_is_raised_and_resolved() -> None:
    flow: list[CanonicalEvent] = [
        placed("SO3", "1.000", 1, promised=date(2026, 1, 4)),
        dispatched("SO3", at=T0 + timedelta(minutes=5)),
    ]
    alerts = _run(flow, AlertPolicy())
    assert _actions(alerts, "late_shipment") == ["raised", "resolved"]


def test_a_short_excursion_within_tolerance_raises_nothing() -> None:
    events: list[CanonicalEvent] = [
        reading("5.0", T0),
        reading("8.6", T0 + timedelta(minutes=5)),
        reading("9.1", T0 + timedelta(minutes=20)),
        reading("6.0", T0 + timedelta(minutes=25)),
    ]
    assert _run(events, AlertPolicy()) == []


def test_an_excursion_longer_than_the_tolerance_is_raised_once_and_resolved() -> None:
    events: list[CanonicalEvent] = [
        reading("8.6", T0 + timedelta(minutes=m)) for m in range(0, 60, 5)
    ]
    events.append(reading("5.0", T0 + timedelta(minutes=61)))
    alerts = _run(events, AlertPolicy())
    assert [(a.action, a.severity) for a in alerts] == [("raised", "major"), ("resolved", "info")]
    assert alerts[0].occurred_at == T0 + timedelta(minutes=30)


def test_any_freezing_reading_is_critical_at_once() -> None:
    events: list[CanonicalEvent] = [reading("5.0", T0), reading("-0.5", T0 + timedelta(minutes=1))]
    alerts = _run(events, AlertPolicy())
    assert [(a.action, a.severity) for a in alerts] == [("raised", "critical")]
    assert alerts[0].sensor_id == "PRB-20001-01"


def test_an_open_excursion_escalates_to_critical_when_it_freezes() -> None:
    events: list[CanonicalEvent] = [
        reading("1.0", T0),
        reading("1.0", T0 + timedelta(minutes=31)),
        reading("1.0", T0 + timedelta(minutes=40)),
        reading("0.0", T0 + timedelta(minutes=41)),
        reading("4.0", T0 + timedelta(minutes=50)),
    ]
    alerts = _run(events, AlertPolicy())
    assert [(a.action, a.severity) for a in alerts] == [
        ("raised", "major"),
        ("raised", "critical"),
        ("resolved", "info"),
    ]
    assert len({a.episode_id for a in alerts}) == 1


def test_frozen_class_sensors_use_their_range() -> None:
    policy = AlertPolicy(sensor_classes={"PRB-F": "FROZEN"}, excursion_tolerance=timedelta(0))
    events: list[CanonicalEvent] = [reading("-20", T0, "PRB-F"), reading("-0.5", T0, "PRB-F")]
    alerts = _run(events, policy)
    assert [(a.action, a.severity) for a in alerts] == [("raised", "major")]
