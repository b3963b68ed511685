"""Recovery time and events delayed from the probe's stamps (``chaos.measure``)."""

from __future__ import annotations

import pytest

from chaos.measure import (
    ERP_WMS,
    Arrival,
    Fault,
    Recovery,
    delayed,
    lag,
    recoveries,
    recovery,
)

WMS = frozenset({"wms"})


def test_recovery_is_the_first_event_committed_after_the_fault_becoming_visible() -> None:
    arrivals = [
        Arrival(committed=99.0, visible=104.0, system="erp"),  # before the fault: late, not new
        Arrival(committed=101.0, visible=112.5, system="erp"),
        Arrival(committed=103.0, visible=111.0, system="wms"),  # visible first of the new ones
    ]
    assert recovery(Fault("f", 100.0), arrivals) == 11.0


def test_only_events_of_the_systems_the_fault_hits_count() -> None:
    arrivals = [Arrival(101.0, 101.5, "erp"), Arrival(102.0, 130.0, "wms")]
    assert recovery(Fault("wms connector deleted", 100.0, WMS), arrivals) == 30.0
    assert recovery(Fault("both", 100.0, ERP_WMS), arrivals) == 1.5


def test_no_event_committed_after_the_fault_means_never_recovered() -> None:
    assert recovery(Fault("f", 100.0), [Arrival(99.9, 150.0, "erp")]) is None
    assert recovery(Fault("f", 100.0), []) is None
    assert recovery(Fault("f", 100.0, WMS), [Arrival(101.0, 102.0, "erp")]) is None


def test_an_event_committed_at_the_fault_instant_is_not_new() -> None:
    arrivals = [Arrival(100.0, 101.0, "erp"), Arrival(100.5, 107.0, "erp")]
    assert recovery(Fault("f", 100.0), arrivals) == 7.0


def test_delayed_counts_events_committed_inside_a_window_once() -> None:
    faults = recoveries(
        [Fault("a", 100.0), Fault("b", 105.0)],
        [Arrival(106.0, 120.0, "erp")],  # the first new event of both faults
    )
    assert [r.recover_s for r in faults] == [20.0, 15.0]
    arrivals = [
        Arrival(99.0, 101.0, "erp"),  # before both faults
        Arrival(104.0, 121.0, "wms"),  # inside a only
        Arrival(106.0, 120.0, "erp"),  # inside both: counted once
        Arrival(119.0, 122.0, "erp"),  # inside both windows' ends (100+20, 105+15)
        Arrival(121.0, 122.0, "wms"),  # after both windows
    ]
    assert delayed(faults, arrivals) == 3


def test_delayed_counts_only_the_systems_a_fault_hits() -> None:
    (fault,) = recoveries([Fault("wms", 100.0, WMS)], [Arrival(101.0, 110.0, "wms")])
    arrivals = [Arrival(101.0, 110.0, "wms"), Arrival(105.0, 105.5, "erp")]
    assert delayed([fault], arrivals) == 1


def test_a_fault_never_recovered_from_keeps_its_window_open() -> None:
    never = [Recovery("a", 100.0, None)]
    arrivals = [Arrival(99.0, 1.0, "erp"), Arrival(500.0, 501.0, "wms"), Arrival(1e9, 1e9, "erp")]
    assert delayed(never, arrivals) == 2


def test_lag_is_the_median_of_the_events_committed_before_the_first_fault() -> None:
    arrivals = [
        Arrival(10.0, 10.4, "erp"),  # at ``since``: not in the window
        Arrival(11.0, 11.2, "erp"),
        Arrival(12.0, 12.6, "wms"),
        Arrival(13.0, 13.4, "erp"),
        Arrival(14.0, 14.8, "wms"),
        Arrival(21.0, 40.0, "erp"),  # after the fault
    ]
    assert lag(arrivals, 10.0, 20.0) == pytest.approx(0.5)  # (0.4 + 0.6) / 2
    assert lag(arrivals[:4], 10.0, 20.0) == pytest.approx(0.4)
    assert lag(arrivals, 30.0, 35.0) is None
    assert lag(arrivals, None, 20.0) is None
