"""Raw records deleted before the pipeline read them are never skipped without a word.

On a raw topic of the test's own (its own source pattern, group, transactional ids and output
topic prefix): records are produced, the group's offset is committed in the middle, and
``delete_records`` moves the log start past it, as retention would. ``scv pipeline run`` then
stops with one line naming the partition, the committed offset and the log start, and a
non-zero exit; with ``--allow-gap`` it reads on from the log start and reports the skipped
range; after that the group is past the gap and a plain run is clean. A group with no
committed offset starts at the log start without any of this. The quarantine topic, created
beforehand with a finite retention, keeps its records for ever after the first start.

The records are tombstones (value None): the runner skips them as ``tombstone``, so the
summary counts exactly what it read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
)

import kafkaio
from kafkaio import client_config

RECORDS = 10
COMMITTED = 3
LOG_START = 6


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scv", "pipeline", "run", "--until-idle", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _committed(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer(client_config(bootstrap, {"group.id": group}))
    try:
        return kafkaio.committed_offsets(consumer, [(topic, 0)], group=group)[(topic, 0)]
    finally:
        consumer.close()


def _produce_tombstones(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer(client_config(bootstrap, {"enable.idempotence": True}))
    for i in range(count):
        producer.produce(topic, key=f"k{i}".encode(), value=None)
    assert producer.flush(30) == 0


def _delete_before(admin: AdminClient, topic: str, offset: int) -> None:
    tp = TopicPartition(topic, 0, offset)
    for future in admin.delete_records([tp], operation_timeout=30).values():
        future.result(60)


def test_a_committed_offset_deleted_from_the_log_stops_the_runner_until_allowed(
    endpoints: dict[str, str],
) -> None:
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    run = f"itg{uuid.uuid4().hex[:8]}"
    topic = f"{run}.raw.orders"
    group = f"{run}-group"
    env = {
        **os.environ,
        **endpoints,
        "SCV_TRANSFORMS_SOURCE_PATTERN": rf"^{run}\.raw\..+",
        "SCV_TRANSFORMS_TOPIC_PREFIX": f"{run}.",
        "SCV_TRANSFORMS_GROUP_ID": group,
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{run}-tx",
        "SCV_TRANSFORMS_IDLE_S": "3",
    }
    admin = AdminClient(client_config(bootstrap))
    quarantine = f"{run}.scv.quarantine.v1"
    kafkaio.ensure_topics(
        bootstrap,
        [
            NewTopic(topic, num_partitions=1, replication_factor=1),
            # As an earlier version created it: records expire after a day.
            NewTopic(quarantine, 3, 1, config={"retention.ms": "86400000"}),
        ],
        admin=admin,
    )
    _produce_tombstones(bootstrap, topic, RECORDS)
    kafkaio.commit_offsets(bootstrap, group, {(topic, 0): COMMITTED})
    _delete_before(admin, topic, LOG_START)
    assert kafkaio.low_watermarks(bootstrap, [(topic, 0)], admin=admin) == {(topic, 0): LOG_START}

    refused = _run(env)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    line = f"{topic}[0]: committed offset {COMMITTED} is below the log start {LOG_START}"
    assert line in refused.stderr
    assert f"offsets {COMMITTED}..{LOG_START - 1} ({LOG_START - COMMITTED})" in refused.stderr
    assert "--allow-gap" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _committed(bootstrap, group, topic) == COMMITTED  # nothing moved past the gap

    resource = ConfigResource("topic", quarantine)
    config = admin.describe_configs([resource])[resource].result(30)
    assert config["retention.ms"].value == "-1"
    assert config["retention.bytes"].value == "-1"
    assert f"topic {quarantine}: retention.ms 86400000 -> -1" in refused.stderr

    allowed = _run(env, "--allow-gap")
    out = allowed.stdout + allowed.stderr
    assert allowed.returncode == 0, out
    assert "gap skipped (allow_gap)" in allowed.stderr
    assert "1 gaps skipped (--allow-gap)" in allowed.stdout
    assert f"offsets {COMMITTED}..{LOG_START - 1} ({LOG_START - COMMITTED}) skipped" in out
    assert f"pipeline: {RECORDS - LOG_START} messages in " in allowed.stdout
    assert _committed(bootstrap, group, topic) == RECORDS

    clean = _run(env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "pipeline: 0 messages in " in clean.stdout
    assert "gap" not in clean.stdout + clean.stderr


def test_a_first_start_reads_from_the_log_start_without_a_gap(endpoints: dict[str, str]) -> None:
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    run = f"itg{uuid.uuid4().hex[:8]}"
    topic = f"{run}.raw.orders"
    env = {
        **os.environ,
        **endpoints,
        "SCV_TRANSFORMS_SOURCE_PATTERN": rf"^{run}\.raw\..+",
        "SCV_TRANSFORMS_TOPIC_PREFIX": f"{run}.",
        "SCV_TRANSFORMS_GROUP_ID": f"{run}-group",
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{run}-tx",
        "SCV_TRANSFORMS_IDLE_S": "3",
    }
    admin = AdminClient(client_config(bootstrap))
    kafkaio.ensure_topics(bootstrap, [NewTopic(topic, 1, 1)], admin=admin)
    _produce_tombstones(bootstrap, topic, RECORDS)
    _delete_before(admin, topic, LOG_START)  # retention ran before the pipeline ever did

    first = _run(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"pipeline: {RECORDS - LOG_START} messages in " in first.stdout
    assert "gap" not in first.stdout + first.stderr
