"""Helpers over the raw Debezium change topics, shared by the end-to-end integration tests.

Imported as ``rawtopics`` (``tests/integration`` is on pytest's ``pythonpath``); not a test file.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
import orjson
from confluent_kafka import Consumer, TopicPartition

import kafkaio
from kafkaio import client_config

RAW = re.compile(r"^(erp\.proddta|wms\.wmwhse1)\..+")
Offsets = dict[tuple[str, int], int]


def raw_ends(bootstrap: str) -> Offsets:
    """The current end offset (high watermark) of every raw change topic partition."""
    return kafkaio.high_watermarks(bootstrap, kafkaio.partitions(bootstrap, RAW))


def count_ops(bootstrap: str, topic: str, start: Offsets, op: str) -> int:
    """How many records of ``op`` the raw topic holds after ``start``."""
    consumer = Consumer(
        client_config(
            bootstrap,
            {
                "group.id": f"count-{uuid.uuid4()}",
                "enable.partition.eof": True,
                "enable.auto.commit": False,
            },
        )
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign(
            [TopicPartition(topic, p, start.get((topic, p), 0)) for p in meta.partitions]
        )
        pending, count = set(meta.partitions), 0
        while pending:
            for message in consumer.consume(5000, timeout=1):
                if message.error() is not None:
                    pending.discard(message.partition())
                    continue
                value = message.value()
                if value is not None and orjson.loads(value).get("op") == op:
                    count += 1
        return count
    finally:
        consumer.close()


def wait_quiet(bootstrap: str, seconds: float = 4.0, timeout: float = 180.0) -> Offsets:
    """The raw topics' ends once they stopped growing for ``seconds`` (connectors caught up)."""
    deadline = time.monotonic() + timeout
    last, since = raw_ends(bootstrap), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(1)
        now = raw_ends(bootstrap)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return now
    raise AssertionError("the raw topics kept growing: connectors not caught up")


def settled_ends(bootstrap: str, connect_url: str, timeout: float = 180.0) -> Offsets:
    """The raw topics' ends once every connector's tasks run and have caught up: where a new
    world starts.

    A test before may have left the connectors replaying an earlier world's backlog (a Connect
    crash, a failed step). Its records, arriving after the new world's start, would reach the
    new world's pipeline with the same order numbers, other lines."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{connect_url}/connectors", params={"expand": "status"}, timeout=10)
        response.raise_for_status()
        states = [
            [entry["status"]["connector"]["state"]]
            + [task["state"] for task in entry["status"]["tasks"]]
            for entry in response.json().values()
        ]
        if all(len(s) > 1 and set(s) == {"RUNNING"} for s in states):
            break
        assert time.monotonic() < deadline, f"connectors not running: {states}"
        time.sleep(1)
    return wait_quiet(bootstrap, timeout=max(10.0, deadline - time.monotonic()))
