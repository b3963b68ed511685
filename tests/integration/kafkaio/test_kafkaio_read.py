"""``kafkaio.read_committed`` against the real broker: it reads to the high watermark, waits for
an open transaction, fails naming the partition when the transaction outlives its timeout, and
returns everything committed after an aborted transaction.

Every test has its own topic (``kio-test-<uuid>``, one partition, created with
``ensure_topics`` and deleted afterwards) and its own transactional ids.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import IsolationLevel, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import NewTopic, OffsetSpec  # type: ignore[attr-defined]

from kafkaio import (
    ReadIncomplete,
    admin_client,
    client_config,
    ensure_topics,
    high_watermarks,
    read_committed,
    read_range,
)

#: How long the open transaction stays open while the reader waits for it (seconds).
HOLD_S = 4.0


@pytest.fixture
def bootstrap(endpoints: dict[str, str]) -> str:
    return endpoints["SCV_KAFKA_BOOTSTRAP"]


@pytest.fixture
def topic(bootstrap: str) -> Iterator[str]:
    name = f"kio-test-{uuid.uuid4().hex[:12]}"
    created = ensure_topics(bootstrap, [NewTopic(name, num_partitions=1, replication_factor=1)])
    assert created == [name]
    # A topic created a moment ago answers at once (ensure_topics waited for its leader).
    assert high_watermarks(bootstrap, [(name, 0)]) == {(name, 0): 0}
    try:
        yield name
    finally:
        admin = admin_client(bootstrap)  # referenced until the future resolved
        admin.delete_topics([name], operation_timeout=30)[name].result(60)


def producer(bootstrap: str, topic: str, role: str) -> Producer:
    p = Producer(
        client_config(
            bootstrap,
            {
                "transactional.id": f"{topic}-{role}",
                "transaction.timeout.ms": 60_000,
            },
        )
    )
    p.init_transactions(60)
    return p


def produce(p: Producer, topic: str, values: list[str], timestamp: int | None = None) -> None:
    for value in values:
        if timestamp is None:
            p.produce(topic, value.encode(), partition=0)
        else:
            p.produce(topic, value.encode(), partition=0, timestamp=timestamp)
    assert p.flush(30) == 0  # in the log (uncommitted) before the test goes on


def committed(p: Producer, topic: str, values: list[str], timestamp: int | None = None) -> None:
    p.begin_transaction()
    produce(p, topic, values, timestamp)
    p.commit_transaction(60)


def collect(messages: Iterator[Message], into: list[str]) -> None:
    into.extend((m.value() or b"").decode() for m in messages)


def stable_and_high(bootstrap: str, topic: str) -> tuple[int, int]:
    """(last stable offset, high watermark) of partition 0."""
    admin = admin_client(bootstrap)
    found = []
    for level in (IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED):
        futures = admin.list_offsets(
            {TopicPartition(topic, 0): OffsetSpec.latest()}, isolation_level=level
        )
        found.append(next(iter(futures.values())).result(30).offset)
    return found[0], found[1]


@pytest.mark.parametrize("with_since", [False, True], ids=["from-start", "since"])
def test_reader_waits_for_an_open_transaction_and_returns_every_committed_record(
    bootstrap: str, topic: str, with_since: bool
) -> None:
    now_ms = int(time.time() * 1000)
    early = now_ms - 60_000  # "c0" is a minute old: a read ``since`` 30 s ago leaves it out
    before, slow, other = (producer(bootstrap, topic, r) for r in ("before", "slow", "other"))
    committed(before, topic, ["c0"], timestamp=early)
    committed(before, topic, ["s1"])  # the reader yields it before it has to wait
    slow.begin_transaction()
    produce(slow, topic, ["a1", "a2", "a3"])
    # Another producer commits on the same partition after the open transaction began: its
    # records are behind the last stable offset until the slow transaction ends.
    committed(other, topic, ["b1", "b2"])
    lso, hwm = stable_and_high(bootstrap, topic)
    assert lso < hwm, "the scenario needs an open transaction in front of committed records"

    reading = threading.Event()
    failed: list[Exception] = []

    def commit_later() -> None:
        try:
            if not reading.wait(60):
                raise AssertionError("the reader never started")
            time.sleep(HOLD_S)  # keep the transaction open while the reader waits for it
            slow.commit_transaction(60)
        except (AssertionError, KafkaException) as exc:
            failed.append(exc)

    committer = threading.Thread(target=commit_later, name="kio-test-commit")
    committer.start()
    since = datetime.fromtimestamp((now_ms - 30_000) / 1000, UTC) if with_since else None
    values: list[str] = []
    started = time.monotonic()
    try:
        for message in read_committed(bootstrap, [topic], since=since, timeout_s=60):
            values.append((message.value() or b"").decode())
            reading.set()
    finally:
        reading.set()
        committer.join(120)
    waited = time.monotonic() - started
    assert not failed, failed
    expected = ["s1", "a1", "a2", "a3", "b1", "b2"]
    assert values == (expected if with_since else ["c0", *expected])
    # The read could only end after the commit it had to wait for.
    assert waited >= HOLD_S


def test_an_open_transaction_past_the_timeout_fails_naming_the_partition(
    bootstrap: str, topic: str
) -> None:
    before, slow, other = (producer(bootstrap, topic, r) for r in ("before", "slow", "other"))
    committed(before, topic, ["c0"])
    slow.begin_transaction()
    produce(slow, topic, ["a1"])
    committed(other, topic, ["b1"])
    lso, hwm = stable_and_high(bootstrap, topic)
    values: list[str] = []
    try:
        with pytest.raises(ReadIncomplete) as raised:
            collect(read_committed(bootstrap, [topic], timeout_s=3), values)
    finally:
        slow.abort_transaction(60)
    assert values == ["c0"]
    assert raised.value.stopped == {(topic, 0): (lso, hwm)}
    message = str(raised.value)
    assert f"{topic}[0] at offset {lso} of {hwm}" in message
    assert "open transaction" in message


def test_records_after_an_aborted_transaction_are_all_returned(bootstrap: str, topic: str) -> None:
    one, two = producer(bootstrap, topic, "one"), producer(bootstrap, topic, "two")
    committed(one, topic, ["c0"])
    two.begin_transaction()
    produce(two, topic, ["x1", "x2"])
    committed(one, topic, ["c1", "c2"])  # committed while the doomed transaction is open
    two.abort_transaction(60)
    committed(one, topic, ["c3"])
    # The partition ends with aborted records and their marker: the read still ends.
    two.begin_transaction()
    produce(two, topic, ["x3"])
    two.abort_transaction(60)
    values = [(m.value() or b"").decode() for m in read_committed(bootstrap, [topic], timeout_s=20)]
    assert values == ["c0", "c1", "c2", "c3"]


def test_missing_topics_are_skipped_and_a_growing_topic_reads_to_its_end_as_of_the_start(
    bootstrap: str, topic: str
) -> None:
    p = producer(bootstrap, topic, "grow")
    committed(p, topic, ["c0", "c1"])
    values: list[str] = []
    for message in read_committed(bootstrap, [topic, f"{topic}-missing"], timeout_s=20):
        values.append((message.value() or b"").decode())
        if len(values) == 1:
            committed(p, topic, ["late"])  # after the read began: not part of this read
    assert values == ["c0", "c1"]
    # ``since`` after the last record: nothing, at once.
    later = datetime.now(UTC) + timedelta(hours=1)
    assert list(read_committed(bootstrap, [topic], since=later, timeout_s=5)) == []


def test_records_removed_from_the_start_of_the_log_do_not_stall_the_read(
    bootstrap: str, topic: str
) -> None:
    p = producer(bootstrap, topic, "removed")
    committed(p, topic, ["gone1", "gone2"])  # offsets 0, 1 and the marker at 2
    admin = admin_client(bootstrap)
    removed = admin.delete_records([TopicPartition(topic, 0, 3)], operation_timeout=30)
    for future in removed.values():
        future.result(60)
    # Everything removed: an empty answer at once, from the beginning or from offset 0.
    assert list(read_committed(bootstrap, [topic], timeout_s=5)) == []
    assert list(read_range(bootstrap, {(topic, 0): 0}, {(topic, 0): 3}, timeout_s=5)) == []
    committed(p, topic, ["kept"])
    values: list[str] = []
    collect(
        read_range(bootstrap, {}, high_watermarks(bootstrap, [(topic, 0)]), timeout_s=5), values
    )
    assert values == ["kept"]
