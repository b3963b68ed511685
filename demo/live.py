"""What the demo's live view shows, gathered in the background while the demo runs.

Everything is read from the real system, the way a user would: raw topic offsets for source
changes/s, a ``read_committed`` consumer of the canonical and quarantine topics for events/s,
latency and quarantine rules, Connect's REST API for connector state, and the views' serving
tables for positions, alerts, one order's timeline (the open order furthest behind its promise,
else the one that moved last), the worst suppliers (lowest 30-day OTIF) and the demand series
furthest from their baseline.
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
    #: The order shown (a one-line summary) and its latest steps, oldest first.
    order: str = ""
    timeline: list[str] = field(default_factory=list)
    #: (supplier, OTIF, on time, in full, lines scored, average lead days) over 30 days.
    suppliers: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    #: (series, last bucket, baseline ± sd, z, shift)
    demand: list[tuple[str, str, str, str, str]] = field(default_factory=list)


#: How many steps of the shown order's timeline, suppliers and demand series the view shows.
TIMELINE_STEPS, WORST_SUPPLIERS, DEMAND_SERIES = 8, 3, 4
#: The scorecard window the view ranks suppliers on.
SUPPLIER_WINDOW_DAYS = 30


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"


def order_lines(
    order: tuple[Any, ...] | None, steps: list[tuple[Any, ...]]
) -> tuple[str, list[str]]:
    """The shown order's summary and timeline lines, from an ``open_orders`` row (order id,
    status, where, promised, projected, basis, days late) and its ``order_tracking`` steps
    (step, system, source commit time, detail), latest first as queried."""
    if order is None:
        return "", []
    order_id, status, where, promised, projected, basis, days_late = order
    late = f", {days_late} day(s) late" if days_late else ""
    summary = (
        f"{order_id} · {status} · {where} · promised {promised or '-'}, projected "
        f"{projected or '-'} ({str(basis).replace('_', ' ')}){late}"
    )
    lines = [
        f"{committed:%H:%M:%S} {system:<7} {step:<18} {detail}"
        for step, system, committed, detail in reversed(steps)
    ]
    return summary, lines


def supplier_rows(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str, str, str, str]]:
    """Scorecard rows (supplier, OTIF, on time, in full rates, lines timed, average lead)."""
    return [
        (str(s), _pct(otif), _pct(on_time), _pct(in_full), str(timed),
         "-" if lead is None else f"{float(lead):.1f} d")
        for s, otif, on_time, in_full, timed, lead in rows
    ]  # fmt: skip


def demand_rows(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str, str, str]]:
    """Demand series rows (series, last bucket's quantity, baseline ± sd, z, shift)."""
    return [
        (str(series), f"{q or 0:g}", f"{base or 0:.1f} ± {sd or 0:.1f}",
         "-" if z is None else f"{z:+.1f}", shift or "")
        for series, q, base, sd, z, shift in rows
    ]  # fmt: skip


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
        if now - self._slow_at < 2.0:  # connectors and the views' tables change slowly
            last = self._last
            snap.connectors = last.connectors
            snap.positions, snap.alerts = last.positions, last.alerts
            snap.order, snap.timeline = last.order, last.timeline
            snap.suppliers, snap.demand = last.suppliers, last.demand
        else:
            self._slow_at = now
            snap.connectors = self._connector_states()
            snap.positions, snap.alerts = self._views()
            self._visibility(snap)
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

    def _visibility(self, snap: Snapshot) -> None:
        """The order timeline, worst suppliers and demand series, each from its table (a
        table the view process has not created yet leaves its panel empty)."""
        schema = sql.Identifier(self._views_schema)
        queries = {
            "order": sql.SQL(
                "SELECT order_id, status, where_is, promised_delivery_date, "
                "projected_delivery_date, projection_basis, days_late FROM {}.open_orders "
                "ORDER BY days_late DESC, last_step_at DESC NULLS LAST LIMIT 1"
            ),
            "suppliers": sql.SQL(
                "SELECT supplier_id, otif_rate, on_time_rate, in_full_rate, timed, "
                "avg_lead_days FROM {}.supplier_scorecards WHERE window_days = %s AND timed > 0 "
                "ORDER BY otif_rate, supplier_id LIMIT %s"
            ),
            "demand": sql.SQL(
                "SELECT series, quantity, baseline, sd, z, shift FROM {}.demand_rates "
                "WHERE z IS NOT NULL ORDER BY shift IS NULL, abs(z) DESC, series LIMIT %s"
            ),
        }
        params: dict[str, tuple[Any, ...]] = {
            "order": (),
            "suppliers": (SUPPLIER_WINDOW_DAYS, WORST_SUPPLIERS),
            "demand": (DEMAND_SERIES,),
        }
        found: dict[str, list[tuple[Any, ...]]] = {}
        try:
            with psycopg.connect(self._store_dsn, connect_timeout=2, autocommit=True) as conn:
                for name, query in queries.items():
                    try:
                        found[name] = conn.execute(query.format(schema), params[name]).fetchall()
                    except psycopg.errors.UndefinedTable:
                        found[name] = []  # not created yet by the view process
                order = found["order"][0] if found["order"] else None
                steps = (
                    conn.execute(
                        sql.SQL(
                            "SELECT step, system, committed_at, detail FROM {}.order_tracking "
                            "WHERE order_id = %s ORDER BY committed_at DESC, occurred_at DESC "
                            "LIMIT %s"
                        ).format(schema),
                        (order[0], TIMELINE_STEPS),
                    ).fetchall()
                    if order is not None
                    else []
                )
        except psycopg.Error:
            return  # the store is unreachable this frame: the panels stay empty
        snap.order, snap.timeline = order_lines(order, steps)
        snap.suppliers = supplier_rows(found["suppliers"])
        snap.demand = demand_rows(found["demand"])
