"""Small Kafka helpers of the benchmark: offsets, group commits, counting, clean-up."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    NewTopic,
    OffsetSpec,
)

from bench.errors import BenchError

Partition = tuple[str, int]
Offsets = dict[Partition, int]


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def partitions(bootstrap: str, pattern: str | Callable[[str], bool]) -> list[Partition]:
    """Every partition of the topics whose name matches (a regex or a predicate)."""
    wanted: Callable[[str], bool] = (
        (lambda name: re.match(pattern, name) is not None) if isinstance(pattern, str) else pattern
    )
    metadata = admin(bootstrap).list_topics(timeout=10)
    return sorted(
        (name, p)
        for name, topic in metadata.topics.items()
        if wanted(name)
        for p in topic.partitions
    )


#: Answers of a partition that has no leader yet (a topic created a moment ago): ask again.
_LEADERLESS = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE})


def end_offsets(bootstrap: str, parts: Iterable[Partition], wait_s: float = 30.0) -> Offsets:
    """High watermarks in one ``ListOffsets`` round trip (again while a partition is leaderless,
    for up to ``wait_s``)."""
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    wanted = {TopicPartition(t, p): latest for t, p in parts}
    if not wanted:
        return {}
    deadline = time.monotonic() + wait_s
    while True:
        try:
            # Keep the client referenced until the futures resolve (a collected client never
            # completes them).
            client = admin(bootstrap)
            futures = client.list_offsets(wanted, request_timeout=10)
            return {(tp.topic, tp.partition): f.result(30).offset for tp, f in futures.items()}
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() not in _LEADERLESS or time.monotonic() > deadline:
                raise BenchError(f"cannot list offsets: {error.str()}") from None
            time.sleep(0.5)


def commit_group(bootstrap: str, group: str, offsets: Mapping[Partition, int]) -> None:
    """Set a (not yet running) consumer group's committed offsets."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        if tps:
            consumer.commit(offsets=tps, asynchronous=False)
    except KafkaException as exc:
        raise BenchError(f"cannot commit offsets of {group}: {exc.args[0].str()}") from None
    finally:
        consumer.close()


class GroupWatcher:
    """Reads a consumer group's committed offsets without joining it."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
        )

    def committed(self, parts: Iterable[Partition]) -> Offsets:
        tps = [TopicPartition(t, p) for t, p in parts]
        found = self._consumer.committed(tps, timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in found}

    def close(self) -> None:
        self._consumer.close()


@dataclass(frozen=True, slots=True)
class Drain:
    """How a backlog of ``messages`` was worked off.

    ``seconds`` runs from the first observed progress to the end, and ``measured`` counts the
    messages done in that window (the first step is before it), so start-up never counts.
    """

    messages: int
    measured: int
    seconds: float
    total_seconds: float

    @property
    def per_s(self) -> float:
        return self.measured / self.seconds if self.seconds > 0 else 0.0


def progress_of(current: Mapping[Partition, int], start: Mapping[Partition, int],
                target: Mapping[Partition, int]) -> int:  # fmt: skip
    """Messages done towards ``target`` (offsets below ``start`` and unknown ones count 0)."""
    done = 0
    for part, end in target.items():
        begin = start.get(part, 0)
        at = current.get(part, -1)
        if at < 0:
            continue
        done += max(0, min(at, end) - begin)
    return done


def reached(current: Mapping[Partition, int], target: Mapping[Partition, int]) -> bool:
    return all(current.get(part, -1) >= end for part, end in target.items())


def watch(
    read: Callable[[], Offsets],
    start: Mapping[Partition, int],
    target: Mapping[Partition, int],
    *,
    timeout: float,
    alive: Callable[[], str | None] = lambda: None,
    tick: Callable[[int, int], None] = lambda _done, _total: None,
    interval: float = 0.1,
    stall: float | None = None,
) -> Drain:
    """Poll ``read`` until it reaches ``target``; ``alive`` returns why to give up, if any.

    With ``stall``, a drain that made progress and then none for ``stall`` seconds ends there
    (a source that delivered fewer messages than expected).
    """
    total = sum(max(0, end - start.get(part, 0)) for part, end in target.items())
    began = time.monotonic()
    deadline = began + timeout
    initial = progress_of(read(), start, target)
    first_t: float | None = None
    first_done = initial
    last_change_t = began
    last_tick = 0.0
    done = initial
    while True:
        current = read()
        now = time.monotonic()
        new_done = progress_of(current, start, target)
        if new_done != done:
            last_change_t = now
        if first_t is None and new_done > initial:
            first_t, first_done = now, new_done
        done = new_done
        if now - last_tick >= 0.25:
            tick(done, total)
            last_tick = now
        if reached(current, target):
            break
        if stall is not None and first_t is not None and now - last_change_t > stall:
            now = last_change_t
            break
        why = alive()
        if why is not None:
            raise BenchError(f"{why} after {done} of {total} messages")
        if now > deadline:
            raise BenchError(f"not done after {timeout:.0f}s: {done} of {total} messages")
        time.sleep(interval)
    if first_t is None:
        first_t, first_done = began, initial
    return Drain(
        messages=done,
        measured=done - first_done,
        seconds=max(0.0, now - first_t),
        total_seconds=now - began,
    )


def count_records(bootstrap: str, topics: Iterable[str], timeout: float = 60) -> dict[str, int]:
    """Records per topic as a ``read_committed`` reader sees them (control records excluded)."""
    parts = partitions(bootstrap, set(topics).__contains__)
    ends = end_offsets(bootstrap, parts)
    counts = {t: 0 for t in topics}
    todo = {part for part, end in ends.items() if end > 0}
    if not todo:
        return counts
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "scv-bench-count",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        consumer.assign([TopicPartition(t, p, 0) for t, p in todo])
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=10_000, timeout=0.5):
                if message.error() is None:
                    counts[str(message.topic())] += 1
            for tp in consumer.position([TopicPartition(t, p) for t, p in todo]):
                if tp.offset >= ends[(tp.topic, tp.partition)]:
                    todo.discard((tp.topic, tp.partition))
    finally:
        consumer.close()
    if todo:
        raise BenchError(f"counting did not reach the end of {sorted(todo)}")
    return counts


def create_topic(bootstrap: str, name: str, partitions_: int) -> None:
    client = admin(bootstrap)
    futures = client.create_topics([NewTopic(name, partitions_, 1)])
    for future in futures.values():
        future.result(30)


def delete_prefixed(bootstrap: str, prefix: str, groups: Iterable[str]) -> list[str]:
    """Remove the benchmark's own topics and consumer groups; returns the topics removed."""
    client = admin(bootstrap)
    names = sorted(t for t in client.list_topics(timeout=10).topics if t.startswith(prefix))
    errors: list[str] = []
    if names:
        for name, future in client.delete_topics(names, operation_timeout=30).items():
            try:
                future.result(60)
            except KafkaException as exc:
                errors.append(f"{name}: {exc.args[0].str()}")
    group_list = list(groups)
    if group_list:
        for group, future in client.delete_consumer_groups(group_list, request_timeout=10).items():
            try:
                future.result(30)
            except KafkaException as exc:
                if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
                    continue
                errors.append(f"{group}: {exc.args[0].str()}")
    if errors:
        raise BenchError("clean-up: " + "; ".join(errors))
    return names


def as_json(offsets: Mapping[Partition, int]) -> dict[str, Any]:
    return {f"{t}[{p}]": o for (t, p), o in sorted(offsets.items())}


def read_range(
    bootstrap: str,
    start: Mapping[Partition, int],
    end: Mapping[Partition, int],
    timeout: float = 60,
) -> list[tuple[int, bytes | None]]:
    """``(Kafka timestamp ms, value)`` of every record in ``[start, end)`` per partition."""
    todo = {part for part, stop in end.items() if stop > start.get(part, 0)}
    found: list[tuple[int, bytes | None]] = []
    if not todo:
        return found
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "scv-bench-read", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(t, p, start.get((t, p), 0)) for t, p in todo])
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=10_000, timeout=0.5):
                partition, offset = message.partition(), message.offset()
                if message.error() is not None or partition is None or offset is None:
                    continue
                part = (str(message.topic()), partition)
                if part in todo and offset < end[part]:
                    found.append((int(message.timestamp()[1]), message.value()))
                if part in todo and offset + 1 >= end[part]:
                    todo.discard(part)
    finally:
        consumer.close()
    if todo:
        raise BenchError(f"reading did not reach the end of {sorted(todo)}")
    return found
