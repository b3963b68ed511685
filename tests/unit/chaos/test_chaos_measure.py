"""Recovery time and events delayed from the probe's stamps (``chaos.measure``)."""

from __future__ import annotations

from chaos.measure import Arrival, Recovery, delayed, recoveries, recovery


def test_recovery_is_the_first_event_committed_after_the_fault_becoming_visible() -> None:
    arrivals = [
        Arrival(committed=99.0, visible=104.0),  # committed before the fault: late, not new
        Arrival(committed=101.0, visible=112.5),
        Arrival(committed=103.0, visible=111.0),  # visible first of the new ones
    ]
    assert recovery(100.0, arrivals) == 11.0


def test_no_event_committed_after_the_fault_means_never_recovered() -> None:
    assert recovery(100.0, [Arrival(99.9, 150.0)]) is None
    assert recovery(100.0, []) is None


def test_an_event_committed_at_the_fault_instant_is_not_new() -> None:
    assert recovery(100.0, [Arrival(100.0, 101.0), Arrival(100.5, 107.0)]) == 7.0


def test_delayed_counts_events_committed_inside_a_window_once() -> None:
    faults = recoveries(
        [("a", 100.0), ("b", 105.0)],
        [Arrival(106.0, 120.0)],  # the first new event of both faults
    )
    assert [r.recover_s for r in faults] == [20.0, 15.0]
    arrivals = [
        Arrival(99.0, 101.0),  # before both faults
        Arrival(104.0, 121.0),  # inside a only
        Arrival(106.0, 120.0),  # inside both: counted once
        Arrival(119.0, 122.0),  # inside both windows' ends (100+20, 105+15)
        Arrival(121.0, 122.0),  # after both windows
    ]
    assert delayed(faults, arrivals) == 3


def test_a_fault_never_recovered_from_keeps_its_window_open() -> None:
    never = [Recovery("a", 100.0, None)]
    assert delayed(never, [Arrival(99.0, 1.0), Arrival(500.0, 501.0), Arrival(1e9, 1e9)]) == 2
