"""Exactly once through a crash: kill -9 the runner mid-run, restart, no loss, no duplicate.

The raw records are variants of an ``f4101`` envelope captured from the running stack (item
number, SKU, unit and LSN varied per record), produced to a unique raw topic; every run uses
unique topics, group and transactional ids, so it cannot collide with other work on the stack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from kafkaio import client_config
from stack.settings import StackSettings

CAPTURED = Path(__file__).parents[2] / "fixtures" / "captured" / "erp" / "f4101" / "u.json"
RECORDS = 10_000


def _variants(count: int) -> list[tuple[bytes, bytes]]:
    record = orjson.loads(CAPTURED.read_bytes())
    envelope = orjson.loads(record["value"])
    out = []
    for i in range(count):
        after = dict(envelope["after"], imitm=900_000 + i, imlitm=f"EOS-{i}".ljust(25))
        after["imuom1"] = "EA"
        source = dict(envelope["source"], lsn=10_000_000 + i)
        value = dict(envelope, op="c", before=None, after=after, source=source)
        out.append((orjson.dumps({"imitm": 900_000 + i}), orjson.dumps(value)))
    return out


def _read_committed(bootstrap: str, topic: str, timeout: float = 20.0) -> list[bytes]:
    consumer = Consumer(
        client_config(
            bootstrap,
            {
                "group.id": f"eos-check-{uuid.uuid4()}",
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            },
        )
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    partitions = [TopicPartition(topic, p, 0) for p in metadata.partitions]
    consumer.assign(partitions)
    values: list[bytes] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(at_end) < len(partitions) and time.monotonic() < deadline:
        for message in consumer.consume(1000, timeout=1):
            error = message.error()
            if error is not None:
                at_end.add(message.partition() or 0)
                continue
            value = message.value()
            if value is not None:
                values.append(value)
    consumer.close()
    return values


def _committed_offsets(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer(client_config(bootstrap, {"group.id": group}))
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))
    finally:
        consumer.close()


def _runner(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scv", "pipeline", "run", "--until-idle"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_kill_9_mid_run_loses_and_duplicates_nothing(
    stack_settings: StackSettings, tmp_path: Path
) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    run = f"it{uuid.uuid4().hex[:8]}"
    raw_topic = f"{run}.raw.erp.proddta.f4101"
    producer = Producer(client_config(bootstrap, {"linger.ms": 20}))
    for key, value in _variants(RECORDS):
        producer.produce(raw_topic, key=key, value=value)
    assert producer.flush(30) == 0

    env = {
        **os.environ,
        "SCV_KAFKA_BOOTSTRAP": bootstrap,
        "SCV_TRANSFORMS_TOPIC_PREFIX": f"{run}.",
        "SCV_TRANSFORMS_SOURCE_PATTERN": rf"^{run}\.raw\..+",
        "SCV_TRANSFORMS_GROUP_ID": f"{run}-group",
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{run}-tx",
        "SCV_TRANSFORMS_BATCH_SIZE": "50",
        "SCV_TRANSFORMS_IDLE_S": "4",
    }
    out_topic = f"{run}.scv.item.v1"
    log = tmp_path / "runner.log"

    first = _runner(env, log)
    deadline = time.monotonic() + 90
    committed = 0
    while time.monotonic() < deadline and first.poll() is None and committed == 0:
        time.sleep(0.1)
        committed = _committed_offsets(bootstrap, f"{run}-group", raw_topic)
    assert first.poll() is None, f"runner ended before it could be killed:\n{log.read_text()}"
    assert 0 < committed < RECORDS, f"kill must land mid-run (committed {committed})"
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    second = _runner(env, log)
    assert second.wait(180) == 0, log.read_text()

    values = _read_committed(bootstrap, out_topic)
    ids = Counter(orjson.loads(v)["event_id"] for v in values)
    duplicated = {k: n for k, n in ids.items() if n > 1}
    assert duplicated == {}, f"{len(duplicated)} duplicated events"
    assert len(ids) == RECORDS, f"{RECORDS - len(ids)} events missing\n{log.read_text()}"
    skus = {orjson.loads(v)["item_id"] for v in values}
    assert skus == {f"EOS-{i}" for i in range(RECORDS)}
