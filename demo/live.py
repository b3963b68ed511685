"""What the demo's live view shows, gathered in the background while the demo runs.

Everything is read from the real system, the way a user would: raw topic offsets for source
changes/s, a ``read_committed`` consumer of the canonical and quarantine topics for events/s,
latency and quarantine rules, Connect's REST API for connector state, and the views' serving
table for positions and alerts.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson
import psycopg
from confluent_kafka import Consumer
from psycopg import sql

import kafkaio
from kafkaio import client_config
from transforms import deadletter

RAW_PREFIXES = ("erp.proddta.", "wms.wmwhse1.")
#: Seconds of history behind the rates and the latency percentiles.
WINDOW_S = 30.0


def is_raw(topic: str) -> bool:
    return topic.startswith(RAW_PREFIXES)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


@dataclass
class Snapshot:
    """One frame of the live view."""

    source_changes_per_s: float = 0.0
    source_changes_total: int = 0
    events_per_s: float = 0.0
    events_total: int = 0
    #: (p50, p99) seconds from source commit to read_committed arrival, per source system.
    latency: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    quarantined: Counter[str] = field(default_factory=Counter)
    connectors: dict[str, str] = field(default_factory=dict)
    positions: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


class StreamWatch(threading.Thread):
    """Consumes the canonical and quarantine topics from their end, ``read_committed``."""

    def __init__(self, bootstrap: str, topics: list[str], quarantine_topic: str) -> None:
        super().__init__(name="demo-stream-watch", daemon=True)
        self._consumer = Consumer(
            client_config(
                bootstrap,
                {
                    "group.id": f"scv-demo-watch-{uuid.uuid4().hex[:8]}",
                    "auto.offset.reset": "latest",
                    "isolation.level": "read_committed",
                    "enable.auto.commit": False,
                    "log_level": 2,
                },
            )
        )
        self._consumer.subscribe([*topics, quarantine_topic])
        self._quarantine_topic = quarantine_topic
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._arrivals: deque[float] = deque()
        self._latencies: dict[str, deque[tuple[float, float]]] = {}
        self.events_total = 0
        self.quarantined: Counter[str] = Counter()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                found = self._consumer.consume(num_messages=1000, timeout=0.2)
                for msg in kafkaio.triage(found).records:
                    value = msg.value()
                    if value is not None:
                        self._observe(msg.topic(), value, dict(msg.headers() or []))
        finally:
            self._consumer.close()

    def _observe(self, topic: str | None, value: bytes, headers: dict[str, Any]) -> None:
        now = time.time()
        with self._lock:
            if topic == self._quarantine_topic:
                rule = headers.get(deadletter.RULE)
                self.quarantined[rule.decode() if isinstance(rule, bytes) else "unknown"] += 1
                return
            event = orjson.loads(value)
            committed = datetime.fromisoformat(event["recorded_at"]).timestamp()
            system = str(event.get("source", {}).get("system", "?"))
            self._latencies.setdefault(system, deque()).append((now, now - committed))
            self._arrivals.append(now)
            self.events_total += 1

    def sample(self) -> tuple[float, dict[str, tuple[float | None, float | None]], Counter[str]]:
        horizon = time.time() - WINDOW_S
        with self._lock:
            while self._arrivals and self._arrivals[0] < horizon:
                self._arrivals.popleft()
            rate = len(self._arrivals) / WINDOW_S
            latency = {}
            for system, samples in self._latencies.items():
                while samples and samples[0][0] < horizon:
                    samples.popleft()
                values = sorted(lat for _, lat in samples)
                latency[system] = (percentile(values, 50), percentile(values, 99))
            return rate, latency, Counter(self.quarantined)


class Watch:
    """Samples every source of the live view; ``frame()`` is cheap enough for 2 frames/s."""

    def __init__(
        self,
        bootstrap: str,
        connect_url: str,
        store_dsn: str,
        canonical_topics: list[str],
        quarantine_topic: str,
        views_schema: str,
    ) -> None:
        self._stream = StreamWatch(bootstrap, canonical_topics, quarantine_topic)
        self._bootstrap = bootstrap
        # Client log lines would tear the live view: errors surface as exceptions instead.
        self._admin = kafkaio.admin_client(bootstrap, {"log_level": 2})
        from connectors.client import connect_auth

        self._connect = httpx.Client(base_url=connect_url, timeout=2, auth=connect_auth())
        self._store_dsn = store_dsn
        self._views_schema = views_schema
        self._source_samples: deque[tuple[float, int]] = deque()
        self._last = Snapshot()
        self._slow_at = 0.0

    def __enter__(self) -> Watch:
        self._stream.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stream.stop()
        self._stream.join(timeout=5)
        self._connect.close()

    def _source_total(self) -> int:
        """Records on the raw topics (high watermarks; a topic created a moment ago has no
        leader yet: kafkaio asks again until its deadline)."""
        parts = kafkaio.partitions(self._bootstrap, is_raw, admin=self._admin)
        return sum(kafkaio.high_watermarks(self._bootstrap, parts, admin=self._admin).values())

    def frame(self) -> Snapshot:
        now = time.time()
        snap = Snapshot()
        total = self._source_total()
        self._source_samples.append((now, total))
        while len(self._source_samples) > 2 and self._source_samples[0][0] < now - WINDOW_S:
            self._source_samples.popleft()
        first_t, first_total = self._source_samples[0]
        span = now - first_t
        snap.source_changes_total = total
        snap.source_changes_per_s = (total - first_total) / span if span > 0 else 0.0
        snap.events_per_s, snap.latency, snap.quarantined = self._stream.sample()
        snap.events_total = self._stream.events_total
        if now - self._slow_at < 2.0:  # connectors, positions and alerts change slowly
            snap.connectors = self._last.connectors
            snap.positions, snap.alerts = self._last.positions, self._last.alerts
        else:
            self._slow_at = now
            snap.connectors = self._connector_states()
            snap.positions, snap.alerts = self._views()
        self._last = snap
        return snap

    def _connector_states(self) -> dict[str, str]:
        try:
            body = self._connect.get("/connectors", params={"expand": "status"}).json()
        except httpx.HTTPError as exc:
            return {"connect": f"unreachable ({exc.__class__.__name__})"}
        states = {}
        for name, info in sorted(body.items()):
            status = info["status"]
            tasks = ",".join(t["state"] for t in status.get("tasks", [])) or "no task"
            states[name] = f"{status['connector']['state']} (tasks {tasks})"
        return states

    def _views(self) -> tuple[list[tuple[str, str, str, str, str]], list[str]]:
        try:
            with psycopg.connect(self._store_dsn, connect_timeout=2) as conn:
                schema = sql.Identifier(self._views_schema)
                rows = conn.execute(
                    sql.SQL(
                        "SELECT site_id, item_id, on_hand, allocated, available "
                        "FROM {}.inventory_positions ORDER BY available, site_id, item_id LIMIT 5"
                    ).format(schema)
                ).fetchall()
                alerts = conn.execute(
                    sql.SQL("SELECT value FROM {}.alert_outbox ORDER BY seq DESC LIMIT 5").format(
                        schema
                    )
                ).fetchall()
        except psycopg.Error:
            return [], []  # the view process has not created its tables yet
        positions = [tuple(str(v) for v in row) for row in rows]
        lines = [
            f"{a['severity']:<8} {a['action']:<8} {a['kind']}: {a['message']}" for (a,) in alerts
        ]
        return positions, lines  # type: ignore[return-value]
