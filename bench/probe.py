"""The ``read_committed`` reader of the canonical topics that stamps each event's arrival."""

from __future__ import annotations

import threading
import time

from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer, TopicPartition

from bench.kafkautil import Partition, end_offsets
from bench.matching import Arrival, system_of
from kafkaio import client_config


class ArrivalProbe:
    """Reads the given partitions from their current end in a daemon thread.

    A downstream reader with default settings except ``isolation.level=read_committed`` (which
    is librdkafka's default anyway): what it sees is what a consumer of the canonical topics
    sees. Each batch returned by ``consume`` is stamped once, right after it returned.
    """

    def __init__(self, bootstrap: str, parts: list[Partition], group: str) -> None:
        self._bootstrap = bootstrap
        self._parts = parts
        self._group = group
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        ends = end_offsets(self._bootstrap, self._parts)
        consumer = Consumer(
            client_config(
                self._bootstrap,
                {
                    "group.id": self._group,
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                },
            )
        )
        consumer.assign([TopicPartition(t, p, ends[(t, p)]) for t, p in self._parts])
        self._thread = threading.Thread(
            target=self._run, args=(consumer,), name="bench-probe", daemon=True
        )
        self._thread.start()

    def _run(self, consumer: Consumer) -> None:
        try:
            while not self._stop.is_set():
                messages = consumer.consume(num_messages=10_000, timeout=0.05)
                now = time.time_ns()
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
                    found.append(Arrival(kind, key, system_of(source), now, produced))
                if found:
                    with self._lock:
                        self._arrivals.extend(found)
        finally:
            consumer.close()

    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self._arrivals)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
