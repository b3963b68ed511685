"""Where a reader starts on each partition (``kafkaio.start_positions``): the beginning on a
first start, the committed offset inside the log, and a gap, never a silent jump, when the
committed offset is not in the log any more."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING

from kafkaio import Gap, describe_gaps, resume_positions, start_positions

A0 = ("erp.proddta.f4211", 0)
A1 = ("erp.proddta.f4211", 1)
B0 = ("wms.wmwhse1.ORDERS", 0)


def test_a_first_start_begins_at_the_log_start_whatever_was_deleted() -> None:
    # No committed offset: not a gap even if retention deleted the first records long ago.
    starts, gaps = start_positions({A0: -1001, A1: -1}, {}, {})
    assert starts == {A0: OFFSET_BEGINNING, A1: OFFSET_BEGINNING}
    assert gaps == []


def test_a_committed_offset_inside_the_log_is_where_it_goes_on() -> None:
    committed = {A0: 100, A1: 50, B0: 7}
    starts, gaps = start_positions(committed, {A0: 0, A1: 50, B0: 0}, {A0: 200, A1: 80, B0: 7})
    assert starts == committed  # the log start itself and the log end (caught up) included
    assert gaps == []


def test_a_committed_offset_below_the_log_start_is_a_gap_naming_the_lost_range() -> None:
    starts, gaps = start_positions({A0: 120, A1: 5}, {A0: 500, A1: 0}, {A0: 900, A1: 9})
    assert gaps == [Gap("erp.proddta.f4211", 0, committed=120, log_start=500, log_end=900)]
    assert starts == {A0: 500, A1: 5}  # where it would go on if the user opts in
    gap = gaps[0]
    assert gap.below_start
    assert gap.lost == 380
    assert gap.describe() == (
        "erp.proddta.f4211[0]: committed offset 120 is below the log start 500: "
        "offsets 120..499 (380) were deleted before they were read"
    )


def test_a_committed_offset_past_the_log_end_is_a_gap_too() -> None:
    # The topic was re-created (or truncated): the offsets read before are not this log's.
    starts, gaps = start_positions({B0: 40}, {B0: 0}, {B0: 12})
    assert starts == {B0: 0}
    (gap,) = gaps
    assert not gap.below_start
    assert gap.lost is None
    assert "committed offset 40 is past the log end 12" in gap.describe()


def test_several_gaps_make_one_line() -> None:
    gaps = [Gap("t", p, 1, 10, 20) for p in range(5)]
    line = describe_gaps(gaps)
    assert "\n" not in line
    assert line.count("committed offset 1 is below the log start 10") == 3
    assert line.endswith("; and 2 more partitions")


@dataclass
class Answer:
    offset: int


@dataclass
class FakeAdmin:
    """``list_offsets`` from fixed low and high watermarks; records what it was asked."""

    lows: dict[tuple[str, int], int]
    highs: dict[tuple[str, int], int]
    asked: list[set[tuple[str, int]]] = field(default_factory=list)

    def list_offsets(self, wanted: dict[Any, Any], **_: Any) -> dict[Any, Future[Answer]]:
        self.asked.append({(tp.topic, tp.partition) for tp in wanted})
        futures: dict[Any, Future[Answer]] = {}
        for tp, spec in wanted.items():
            source = self.lows if "Earliest" in type(spec).__name__ else self.highs
            future: Future[Answer] = Future()
            future.set_result(Answer(source[(tp.topic, tp.partition)]))
            futures[tp] = future
        return futures


def test_resume_positions_asks_the_bounds_of_committed_partitions_only() -> None:
    admin = FakeAdmin({A0: 500}, {A0: 900})
    starts, gaps = resume_positions("h:1", {A0: 120, A1: -1001}, admin=admin)
    assert admin.asked == [{A0}, {A0}]  # low, then high; A1 has nothing committed
    assert starts == {A0: 500, A1: OFFSET_BEGINNING}
    assert [(g.committed, g.log_start) for g in gaps] == [(120, 500)]


def test_a_first_start_asks_the_cluster_nothing() -> None:
    admin = FakeAdmin({}, {})
    assert resume_positions("h:1", {A0: -1001}, admin=admin) == ({A0: OFFSET_BEGINNING}, [])
    assert admin.asked == []


def test_what_a_gap_skips_in_a_run_summary() -> None:
    assert Gap("t", 0, 120, 500, 900).skipped == "offsets 120..499 (380)"
    assert Gap("t", 0, 40, 0, 12).skipped == "from offset 40, past the log end 12"
