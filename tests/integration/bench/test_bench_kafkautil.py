"""The benchmark's Kafka helpers on the real broker (they delegate to ``kafkaio``): ends are high
watermarks, counting and range reads see committed records only and end, group offsets round
trip, and the clean-up removes exactly its prefix. Own topic and group (``kio-test-``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from bench import kafkautil
from kafkaio import client_config


@pytest.fixture
def names(endpoints: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    prefix = f"kio-test-bench-{uuid.uuid4().hex[:8]}-"
    group = f"{prefix}group"
    try:
        yield bootstrap, prefix, group
    finally:
        kafkautil.delete_prefixed(bootstrap, prefix, [group])


def test_helpers_count_read_and_commit_on_a_fresh_transactional_topic(
    names: tuple[str, str, str],
) -> None:
    bootstrap, prefix, group = names
    topic = f"{prefix}a"
    kafkautil.create_topic(bootstrap, topic, 2)
    parts = [(topic, 0), (topic, 1)]
    assert kafkautil.end_offsets(bootstrap, parts) == {(topic, 0): 0, (topic, 1): 0}
    producer = Producer(client_config(bootstrap, {"transactional.id": f"{prefix}tx"}))
    producer.init_transactions(60)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, str(i).encode(), partition=i % 2)
    producer.commit_transaction(60)
    producer.begin_transaction()
    producer.produce(topic, b"aborted", partition=0)
    producer.flush(30)
    producer.abort_transaction(60)

    assert kafkautil.partitions(bootstrap, f"^{prefix}") == parts
    ends = kafkautil.end_offsets(bootstrap, parts)
    # Partition 0: 0, 2, 4, the commit marker, the aborted record and its marker.
    assert ends == {(topic, 0): 6, (topic, 1): 3}
    assert kafkautil.count_records(bootstrap, [topic], timeout=20) == {topic: 5}
    found = kafkautil.read_range(bootstrap, {(topic, 0): 1}, ends, timeout=20)
    assert sorted(value or b"" for _ts, value in found) == [b"1", b"2", b"3", b"4"]

    kafkautil.commit_group(bootstrap, group, {(topic, 0): 1, (topic, 1): 2})
    watcher = kafkautil.GroupWatcher(bootstrap, group)
    try:
        assert watcher.committed(parts) == {(topic, 0): 1, (topic, 1): 2}
    finally:
        watcher.close()
    assert kafkautil.delete_prefixed(bootstrap, prefix, [group]) == [topic]
    assert kafkautil.partitions(bootstrap, f"^{prefix}") == []
