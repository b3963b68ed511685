"""Demand sensing: buckets by event time, closed by the order partitions' low watermark,
EWMA baseline per season slot, sustained departures raised once per episode."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from transforms.events import CanonicalEvent, OrderPlaced, Quantity
from views.alerts import Alert, AlertPolicy, Monitor
from views.demand import DemandPolicy, Series, ewma, zscore
from views.suppliers import SupplierPolicy
from views.supply import Supply

from .events import ITEM, SITE, header

TOPIC = "scv.order.v1"
KEY = f"{SITE}|{ITEM}"
T = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
_orders = itertools.count()


def placed(
    qty: int,
    when: datetime,
    *,
    item: str = ITEM,
    ship_to: str | None = None,
    snapshot: bool = False,
) -> OrderPlaced:
    n = next(_orders)
    return OrderPlaced(
        **header("order.placed", at=when, snapshot=snapshot),
        order_id=f"SO{n}",
        line_id=f"SO{n}/1.000",
        line_no="1.000",
        item_id=item,
        quantity=Decimal(qty),
        base_uom="EA",
        original=Quantity(value=Decimal(qty), uom="EA"),
        ship_to=ship_to,
    )


def policy(**changes: object) -> DemandPolicy:
    base = {
        "bucket": MINUTE,
        "season": 1,
        "alpha": 0.2,
        "threshold": 3.0,
        "sustain": 2,
        "min_history": 3,
        "min_sd": 1.0,
    }
    return DemandPolicy(**(base | changes))  # type: ignore[arg-type]


class Run:
    def __init__(self, demand: DemandPolicy) -> None:
        self.supply = Supply(SupplierPolicy(), demand)
        self.monitor = Monitor(AlertPolicy())
        self.alerts: list[Alert] = []

    def feed(self, *events: CanonicalEvent, partition: int = 0) -> list[Alert]:
        new: list[Alert] = []
        for event in events:
            new.extend(self.supply.apply(event, TOPIC, partition, self.monitor))
        self.alerts.extend(new)
        return new

    def minutes(self, quantities: list[int], start: int = 0) -> None:
        """One order of each quantity (0: none) per minute from minute ``start``, then one
        order in the next minute, which closes the last one."""
        for n, qty in enumerate(quantities):
            if qty:
                self.feed(placed(qty, T + (start + n) * MINUTE + timedelta(seconds=10)))
        self.feed(placed(1, T + (start + len(quantities)) * MINUTE, item="TICK"))

    @property
    def series(self) -> Series:
        return self.supply.demand.series[KEY]

    def shifts(self) -> list[tuple[str, str]]:
        return [(a.action, a.message) for a in self.alerts if a.kind == "demand.shift"]


def test_ewma_mean_and_variance_follow_wests_update() -> None:
    assert ewma(10.0, 0.0, 20.0, 0.5) == (15.0, 25.0)
    mean, var = 0.0, 0.0
    for _ in range(200):
        mean, var = ewma(mean, var, 7.0, 0.1)
    assert mean == pytest.approx(7.0)
    assert var == pytest.approx(0.0, abs=1e-6)


def test_zscore_uses_the_floor_of_the_standard_deviation() -> None:
    assert zscore(13.0, 10.0, 0.0, 1.0) == 3.0
    assert zscore(13.0, 10.0, 4.0, 1.0) == 1.5
    assert zscore(4.0, 10.0, 9.0, 1.0) == -2.0


def test_orders_sum_per_bucket_and_a_bucket_closes_only_when_the_watermark_passes() -> None:
    run = Run(policy())
    run.feed(placed(5, T + timedelta(seconds=5)), placed(7, T + timedelta(seconds=50)))
    assert run.series.open == {run.supply.demand.policy.index(T): 12.0}
    assert run.series.closed_to == run.supply.demand.policy.index(T)
    run.feed(placed(1, T + MINUTE, item="OTHER"))
    assert run.series.open == {}
    assert run.series.last["quantity"] == 12.0


def test_the_slowest_order_partition_holds_the_buckets_open() -> None:
    run = Run(policy())
    run.feed(placed(5, T + timedelta(seconds=5)), partition=0)
    run.feed(placed(5, T + timedelta(seconds=6)), partition=1)
    # partition 0 runs ten minutes ahead; partition 1 is still in minute 0
    run.feed(placed(1, T + 10 * MINUTE, item="OTHER"), partition=0)
    assert run.series.open  # nothing closed: partition 1 may still carry minute 0
    run.feed(placed(3, T + timedelta(seconds=30)), partition=1)
    assert run.series.open == {run.supply.demand.policy.index(T): 13.0}
    run.feed(placed(1, T + MINUTE, item="OTHER"), partition=1)
    assert run.series.last["quantity"] == 13.0


def test_a_bucket_without_orders_observes_zero() -> None:
    run = Run(policy())
    run.minutes([10, 0, 0])
    slot = run.series.slots[0]
    assert slot[2] == 3  # three observations: 10, 0, 0
    assert run.series.last["quantity"] == 0.0


def test_a_sustained_spike_is_raised_once_and_resolved_once() -> None:
    run = Run(policy())
    run.minutes([10] * 10)
    assert not run.shifts()
    run.minutes([40, 40, 40, 40], start=10)
    shifts = run.shifts()
    assert [s[0] for s in shifts] == ["raised"]
    assert "up for 2 buckets" in shifts[0][1]
    run.minutes([10] * 4, start=14)
    assert [s[0] for s in run.shifts()] == ["raised", "resolved"]


def test_one_high_bucket_is_no_shift() -> None:
    run = Run(policy())
    run.minutes([10] * 10 + [40] + [10] * 5)
    assert not run.shifts()


def test_a_drop_is_a_run_of_empty_buckets() -> None:
    run = Run(policy(min_sd=2.0))
    run.minutes([20] * 10 + [0, 0, 0])
    alerts = [a for a in run.alerts if a.kind == "demand.shift"]
    assert [a.action for a in alerts] == ["raised"]
    assert "down" in alerts[0].message
    assert (alerts[0].site_id, alerts[0].item_id, alerts[0].series) == (SITE, ITEM, KEY)


def test_no_verdict_during_the_warm_up() -> None:
    run = Run(policy(min_history=5))
    run.minutes([10, 10, 10, 90, 90])  # the slot had only 3 and 4 observations
    assert not run.shifts()
    assert run.series.last["z"] is None


def test_each_season_slot_learns_its_own_level() -> None:
    run = Run(policy(season=2, alpha=0.5))
    run.minutes([10, 30] * 12)
    slots = run.series.slots
    means = sorted(round(slots[s][0]) for s in slots)
    assert means == [10, 30]
    assert not run.shifts()


def test_regions_come_from_the_ship_to_map() -> None:
    run = Run(policy(regions={"4242": "NORTH"}))
    run.feed(placed(5, T, ship_to="4242"), placed(6, T, item="OTHER", ship_to="4242"))
    run.feed(placed(7, T, ship_to="9999"))
    region = run.supply.demand.series["region:NORTH"]
    assert region.open == {run.supply.demand.policy.index(T): 11.0}


def test_lines_read_by_a_snapshot_are_history_not_a_rate() -> None:
    run = Run(policy())
    run.feed(placed(5, T, snapshot=True))
    assert KEY not in run.supply.demand.series


def test_a_line_read_after_its_bucket_closed_counts_in_the_oldest_open_bucket() -> None:
    run = Run(policy())
    run.feed(placed(5, T), placed(1, T + 2 * MINUTE, item="OTHER"))
    run.feed(placed(4, T + timedelta(seconds=30)))  # minute 0, already closed
    assert run.series.open == {run.supply.demand.policy.index(T) + 2: 4.0}


def test_a_long_gap_folds_at_most_max_fill_buckets() -> None:
    run = Run(policy())
    run.minutes([10])
    run.feed(placed(1, T + 1000 * MINUTE, item="TICK"))
    assert run.series.slots[0][2] == 1 + run.supply.demand.policy.max_fill


def test_a_series_without_orders_for_the_retirement_time_is_dropped() -> None:
    run = Run(policy(retire_after=timedelta(minutes=30)))
    run.minutes([10])
    run.feed(placed(1, T + 40 * MINUTE, item="TICK"))
    assert KEY not in run.supply.demand.series
    assert run.supply.writes().demand[KEY] is None  # its row leaves demand_rates


def test_restart_from_the_written_state_continues_identically() -> None:
    first = Run(policy())
    first.minutes([10] * 8)
    writes = first.supply.writes()
    second = Run(policy())
    for (kind, key), value in writes.state.items():
        if value is not None:
            second.supply.load_row(kind, key, value)
    for run in (first, second):
        run.minutes([40, 40, 40], start=8)
    assert first.shifts() == second.shifts() != []
    assert math.isclose(first.series.slots[0][0], second.series.slots[0][0])


def test_a_departure_enters_the_baseline_clipped_to_threshold_sds() -> None:
    run = Run(policy())
    run.minutes([10] * 5)
    run.minutes([40], start=5)
    mean, var, _ = run.series.slots[0]
    # clipped to 10 + 3 x 1 = 13: mean 10 + 0.2 x 3, var 0.8 x (0 + 0.2 x 9)
    assert mean == pytest.approx(10.6)
    assert var == pytest.approx(1.44)


def test_a_lasting_shift_becomes_the_new_normal_and_its_episode_ends() -> None:
    run = Run(policy())
    run.minutes([10] * 10)
    run.minutes([40] * 80, start=10)
    assert [s[0] for s in run.shifts()] == ["raised", "resolved"]
    assert run.series.slots[0][0] == pytest.approx(40, abs=3)


def test_the_detection_delay_of_a_shock_is_the_sustain_window() -> None:
    """A shock starting at minute 10 is raised when the watermark closes its third bucket:
    the first order of minute 13 (the tick at 13:00) raises it, 3 buckets after the start."""
    run = Run(policy(sustain=3))
    run.minutes([10] * 10)
    run.minutes([40] * 3, start=10)
    (alert,) = [a for a in run.alerts if a.kind == "demand.shift"]
    shock = T + 10 * MINUTE
    assert alert.occurred_at - shock == 3 * MINUTE
    assert run.series.run_start == shock
