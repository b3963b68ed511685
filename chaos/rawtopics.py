"""The raw Debezium change topics as the fault suite (and the integration tests) watch them:
their ends, when they stop growing, and the changes Debezium wrote more than once."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter

import httpx
import orjson
from confluent_kafka import Consumer, TopicPartition

import kafkaio
from chaos.errors import ScenarioFailed, StackNotReady
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
    raise ScenarioFailed(f"the raw topics kept growing for {timeout:.0f}s: connectors behind")


def connector_states(connect_url: str) -> list[list[str]]:
    """Per connector: its state, then each task's."""
    response = httpx.get(f"{connect_url}/connectors", params={"expand": "status"}, timeout=10)
    response.raise_for_status()
    return [
        [entry["status"]["connector"]["state"]]
        + [task["state"] for task in entry["status"]["tasks"]]
        for entry in response.json().values()
    ]


def await_running(connect_url: str, timeout: float = 180.0) -> float:
    """Seconds until every connector and task is RUNNING (Connect may be starting: its REST
    API refusing counts as not yet)."""
    started = time.monotonic()
    states: list[list[str]] | str = []
    while True:
        try:
            states = connector_states(connect_url)
            if all(len(s) > 1 and set(s) == {"RUNNING"} for s in states):
                return time.monotonic() - started
        except httpx.HTTPError as exc:
            states = f"Connect REST: {exc}"
        if time.monotonic() - started > timeout:
            raise StackNotReady(f"connectors not RUNNING after {timeout:.0f}s: {states}")
        time.sleep(1)


def settled_ends(bootstrap: str, connect_url: str, timeout: float = 180.0) -> Offsets:
    """The raw topics' ends once every connector's tasks run and have caught up: where a new
    world starts.

    A run before may have left the connectors replaying an earlier world's backlog (a Connect
    crash, a failed step). Its records, arriving after the new world's start, would reach the
    new world's pipeline with the same order numbers, other lines."""
    deadline = time.monotonic() + timeout
    await_running(connect_url, timeout)
    return wait_quiet(bootstrap, timeout=max(10.0, deadline - time.monotonic()))


def raw_duplicates(bootstrap: str, start: Offsets, end: Offsets, timeout: float = 120.0) -> int:
    """Streamed changes written more than once to the raw topics between ``start`` and
    ``end`` (the same key, operation, row images and source position; snapshot reads have no
    source position of their own and are left out)."""
    consumer = Consumer(
        client_config(bootstrap, {"group.id": f"dups-{uuid.uuid4()}", "enable.auto.commit": False})
    )
    seen: Counter[tuple[str, bytes | None, bytes]] = Counter()
    try:
        parts = [
            TopicPartition(t, p, start.get((t, p), 0))
            for (t, p), o in end.items()
            if o > start.get((t, p), 0)
        ]
        consumer.assign(parts)
        pending = {(tp.topic, tp.partition) for tp in parts}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(10_000, timeout=1):
                if message.error() is not None:
                    continue
                where = (message.topic() or "", message.partition() or 0)
                offset = message.offset() or 0
                if offset + 1 >= end[where]:
                    pending.discard(where)
                if offset >= end[where] or message.value() is None:
                    continue
                document = orjson.loads(message.value() or b"{}")
                source = document.get("source", {})
                if source.get("snapshot") not in (None, False, "false"):
                    continue
                change = {k: document.get(k) for k in ("op", "before", "after", "source")}
                seen[(where[0], message.key(), orjson.dumps(change))] += 1
        if pending:
            raise ScenarioFailed(f"raw partitions not read to their end: {sorted(pending)[:5]}")
    finally:
        consumer.close()
    return sum(n - 1 for n in seen.values())
