"""Bounded ``read_committed`` reads of the pipeline's output topics (quarantine, canonical,
replay markers) for the quarantine workflow, the quality report and ``scv sim verify``.

A read starts at ``since`` (the first offset at or after that time, per partition) or at the
beginning, and ends at each partition's end as it was when the read began, so a topic that
keeps growing still gives a bounded answer. A ``read_committed`` reader stops at the last
stable offset: an open transaction (a writer that crashed mid-batch, until the broker aborts
it after its transaction timeout) holds back everything committed after it. The read waits
for it rather than ending early and missing those records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka import KafkaError as RdKafkaError

from expectations.errors import QuarantineReadError
from expectations.quarantine import QuarantineRecord


def read_committed(
    bootstrap: str,
    topics: Sequence[str],
    *,
    since: datetime | None = None,
    timeout_s: float = 120.0,
) -> Iterator[Message]:
    """Every committed record of ``topics`` (missing topics are skipped) up to their ends.

    The default timeout outlasts the runner's transaction timeout (60 s) and the broker's
    check for timed-out transactions (every 10 s)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"scv-quality-read-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        try:
            metadata = consumer.list_topics(timeout=10).topics
        except KafkaException as exc:
            raise QuarantineReadError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
        partitions = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in topics
            if t in metadata
            for p in sorted(metadata[t].partitions)
        ]
        if since is not None and partitions:
            wanted = [
                TopicPartition(tp.topic, tp.partition, int(since.timestamp() * 1000))
                for tp in partitions
            ]
            partitions = [
                TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else -1)
                for tp in consumer.offsets_for_times(wanted, timeout=10)
            ]
        pending: dict[tuple[str, int], int] = {}
        start: list[TopicPartition] = []
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            first = low if tp.offset < 0 else tp.offset
            if tp.offset == -1 or first >= high:  # nothing at/after since, or empty
                continue
            pending[(tp.topic, tp.partition)] = high
            start.append(TopicPartition(tp.topic, tp.partition, first))
        if not start:
            return
        consumer.assign(start)
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise QuarantineReadError(
                    f"topics not read to their end in {timeout_s:.0f}s: {sorted(pending)[:5]} "
                    "(an open transaction holds them back?)"
                )
            for message in consumer.consume(num_messages=10_000, timeout=0.5):
                where = (message.topic() or "", message.partition() or 0)
                error = message.error()
                if error is not None:
                    if error.code() == RdKafkaError._PARTITION_EOF:
                        # At the end only if past the end: else at the last stable offset, in
                        # front of an open transaction (aborted records and markers are never
                        # delivered, so the position tells, not the last offset seen).
                        if where in pending and _position(consumer, where) >= pending[where]:
                            pending.pop(where, None)
                        continue
                    raise QuarantineReadError(f"reading {where[0]}: {error.str()}")
                if where not in pending:
                    continue
                offset = message.offset() or 0
                if offset >= pending[where]:
                    pending.pop(where, None)
                    continue
                yield message
                if offset + 1 >= pending[where]:
                    pending.pop(where, None)
    finally:
        consumer.close()


def _position(consumer: Consumer, where: tuple[str, int]) -> int:
    (tp,) = consumer.position([TopicPartition(*where)])
    return int(tp.offset)


def quarantine_record(message: Message) -> QuarantineRecord:
    found = message.headers()
    pairs = found.items() if isinstance(found, dict) else (found or ())
    headers = tuple((str(k), v.encode() if isinstance(v, str) else v) for k, v in pairs)
    _kind, timestamp = message.timestamp()
    return QuarantineRecord(
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp_ms=int(timestamp),
        key=message.key(),
        value=message.value(),
        headers=headers,
    )


def read_quarantine(
    bootstrap: str, topic: str, *, since: datetime | None = None, rule: str | None = None
) -> list[QuarantineRecord]:
    """The quarantine topic's records (since ``since``, failing ``rule``), in id order."""
    records = [
        record
        for message in read_committed(bootstrap, [topic], since=since)
        if (record := quarantine_record(message)).matches(rule=rule, since=since)
    ]
    records.sort(key=lambda r: (r.timestamp_ms, r.partition, r.offset))
    return records
