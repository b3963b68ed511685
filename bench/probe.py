"""The readers of B4: each stamps every record with the moment ``consume`` returned it.

``ArrivalProbe`` reads the canonical topics as a downstream ``read_committed`` consumer does
(what the latency goal is about); ``SeenProbe`` notes when each record of other partitions
became readable: the raw topics (the bare Debezium → raw topic floor) and the canonical topics
read uncommitted (the moment the runner's produce reached the log, before its commit).
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer, Message, TopicPartition

from bench.kafkautil import Partition, end_offsets
from bench.matching import Arrival, Trace, system_of
from kafkaio import client_config, consume_batch
from transforms.batch import TRACE_HEADER

#: (topic, partition, offset) of a record.
Position = tuple[str, int, int]


class _Reader:
    """Reads the given partitions from their current end in a daemon thread."""

    def __init__(self, bootstrap: str, parts: list[Partition], group: str, isolation: str) -> None:
        self._bootstrap = bootstrap
        self._parts = parts
        self._group = group
        self._isolation = isolation
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ends = end_offsets(self._bootstrap, self._parts)
        consumer = Consumer(
            client_config(
                self._bootstrap,
                {
                    "group.id": self._group,
                    "enable.auto.commit": False,
                    "isolation.level": self._isolation,
                },
            )
        )
        consumer.assign([TopicPartition(t, p, ends[(t, p)]) for t, p in self._parts])
        self._thread = threading.Thread(
            target=self._run, args=(consumer,), name=f"bench-{self._group}", daemon=True
        )
        self._thread.start()

    def _run(self, consumer: Consumer) -> None:
        try:
            while not self._stop.is_set():
                # Stamped as soon as the first record is there, as a reader waiting for
                # records sees them (a 10,000-record ``consume`` would sit out its timeout).
                messages = consume_batch(consumer, 10_000, 0.05, 0)
                now = time.time_ns()
                if messages:
                    self._take(messages, now)
        finally:
            consumer.close()

    def _take(self, messages: list[Message], now: int) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


class ArrivalProbe(_Reader):
    """A downstream reader with default settings except ``isolation.level=read_committed``
    (librdkafka's default anyway): what it sees is what a consumer of the canonical topics
    sees. Each batch read is stamped once, right after the client returned it."""

    def __init__(self, bootstrap: str, parts: list[Partition], group: str) -> None:
        super().__init__(bootstrap, parts, group, "read_committed")
        self._arrivals: list[Arrival] = []

    def _take(self, messages: list[Message], now: int) -> None:
        found: list[Arrival] = []
        for message in messages:
            if message.error() is not None:
                continue
            headers = dict(message.headers() or [])
            kind = _text(headers.get("ce_type"))
            source = _text(headers.get("ce_source"))
            key = _text(message.key())
            if kind is None or source is None or key is None:
                continue
            kind_ts, ts_ms = message.timestamp()
            produced = ts_ms * 1_000_000 if kind_ts == TIMESTAMP_CREATE_TIME else None
            found.append(
                Arrival(
                    kind,
                    key,
                    system_of(source),
                    now,
                    produced,
                    (
                        str(message.topic()),
                        int(message.partition() or 0),
                        int(message.offset() or 0),
                    ),
                    _trace(headers.get(TRACE_HEADER)),
                )
            )
        if found:
            with self._lock:
                self._arrivals.extend(found)

    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self._arrivals)


class SeenProbe(_Reader):
    """Per record: when ``consume`` returned it (ns) and its Kafka timestamp (CreateTime, ns;
    None for LogAppendTime)."""

    def __init__(self, bootstrap: str, parts: list[Partition], group: str, isolation: str) -> None:
        super().__init__(bootstrap, parts, group, isolation)
        self._seen: dict[Position, tuple[int, int | None]] = {}

    def _take(self, messages: list[Message], now: int) -> None:
        found: dict[Position, tuple[int, int | None]] = {}
        for message in messages:
            if message.error() is not None:
                continue
            kind_ts, ts_ms = message.timestamp()
            created = ts_ms * 1_000_000 if kind_ts == TIMESTAMP_CREATE_TIME else None
            position = (
                str(message.topic()),
                int(message.partition() or 0),
                int(message.offset() or 0),
            )
            found[position] = (now, created)
        with self._lock:
            self._seen.update(found)

    def seen(self) -> dict[Position, tuple[int, int | None]]:
        with self._lock:
            return dict(self._seen)


def _trace(value: str | bytes | None) -> Trace | None:
    """``scv_trace`` (``transforms.batch.TRACE_HEADER``): raw topic|partition|offset|consumed."""
    text = _text(value)
    if text is None:
        return None
    topic, partition, offset, consumed = text.rsplit("|", 3)
    return Trace(topic, int(partition), int(offset), int(consumed))


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
