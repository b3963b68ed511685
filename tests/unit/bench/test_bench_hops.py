"""B4's per-hop split: the hops of each traced event add up to its latency; the floor."""

from __future__ import annotations

from bench.hops import HOPS, split, summary
from bench.matching import Arrival, Expected, Match, Trace

MS = 1_000_000
RAW = ("erp.proddta.f4211", 1, 40)
CANONICAL = ("scv.order.v1", 2, 7)


def _match(commit: int, produced: int, visible: int, consumed: int) -> Match:
    return Match(
        Expected("order.placed", "O1", {"erp": commit * MS}),
        Arrival(
            "order.placed",
            "O1",
            "erp",
            visible * MS,
            produced * MS,
            CANONICAL,
            Trace(*RAW, consumed * MS),
        ),
    )


def test_the_hops_of_an_event_add_up_to_its_latency() -> None:
    m = _match(commit=1000, consumed=1130, produced=1150, visible=1190)
    raw = {RAW: (1110 * MS, 1080 * MS)}  # seen by the bare reader at 1110, CreateTime 1080
    log = {CANONICAL: (1160 * MS, 1150 * MS)}  # readable uncommitted at 1160

    hops, floor = split([m], raw, log)

    assert {hop: values[0] for hop, values in hops.items()} == {
        "capture": 80.0,
        "raw_to_consume": 50.0,
        "runner_batch": 20.0,
        "produce_fetch": 10.0,
        "commit": 30.0,
    }
    assert sum(hops[hop][0] for hop in HOPS) == m.latency_ms
    assert floor == [110.0]


def test_an_event_without_a_trace_or_unseen_records_is_left_out() -> None:
    m = _match(commit=1000, consumed=1130, produced=1150, visible=1190)
    untraced = Match(m.expected, Arrival("order.placed", "O1", "erp", 1190 * MS, 1150 * MS))
    raw = {RAW: (1110 * MS, 1080 * MS)}
    log = {CANONICAL: (1160 * MS, 1150 * MS)}

    assert split([untraced], raw, log) == ({hop: [] for hop in HOPS}, [])
    assert split([m], {}, log)[1] == []
    assert split([m], raw, {})[1] == []


def test_a_committed_read_seen_before_the_uncommitted_one_has_no_negative_commit_hop() -> None:
    m = _match(commit=1000, consumed=1130, produced=1150, visible=1170)
    hops, _ = split([m], {RAW: (1110 * MS, 1080 * MS)}, {CANONICAL: (1175 * MS, 1150 * MS)})
    assert hops["commit"] == [0.0]
    assert hops["produce_fetch"] == [20.0]


def test_the_summary_states_the_floor_and_the_p99_above_it() -> None:
    m = _match(commit=1000, consumed=1130, produced=1150, visible=1190)
    found = summary([m], {RAW: (1110 * MS, 1080 * MS)}, {CANONICAL: (1160 * MS, 1150 * MS)}, 190.0)
    assert found["traced_events"] == 1
    assert found["floor_ms"]["p99_ms"] == 110.0
    assert found["p99_minus_floor_ms"] == 80.0
    assert found["capture"] == {"p50": 80.0, "p95": 80.0, "p99": 80.0}
