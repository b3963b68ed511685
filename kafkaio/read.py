"""Bounded ``read_committed`` reads: every committed record up to the end as of the start.

The end of each partition is its high watermark when the read begins (``high_watermarks``,
read-uncommitted), so a topic that keeps growing still gives a bounded answer and records
committed behind an open transaction are not cut off. A ``read_committed`` consumer stops at
the last stable offset while a transaction is open (a writer that crashed mid-batch, until
the broker aborts it after its transaction timeout); the read waits for it. Aborted records
and transaction markers are never delivered, but the consumer's position moves past them, so
the position, not the last offset seen, tells when a partition is done. If no partition moves
for ``timeout_s`` the read fails with ``ReadIncomplete`` naming the partitions and where they
stopped: never a short answer without a word.

``read_records`` is ``read_committed`` with each message copied into a plain ``Record`` (its
headers as bytes pairs, its timestamp in ms), for readers that keep what they read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from kafkaio.admin import (
    Offsets,
    Partition,
    admin_client,
    high_watermarks,
    low_watermarks,
    offsets_for_time,
    partitions,
)
from kafkaio.config import client_config
from kafkaio.errors import KafkaIOError, ReadIncomplete
from kafkaio.retry import DEADLINE_S, describe, is_retriable

#: How long a read waits with no partition moving: longer than the pipeline's transaction
#: timeout (60 s) plus the broker's check for timed-out transactions (every 10 s), so a
#: crashed writer's transaction is aborted and the read goes on.
READ_TIMEOUT_S = 120.0


def read_committed(
    bootstrap: str,
    topics: Sequence[str],
    *,
    since: datetime | None = None,
    timeout_s: float = READ_TIMEOUT_S,
    deadline_s: float = DEADLINE_S,
) -> Iterator[Message]:
    """Every committed record of ``topics`` (missing topics are skipped) from ``since`` (the
    first record at or after it, per partition; else the beginning) up to their ends as of now.

    Records come in offset order per partition; ``deadline_s`` bounds the retries of the
    metadata and offsets calls, ``timeout_s`` the wait for open transactions."""
    admin = admin_client(bootstrap)
    parts = partitions(bootstrap, topics, admin=admin, deadline_s=deadline_s)
    if not parts:
        return
    ends = high_watermarks(bootstrap, parts, admin=admin, deadline_s=deadline_s)
    starts: Offsets = {}
    if since is not None:
        found = offsets_for_time(bootstrap, parts, since, admin=admin, deadline_s=deadline_s)
        # -1: no record at or after ``since`` when the read began: nothing to read there.
        starts = {part: offset if offset >= 0 else ends[part] for part, offset in found.items()}
    yield from read_range(
        bootstrap, starts, ends, timeout_s=timeout_s, admin=admin, deadline_s=deadline_s
    )


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed record, copied out of the client."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    @classmethod
    def of(cls, message: Message) -> Record:
        found = message.headers()
        pairs = found.items() if isinstance(found, dict) else (found or ())
        headers = tuple((str(k), v.encode() if isinstance(v, str) else v) for k, v in pairs)
        _kind, timestamp = message.timestamp()
        return cls(
            topic=str(message.topic()),
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            timestamp_ms=int(timestamp),
            key=message.key(),
            value=message.value(),
            headers=headers,
        )


def read_records(
    bootstrap: str,
    topics: Sequence[str],
    *,
    since: datetime | None = None,
    timeout_s: float = READ_TIMEOUT_S,
    deadline_s: float = DEADLINE_S,
) -> Iterator[Record]:
    """``read_committed``, each message as a ``Record``."""
    for message in read_committed(
        bootstrap, topics, since=since, timeout_s=timeout_s, deadline_s=deadline_s
    ):
        yield Record.of(message)


def read_range(
    bootstrap: str,
    start: Mapping[Partition, int],
    end: Mapping[Partition, int],
    *,
    timeout_s: float = READ_TIMEOUT_S,
    config: Mapping[str, Any] | None = None,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> Iterator[Message]:
    """Every committed record at ``start <= offset < end`` of each partition of ``end`` (a
    partition missing from ``start`` starts at its beginning), in offset order per partition.

    ``end`` must not lie beyond the high watermark (take it from ``high_watermarks`` or a
    lookup by time), else the read waits for records that do not exist yet and fails.
    ``config`` adds client settings to the reader's consumer."""
    # From the first offset still in the log: a consumer placed before it (records removed
    # by retention) jumps ahead without delivering anything, and its position stays unknown.
    wanted = [part for part, stop in end.items() if stop > 0]
    lows = low_watermarks(bootstrap, wanted, admin=admin, deadline_s=deadline_s)
    first = {part: max(start.get(part, 0), low) for part, low in lows.items()}
    pending: Offsets = {part: end[part] for part, at in first.items() if end[part] > at}
    if not pending:
        return
    consumer = Consumer(
        client_config(
            bootstrap,
            {
                # Never joined nor committed: the partitions are assigned.
                "group.id": f"kafkaio-read-{uuid.uuid4()}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                **(config or {}),
            },
        )
    )
    try:
        consumer.assign([TopicPartition(t, p, first[(t, p)]) for t, p in pending])
        reached: Offsets = {}
        moved = time.monotonic()
        while pending:
            for message in consumer.consume(num_messages=10_000, timeout=0.5):
                error = message.error()
                if error is not None:
                    _check(error, message, bootstrap)
                    continue
                where = (str(message.topic()), int(message.partition() or 0))
                offset = int(message.offset() or 0)
                if where in pending and offset < pending[where]:
                    moved = time.monotonic()
                    yield message
            for tp in consumer.position([TopicPartition(t, p) for t, p in pending]):
                where = (tp.topic, tp.partition)
                if tp.offset >= pending[where]:
                    del pending[where]
                elif tp.offset > reached.get(where, -1):
                    reached[where] = tp.offset
                    moved = time.monotonic()
            if pending and time.monotonic() - moved > timeout_s:
                # A position never reported: still where the read put it.
                stopped = {
                    part: (reached.get(part, first[part]), stop) for part, stop in pending.items()
                }
                raise ReadIncomplete(_incomplete(bootstrap, stopped, timeout_s), stopped)
    finally:
        consumer.close()


def _check(error: KafkaError, message: Message, bootstrap: str) -> None:
    """A consumer error event: the client recovers from retriable ones by itself (the read's
    timeout bounds them); any other one ends the read."""
    if error.code() == KafkaError._PARTITION_EOF or is_retriable(error):
        return
    topic, partition = message.topic(), message.partition()
    where = f"{topic}[{partition}]" if topic is not None else bootstrap
    raise KafkaIOError(f"read_committed of {where}: {describe(error)}")


def _incomplete(
    bootstrap: str, stopped: Mapping[Partition, tuple[int, int]], timeout_s: float
) -> str:
    shown = sorted(stopped.items())
    parts = ", ".join(f"{t}[{p}] at offset {at} of {stop}" for (t, p), (at, stop) in shown[:5])
    more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
    return (
        f"read_committed at {bootstrap} stopped short, no progress for {timeout_s:.0f}s: "
        f"{parts}{more} (an open transaction holds them back: a writer that crashed mid-"
        "transaction is aborted by the broker once its transaction timeout passed)"
    )
