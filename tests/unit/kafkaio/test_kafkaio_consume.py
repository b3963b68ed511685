"""``kafkaio.triage`` on what ``consume`` returns, and ``at_high_watermark`` with an open
transaction in front of the end (a fake admin client answers the watermarks)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from kafkaio import KafkaIOError, Record, at_high_watermark, consume_batch, triage

ORDERS = ("scv.order.v1", 0)
ITEMS = ("scv.item.v1", 2)


def record(where: tuple[str, int], offset: int) -> Message:
    return Message(topic=where[0], partition=where[1], offset=offset, value=b"{}")


def event(
    where: tuple[str, int], code: int, offset: int = -1001, *, fatal: bool = False
) -> Message:
    error = KafkaError(code, f"error {code}", fatal=fatal)
    return Message(topic=where[0], partition=where[1], offset=offset, error=error)


def test_records_ends_resets_and_transient_errors_are_told_apart() -> None:
    messages = [
        record(ORDERS, 7),
        event(ORDERS, KafkaError._PARTITION_EOF, 8),
        event(ITEMS, KafkaError._PARTITION_EOF, 3),
        record(ITEMS, 3),  # arrived after its end was reported: not at the end any more
        event(("raw.t", 1), KafkaError._AUTO_OFFSET_RESET, 650),
        event(("", 0), KafkaError._TRANSPORT),
    ]
    triaged = triage(messages)
    assert [m.offset() for m in triaged.records] == [7, 3]
    assert triaged.ends == {ORDERS: True, ITEMS: False}
    assert triaged.resets == {("raw.t", 1): 650}
    assert triaged.stopped
    assert triaged.notes[0].startswith("raw.t[1]: ")
    assert triaged.notes[1] == f"error {KafkaError._TRANSPORT}"


def test_track_ends_keeps_the_last_word_of_each_partition() -> None:
    at_end = {ITEMS}
    triage([event(ORDERS, KafkaError._PARTITION_EOF), record(ITEMS, 4)]).track_ends(at_end)
    assert at_end == {ORDERS}


def test_a_fatal_error_raises_the_callers_error() -> None:
    fatal = event(ORDERS, KafkaError._FENCED, fatal=True)
    with pytest.raises(KafkaIOError, match=r"^consumer: "):
        triage([record(ORDERS, 1), fatal])
    with pytest.raises(KafkaException):
        triage([fatal], fatal=KafkaException)


def test_a_record_is_copied_with_its_headers_as_bytes() -> None:
    message = Message(
        topic="q",
        partition=1,
        offset=9,
        key=b"k",
        value=b"v",
        headers={"a": "x", "b": None},
        timestamp=(1, 1_795_779_961_930),
    )
    copied = Record.of(message)
    assert copied == Record("q", 1, 9, 1_795_779_961_930, b"k", b"v", (("a", b"x"), ("b", None)))


@dataclass
class Offset:
    offset: int


class FakeAdmin:
    """``list_offsets`` answering the high (``latest``) or low (``earliest``) watermark."""

    def __init__(self, lows: dict[tuple[str, int], int], highs: dict[tuple[str, int], int]):
        self.lows, self.highs = lows, highs

    def list_offsets(self, wanted: dict[Any, Any], **_: Any) -> dict[Any, Future[Offset]]:
        answers: dict[Any, Future[Offset]] = {}
        for tp, spec in wanted.items():
            bounds = self.highs if "LATEST" in repr(spec).upper() else self.lows
            future: Future[Offset] = Future()
            future.set_result(Offset(bounds[(tp.topic, tp.partition)]))
            answers[tp] = future
        return answers


class FakeConsumer:
    def __init__(self, positions: dict[tuple[str, int], int]) -> None:
        self.positions = positions

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(
                tp.topic, tp.partition, self.positions.get((tp.topic, tp.partition), -1001)
            )
            for tp in partitions
        ]


def _at_end(positions: dict[tuple[str, int], int], started: dict[tuple[str, int], int]) -> set[Any]:
    # ORDERS: records up to 12, an open transaction from 10 (the last stable offset), so a
    # read_committed consumer stands at 10 and reports end-of-partition there.
    admin: Any = FakeAdmin({ORDERS: 0, ITEMS: 5}, {ORDERS: 12, ITEMS: 5})
    consumer: Any = FakeConsumer(positions)
    return at_high_watermark(consumer, "unused:9092", [ORDERS, ITEMS], started=started, admin=admin)


def test_a_reader_in_front_of_an_open_transaction_is_not_at_the_end() -> None:
    assert _at_end({ORDERS: 10}, {}) == {ITEMS}  # ITEMS: empty log (5..5), nothing to read


def test_a_reader_past_the_high_watermark_is_at_the_end() -> None:
    assert _at_end({ORDERS: 12}, {}) == {ORDERS, ITEMS}


def test_a_partition_with_no_position_yet_stands_where_it_was_placed() -> None:
    assert _at_end({}, {ORDERS: 12}) == {ORDERS, ITEMS}
    assert _at_end({}, {ORDERS: 3}) == {ITEMS}


class QueuedConsumer:
    """The local queue of a consumer: ``poll`` and ``consume`` take from it; the calls and
    their timeouts are recorded."""

    def __init__(self, queued: list[Message]) -> None:
        self.queued = queued
        self.calls: list[tuple[str, int, float]] = []

    def poll(self, timeout: float) -> Message | None:
        self.calls.append(("poll", 1, timeout))
        return self.queued.pop(0) if self.queued else None

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.calls.append(("consume", num_messages, timeout))
        taken, self.queued = self.queued[:num_messages], self.queued[num_messages:]
        return taken


def test_a_batch_takes_the_first_record_then_what_arrives_within_the_linger() -> None:
    consumer: Any = QueuedConsumer([record(ORDERS, n) for n in range(3)])
    found = consume_batch(consumer, 500, 0.2, 0.005)
    assert [m.offset() for m in found] == [0, 1, 2]  # small: it did not wait for 500
    assert consumer.calls == [("poll", 1, 0.2), ("consume", 499, 0.005)]


def test_a_backlog_fills_the_batch_and_leaves_the_rest() -> None:
    consumer: Any = QueuedConsumer([record(ORDERS, n) for n in range(1200)])
    assert [m.offset() for m in consume_batch(consumer, 500, 0.2, 0.005)] == list(range(500))
    assert len(consumer.queued) == 700


def test_nothing_there_is_an_empty_batch_after_the_timeout_alone() -> None:
    consumer: Any = QueuedConsumer([])
    assert consume_batch(consumer, 500, 0.2, 0.005) == []
    assert consumer.calls == [("poll", 1, 0.2)]
    consumer = QueuedConsumer([record(ORDERS, 0), record(ORDERS, 1)])
    assert [m.offset() for m in consume_batch(consumer, 1, 0.2, 0.005)] == [0]
