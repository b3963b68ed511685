"""Small Kafka helpers of the benchmark: offsets, group commits, counting, clean-up."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

import kafkaio
from bench.errors import BenchError
from kafkaio import client_config

Partition = tuple[str, int]
Offsets = dict[Partition, int]


def admin(bootstrap: str) -> AdminClient:
    return kafkaio.admin_client(bootstrap)


@contextmanager
def _as_bench_error() -> Iterator[None]:
    """kafkaio's errors (already retried on a cluster that is not ready) as the benchmark's,
    so a section records them and the next one runs."""
    try:
        yield
    except kafkaio.KafkaIOError as exc:
        raise BenchError(str(exc)) from None


def partitions(bootstrap: str, pattern: str | Callable[[str], bool]) -> list[Partition]:
    """Every partition of the topics whose name matches (a regex or a predicate)."""
    wanted = re.compile(pattern) if isinstance(pattern, str) else pattern
    with _as_bench_error():
        return kafkaio.partitions(bootstrap, wanted)


def end_offsets(bootstrap: str, parts: Iterable[Partition], wait_s: float = 30.0) -> Offsets:
    """High watermarks in one ``ListOffsets`` round trip (read-uncommitted: the end even in
    front of an open transaction), retried for up to ``wait_s`` while the cluster is not ready."""
    with _as_bench_error():
        return kafkaio.high_watermarks(bootstrap, parts, deadline_s=wait_s)


def commit_group(bootstrap: str, group: str, offsets: Mapping[Partition, int]) -> None:
    """Set a (not yet running) consumer group's committed offsets."""
    with _as_bench_error():
        kafkaio.commit_offsets(bootstrap, group, offsets)


class GroupWatcher:
    """Reads a consumer group's committed offsets without joining it."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._group = group
        self._consumer = Consumer(
            client_config(bootstrap, {"group.id": group, "enable.auto.commit": False})
        )

    def committed(self, parts: Iterable[Partition]) -> Offsets:
        with _as_bench_error():
            return kafkaio.committed_offsets(self._consumer, parts, group=self._group)

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
    """Records per topic as a ``read_committed`` reader sees them (control records excluded),
    up to the ends as of now; ``timeout``: the longest wait for an open transaction."""
    wanted = list(topics)
    counts = dict.fromkeys(wanted, 0)
    with _as_bench_error():
        for message in kafkaio.read_committed(bootstrap, wanted, timeout_s=timeout):
            counts[str(message.topic())] += 1
    return counts


def create_topic(bootstrap: str, name: str, partitions_: int) -> None:
    with _as_bench_error():
        kafkaio.ensure_topics(bootstrap, [NewTopic(name, partitions_, 1)])


def delete_prefixed(bootstrap: str, prefix: str, groups: Iterable[str]) -> list[str]:
    """Remove the benchmark's own topics and consumer groups; returns the topics removed."""
    client = admin(bootstrap)
    with _as_bench_error():
        found = kafkaio.partitions(bootstrap, lambda name: name.startswith(prefix), admin=client)
    names = sorted({topic for topic, _partition in found})
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
    """``(Kafka timestamp ms, value)`` of every committed record in ``[start, end)`` per
    partition; ``timeout``: the longest wait with no progress."""
    with _as_bench_error():
        return [
            (int(message.timestamp()[1]), message.value())
            for message in kafkaio.read_range(bootstrap, start, end, timeout_s=timeout)
        ]
