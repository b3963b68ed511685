"""Rows in source commit order: the batch merge, the reference frontier, and the runner's wait.

The records are real ones, recorded from the local stack (``tests/fixtures/debezium``); the
ERP ones below were streamed in one session, so their orders compare: the item change
(f4101 ``u``) came first, then the conversion's create and update (f41002 ``c``, ``u``), then
the order line's create and update (f4211 ``c``, ``u``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import TopicPartition

from transforms.envelope import parse_envelope
from transforms.holds import COMMIT_ORDER, TopicKey
from transforms.pipeline import RawMessage, decode
from transforms.registry import default_registry
from transforms.runner import Runner
from transforms.sequencing import CommitOrderMerge, PartitionReading, Sequenced
from transforms.settings import TransformsSettings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"
REFERENCE_TABLES = {"f4101", "f41002", "ORDERS", "LOC"}


def _raw(name: str, *, partition: int | None = None, offset: int | None = None) -> RawMessage:
    record = orjson.loads((FIXTURES / name).read_bytes())
    return RawMessage(
        record["topic"],
        record["partition"] if partition is None else partition,
        record["offset"] if offset is None else offset,
        None if record["key"] is None else record["key"].encode(),
        None if record["value"] is None else record["value"].encode(),
    )


def _row(raw: RawMessage) -> Sequenced:
    parts = raw.topic.split(".")
    return Sequenced(raw, decode(raw), parts[0], parts[-1] in REFERENCE_TABLES)


def commit_order(rows: Iterable[Sequenced]) -> list[Sequenced]:
    """``rows`` as a merge hands them out when no partition is behind (one batch)."""
    merge = CommitOrderMerge()
    merge.add(rows)
    return list(merge.take([]))


def _names(rows: list[Sequenced]) -> list[tuple[str, int]]:
    return [(row.raw.topic.rsplit(".", 1)[1], row.raw.offset) for row in rows]


ITEM_CHANGED = _raw("erp/f4101/u.json")  # partition 2, offset 1
CONVERSION_CREATED = _raw("erp/f41002/c.json")  # partition 0, offset 0
CONVERSION_CHANGED = _raw("erp/f41002/u.json")  # partition 0, offset 1
LINE_PLACED = _raw("erp/f4211/c.json")  # partition 1, offset 0
LINE_CHANGED = _raw("erp/f4211/u.json")  # partition 1, offset 1


def test_the_recorded_changes_are_in_the_commit_order_this_module_relies_on() -> None:
    orders = [
        parse_envelope(raw.value).order  # type: ignore[union-attr]
        for raw in (ITEM_CHANGED, CONVERSION_CREATED, CONVERSION_CHANGED, LINE_PLACED)
    ]
    assert orders == sorted(orders)


def test_a_batch_is_mapped_in_commit_order_whatever_the_arrival_order() -> None:
    arrived = [LINE_PLACED, LINE_CHANGED, CONVERSION_CREATED, CONVERSION_CHANGED, ITEM_CHANGED]

    merged = commit_order(_row(raw) for raw in arrived)

    assert _names(merged) == [
        ("f4101", 1),
        ("f41002", 0),
        ("f41002", 1),
        ("f4211", 0),
        ("f4211", 1),
    ]


def test_a_conversion_changed_after_an_order_line_comes_after_it() -> None:
    # The line was committed before the conversion's update: it must see the old factor.
    line_first = LINE_PLACED._replace(partition=1, offset=7)
    later_change = _raw("erp/f4211/u-ship.json", partition=0, offset=5)  # a much later commit

    merged = commit_order(_row(raw) for raw in [later_change, CONVERSION_CHANGED, line_first])

    assert _names(merged) == [("f41002", 1), ("f4211", 7), ("f4211", 5)]


def test_snapshot_reads_come_first_reference_tables_before_the_others() -> None:
    snapshot_line = _raw("erp/f4211/r.json", partition=0, offset=0)  # its own partition
    snapshot_conversion = _raw("erp/_snapshot/f41002-60001-CA-EA.json")

    merged = commit_order(
        _row(raw) for raw in [LINE_PLACED, snapshot_line, CONVERSION_CHANGED, snapshot_conversion]
    )

    assert [row.order is None for row in merged] == [True, True, False, False]
    assert [row.reference for row in merged[:2]] == [True, False]


def test_every_partition_keeps_its_offset_order_even_where_replays_break_the_order() -> None:
    window = [
        RawMessage(r["topic"], r["partition"], r["offset"], r["key"].encode(), r["value"].encode())
        for r in orjson.loads(
            (FIXTURES / "erp" / "_replay" / "f4211-connect-kill.json").read_bytes()
        )
        if r["value"] is not None
    ]
    orders = [parse_envelope(raw.value).order for raw in window]  # type: ignore[union-attr]
    assert orders != sorted(orders), "the recording must hold replays (lower orders later)"

    merged = commit_order(_row(raw) for raw in [*window, CONVERSION_CHANGED])

    partition = [row.raw.offset for row in merged if row.raw.topic == window[0].topic]
    assert partition == [raw.offset for raw in window]


def test_sources_are_merged_each_on_its_own() -> None:
    wms_order = _raw("wms/ORDERS/u.json")
    pick = _raw("wms/PICKDETAIL/c.json")

    merged = commit_order(_row(raw) for raw in [pick, LINE_PLACED, wms_order, ITEM_CHANGED])

    assert [row.system for row in merged] == ["erp", "erp", "wms", "wms"]
    assert _names(merged)[2:] == [("PICKDETAIL", 0), ("ORDERS", 38230)]  # by binlog order


CONVERSIONS = (CONVERSION_CHANGED.topic, CONVERSION_CHANGED.partition)
LINES = (LINE_PLACED.topic, LINE_PLACED.partition)

# -- the merge across batches ---------------------------------------------------------------


def _reading(
    key: TopicKey, *, at_end: bool, last: RawMessage | None = None, held: bool = False
) -> PartitionReading:
    order = None if last is None else _row(last).order
    table = key[0].rsplit(".", 1)[1]
    return PartitionReading(key, "erp", table in REFERENCE_TABLES, at_end, order, held)


def _take(readings: list[PartitionReading], *rows: RawMessage) -> list[tuple[str, int]]:
    merge = CommitOrderMerge()
    merge.add(_row(raw) for raw in rows)
    return _names(list(merge.take(readings)))


def test_partitions_read_to_their_end_hold_nothing_back() -> None:
    readings = [_reading(CONVERSIONS, at_end=True), _reading(LINES, at_end=True)]

    taken = _take(readings, LINE_PLACED, CONVERSION_CHANGED)

    assert taken == [("f41002", 1), ("f4211", 0)]


def test_a_line_waits_for_a_conversion_partition_not_read_past_it() -> None:
    # The conversion partition was read up to the create; the update is still on the broker.
    lagging = _reading(CONVERSIONS, at_end=False, last=CONVERSION_CREATED)
    snapshot_line = _raw("erp/f4211/r.json", partition=0, offset=0)

    taken = _take([lagging, _reading(LINES, at_end=True)], LINE_PLACED, snapshot_line)

    assert taken == [("f4211", 0)]  # only the snapshot read (partition 0): it never waits


def test_a_conversion_change_waits_for_a_line_partition_not_read_past_it() -> None:
    # The line partition's last row read is older than the change, and more is on the broker:
    # a line committed before the change may still come, and must see the old factor.
    lagging = _reading(LINES, at_end=False, last=ITEM_CHANGED)

    assert _take([lagging, _reading(CONVERSIONS, at_end=True)], CONVERSION_CHANGED) == []


def test_rows_of_one_kind_never_wait_for_each_other() -> None:
    items = (ITEM_CHANGED.topic, ITEM_CHANGED.partition)
    lagging = _reading(items, at_end=False, last=ITEM_CHANGED)

    taken = _take([lagging, _reading(CONVERSIONS, at_end=True)], CONVERSION_CHANGED)

    assert taken == [("f41002", 1)]


def test_a_partition_that_ran_out_of_rows_stops_the_other_kind_after_its_last() -> None:
    readings = [_reading(CONVERSIONS, at_end=False), _reading(LINES, at_end=True)]

    # The conversion partition's last row of the batch is the create; more is on the broker.
    taken = _take(readings, CONVERSION_CREATED, LINE_PLACED)

    assert taken == [("f41002", 0)]


def test_rows_that_wait_are_taken_with_the_next_batch_in_commit_order() -> None:
    merge = CommitOrderMerge()
    lagging = [_reading(CONVERSIONS, at_end=False, last=CONVERSION_CREATED)]
    merge.add([_row(LINE_PLACED), _row(LINE_CHANGED)])
    assert list(merge.take(lagging)) == []
    assert merge.first_offset(LINES) == 0
    assert merge.waiting_for == {"erp": CONVERSIONS}  # what a long wait is reported with

    merge.add([_row(CONVERSION_CHANGED)])
    taken = list(merge.take([_reading(CONVERSIONS, at_end=True)]))

    assert _names(taken) == [("f41002", 1), ("f4211", 0), ("f4211", 1)]
    assert len(merge) == 0


def test_a_held_partition_holds_nothing_back() -> None:
    held = _reading(LINES, at_end=False, last=ITEM_CHANGED, held=True)

    assert _take([held], CONVERSION_CHANGED) == [("f41002", 1)]


def test_a_dropped_partition_is_not_taken() -> None:
    merge = CommitOrderMerge()
    merge.add([_row(CONVERSION_CHANGED), _row(LINE_PLACED), _row(LINE_CHANGED)])
    readings = [_reading(CONVERSIONS, at_end=True), _reading(LINES, at_end=True)]

    taken = []
    for row in merge.take(readings):
        taken.append(row)
        if row.key == LINES:
            merge.drop([LINES])  # the line was held: it and the rows after it are read again

    assert _names(taken) == [("f41002", 1), ("f4211", 0)]
    assert merge.first_offset(LINES) is None

    merge.add([_row(LINE_PLACED), _row(LINE_CHANGED)])  # read again from the held row
    assert _names(list(merge.take(readings))) == [("f4211", 0), ("f4211", 1)]


# -- the runner ------------------------------------------------------------------------------


class FakeConsumer:
    """The calls the runner's merge makes: assignment, positions, cached ends, pause/resume."""

    def __init__(self, positions: dict[TopicKey, int], ends: dict[TopicKey, int]) -> None:
        self.positions = positions
        self.ends = ends
        self.paused: list[TopicKey] = []
        self.resumed: list[TopicKey] = []

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in self.positions]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)])
            for tp in partitions
        ]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        assert cached, "the merge must not cost a request per batch"
        return 0, self.ends[(tp.topic, tp.partition)]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused += [(tp.topic, tp.partition) for tp in partitions]

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.resumed += [(tp.topic, tp.partition) for tp in partitions]

    def seek(self, tp: TopicPartition) -> None:
        raise AssertionError("a waiting row stays in memory: no seek")

    def consumer_group_metadata(self) -> Any:
        return None


class Message:
    """A consumed record as the runner reads it."""

    def __init__(self, raw: RawMessage) -> None:
        self._raw = raw

    def topic(self) -> str:
        return self._raw.topic

    def partition(self) -> int:
        return self._raw.partition

    def offset(self) -> int:
        return self._raw.offset

    def key(self) -> bytes | None:
        return self._raw.key

    def value(self) -> bytes | None:
        return self._raw.value

    def headers(self) -> None:
        return None


def test_a_line_read_before_a_lagging_conversion_partition_waits_in_memory() -> None:
    runner = Runner(TransformsSettings(), default_registry())
    created = parse_envelope(CONVERSION_CREATED.value)
    assert created is not None
    runner.replays.admit(*CONVERSIONS, CONVERSION_CREATED.key, created)
    # The conversion partition was read up to the create (offset 0); the update is still on
    # the broker (end 2): the line, committed after both, must not be mapped yet.
    consumer: Any = FakeConsumer({CONVERSIONS: 1, LINES: 1}, {CONVERSIONS: 2, LINES: 1})

    mapped = runner.batcher.map(consumer, [Message(LINE_PLACED)])  # type: ignore[list-item]

    assert mapped.messages == 0
    assert runner.stats.held[COMMIT_ORDER] == 1
    assert {(tp.topic, tp.partition): tp.offset for tp in mapped.positions}[LINES] == 0
    assert runner.waiting.merge.first_offset(LINES) == LINE_PLACED.offset

    mapped = runner.batcher.map(consumer, [])  # nothing new: it still waits
    assert mapped.messages == 0
    assert runner.stats.held[COMMIT_ORDER] == 1  # counted once

    consumer.positions[CONVERSIONS] = 2  # the update arrives, and is mapped before the line
    mapped = runner.batcher.map(consumer, [Message(CONVERSION_CHANGED)])  # type: ignore[list-item]
    assert mapped.messages == 2
    assert len(runner.waiting.merge) == 0
    assert {(tp.topic, tp.partition): tp.offset for tp in mapped.positions}[LINES] == 1


def test_partitions_with_rows_waiting_pause_past_the_limit_until_half_are_mapped() -> None:
    runner = Runner(TransformsSettings(batch_size=1, pending_max_rows=1), default_registry())
    consumer: Any = FakeConsumer({CONVERSIONS: 0, LINES: 1}, {CONVERSIONS: 2, LINES: 1})

    runner.batcher.map(consumer, [Message(LINE_PLACED), Message(LINE_CHANGED)])  # type: ignore[list-item]
    assert consumer.paused == [LINES]  # two rows waiting, one allowed

    consumer.positions[CONVERSIONS] = 2
    runner.batcher.map(consumer, [Message(CONVERSION_CREATED), Message(CONVERSION_CHANGED)])  # type: ignore[list-item]
    assert consumer.resumed == [LINES]
