"""The ``read_committed`` reader of one pipeline's canonical topics that stamps, for each event,
its source commit time and the moment it became visible (``chaos.measure.Arrival``)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime

import orjson
from confluent_kafka import Consumer, TopicPartition

import kafkaio
from chaos.errors import ScenarioFailed
from chaos.measure import Arrival
from kafkaio import client_config
from transforms.events import CANONICAL_TOPICS


class ArrivalProbe:
    """Reads every canonical topic of ``prefix`` from its beginning in a daemon thread.

    Only the stamps are kept (two floats an event). Records that are no canonical event (none
    should be there) are counted, not stamped."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._bootstrap = bootstrap
        self._topics = {f"{prefix}{t}" for t in CANONICAL_TOPICS}
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.foreign = 0
        self.error: str | None = None

    def start(self, timeout: float = 120.0) -> None:
        """Once the runner has created the topics, read them in the background."""
        deadline = time.monotonic() + timeout
        while True:
            parts = kafkaio.partitions(self._bootstrap, self._topics)
            if {t for t, _ in parts} >= self._topics:
                break
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"the runner never created {sorted(self._topics)}")
            time.sleep(0.5)
        consumer = Consumer(
            client_config(
                self._bootstrap,
                {
                    "group.id": f"chaos-probe-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                },
            )
        )
        consumer.assign([TopicPartition(t, p, 0) for t, p in parts])
        self._thread = threading.Thread(
            target=self._run, args=(consumer,), name="chaos-probe", daemon=True
        )
        self._thread.start()

    def _run(self, consumer: Consumer) -> None:
        try:
            while not self._stop.is_set():
                messages = consumer.consume(num_messages=10_000, timeout=0.05)
                now = time.time()
                found: list[Arrival] = []
                for message in messages:
                    if message.error() is not None or message.value() is None:
                        continue
                    stamped = _stamp(message.value() or b"")
                    if stamped is None:
                        self.foreign += 1
                        continue
                    found.append(Arrival(stamped[0], now, stamped[1]))
                if found:
                    with self._lock:
                        self._arrivals.extend(found)
        except Exception as exc:  # the thread must not die silently: run() reports it
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            consumer.close()

    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self._arrivals)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def _stamp(value: bytes) -> tuple[float, str] | None:
    """A canonical event's source commit time (``recorded_at``) and source system."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    stamp, source = document.get("recorded_at"), document.get("source")
    if not isinstance(stamp, str) or not isinstance(source, dict):
        return None
    system = source.get("system")
    if not isinstance(system, str):
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), system
