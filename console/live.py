"""``Sources`` over the real services, each read the way the matching CLI verb reads.

| page part                    | read                                                        |
|------------------------------|-------------------------------------------------------------|
| positions                    | ``views.store.Store.positions`` (``scv inventory show``)    |
| positions ``as_of``          | ``views.process.replay_until`` (``--as-of``)                |
| alerts                       | the views' alert outbox, in order (what ``scv.alerts.v1``   |
|                              | gets, without waiting for a topic read)                     |
| quality summary              | ``expectations.report.summarize`` over the canonical and    |
|                              | quarantine topics (``scv quality report``'s summary.json)   |
| quarantine, replay           | ``expectations.quarantine.from_records``,                   |
|                              | ``transforms.replay.Replayer`` (``scv quarantine``)         |
| connectors                   | Connect's status and ``connectors.ops.risk``                |
|                              | (``scv connectors status``)                                 |
| orders                       | ``views.order_store`` (``scv order track``, ``scv order     |
|                              | list --late``): the order tracking tables                   |
| lag                          | committed offsets of the pipeline's group, the views'       |
|                              | stored offsets, against the high watermarks                 |

Reads of whole topics (history, quality, lag) are reused for ``cache_s`` seconds, so
a page reloaded by several people reads Kafka once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

import kafkaio
from connectors.client import ConnectClient
from connectors.errors import ConnectorNotFound
from connectors.ops import Spec, risk
from connectors.settings import ConnectorsSettings
from console.history import History, Timed, on_hand_history
from console.lag import LagRow, lag_rows
from console.settings import ConsoleSettings
from console.sources import Instances, ReplayOutcome
from expectations.quarantine import QuarantineRecord, from_records
from expectations.report import GatedEvent, summarize
from expectations.settings import QualitySettings
from transforms.events import CANONICAL_TOPICS
from transforms.settings import TransformsSettings
from views.order_store import OrderSummary, OrderTimeline
from views.positions import Key, Position
from views.process import Rejected, read_event, replay_until
from views.settings import ViewsSettings
from views.store import Store

T = TypeVar("T")


class _Cache:
    """Values by key, each reused for ``ttl`` seconds; one computation at a time per key."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self.values: dict[str, tuple[float, Any]] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self.guard:
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            found = self.values.get(key)
            if found is not None and self.clock() - found[0] < self.ttl:
                value: T = found[1]
                return value
            value = compute()
            self.values[key] = (self.clock(), value)
            return value


class LiveSources:
    def __init__(
        self,
        console: ConsoleSettings,
        views: ViewsSettings,
        transforms: TransformsSettings,
        quality: QualitySettings,
        connectors: ConnectorsSettings,
        specs: Sequence[Spec],
    ) -> None:
        self.console = console
        self.views = views
        self.transforms = transforms
        self.quality = quality
        self.connector_settings = connectors
        self.specs = list(specs)
        self.policy = views.policy()
        self.cache = _Cache(console.cache_s)
        self.replaying = threading.Lock()

    @contextmanager
    def _store(self) -> Iterator[Store]:
        store = Store(self.views.libpq_dsn, self.views.db_schema)
        try:
            yield store
        finally:
            store.close()

    # -- stock -----------------------------------------------------------------------------------

    def positions(
        self, site: str | None, item: str | None, as_of: datetime | None
    ) -> dict[Key, Position]:
        if as_of is not None:
            book = replay_until(self.views, as_of)
            return {
                k: p
                for k, p in book.positions.items()
                if (site is None or k[0] == site) and (item is None or k[1] == item)
            }
        with self._store() as store:
            store.ensure_schema()
            return store.positions(site, item)

    def reorder_point(self, key: Key) -> Decimal | None:
        return self.policy.reorder_point(key)

    def history(self, points: int) -> History:
        return self.cache.get(f"history:{points}", lambda: self._history(points))

    def _history(self, points: int) -> History:
        bootstrap = self.views.kafka_bootstrap
        parts = kafkaio.partitions(bootstrap, self.views.source_topics)
        ends = kafkaio.high_watermarks(bootstrap, parts)
        by_partition: dict[tuple[str, int], list[Timed]] = {}
        for message in kafkaio.read_range(bootstrap, {}, ends):
            value = message.value()
            if value is None:
                continue
            event = read_event(value)
            if isinstance(event, Rejected):
                continue  # the live process keeps it in rejected_records
            where = (message.topic() or "", message.partition() or 0)
            by_partition.setdefault(where, []).append((message.timestamp()[1], event))
        now_ms = round(datetime.now(UTC).timestamp() * 1000)
        return on_hand_history(by_partition.values(), now_ms, points)

    # -- alerts ----------------------------------------------------------------------------------

    def alert_log(self) -> list[dict[str, Any]]:
        with self._store() as store:
            store.ensure_schema()
            return [record for _seq, record in store.alert_log()]

    # -- quality ---------------------------------------------------------------------------------

    def quality_summary(self, since: datetime | None) -> dict[str, Any]:
        key = f"quality:{since.isoformat() if since else ''}"
        return self.cache.get(key, lambda: self._quality_summary(since))

    def _quality_summary(self, since: datetime | None) -> dict[str, Any]:
        settings = self.quality
        bootstrap = settings.kafka_bootstrap
        events = [
            GatedEvent(orjson.loads(value), message.timestamp()[1])
            for message in kafkaio.read_committed(
                bootstrap, [settings.topic(t) for t in CANONICAL_TOPICS], since=since
            )
            if (value := message.value()) is not None
        ]
        records = from_records(
            kafkaio.read_records(
                bootstrap, [settings.topic(settings.quarantine_topic)], since=since
            ),
            since=since,
        )
        return summarize(
            events, records, since=since, now=datetime.now(UTC), topic_prefix=settings.topic_prefix
        )

    def quarantine(self) -> list[QuarantineRecord]:
        settings = self.transforms
        return self.cache.get(
            "quarantine",
            lambda: from_records(
                kafkaio.read_records(
                    settings.kafka_bootstrap, [settings.topic(settings.quarantine_topic)]
                )
            ),
        )

    def replay(self, rule: str | None) -> ReplayOutcome:
        from transforms.quality import QualityGate
        from transforms.registry import default_registry
        from transforms.replay import Replayer

        with self.replaying:  # one replay at a time: a second would redo the first's batch
            stats = Replayer(self.transforms, default_registry(), QualityGate.load()).run(rule=rule)
        self.cache.values.clear()  # the quarantine and the topics changed
        return ReplayOutcome(
            selected=stats.selected,
            already_replayed=stats.already_replayed,
            replayed=stats.replayed,
            batches=stats.batches,
            events=stats.events,
            still_failing=stats.still_failing,
        )

    # -- pipeline --------------------------------------------------------------------------------

    def connectors(self) -> list[dict[str, Any]]:
        settings = self.connector_settings
        rows: list[dict[str, Any]] = []
        with ConnectClient(
            settings.connect_url, timeout=settings.http_timeout, retry_for=0
        ) as client:
            for spec in self.specs:
                row: dict[str, Any] = {"name": spec.name}
                try:
                    st = client.status(spec.name)
                    row |= {
                        "state": st.state,
                        "tasks": [{"id": t.id, "state": t.state} for t in st.tasks],
                        "running": st.running,
                        "trace": (st.failed_trace or "").strip().splitlines()[:1],
                    }
                except ConnectorNotFound:
                    row |= {"state": "NOT DEPLOYED", "tasks": [], "running": False, "trace": []}
                r = risk(spec, client, settings)
                row["data_loss_risk"] = {"level": r.level, "summary": r.summary, **r.facts}
                rows.append(row)
        return rows

    def lag(self) -> list[LagRow]:
        return self.cache.get("lag", self._lag)

    def _lag(self) -> list[LagRow]:
        from confluent_kafka import ConsumerGroupTopicPartitions

        bootstrap = self.transforms.kafka_bootstrap
        admin = kafkaio.admin_client(bootstrap)
        group = self.transforms.group_id
        futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
        committed = futures[group].result(timeout=10)
        next_offsets = {
            (tp.topic, tp.partition): int(tp.offset) for tp in committed.topic_partitions or ()
        }
        rows = lag_rows(
            f"pipeline group {group}",
            next_offsets,
            kafkaio.high_watermarks(bootstrap, next_offsets, admin=admin),
        )
        with self._store() as store:
            store.ensure_schema()
            stored = store.offsets()
        parts = kafkaio.partitions(self.views.kafka_bootstrap, self.views.source_topics)
        ends = kafkaio.high_watermarks(self.views.kafka_bootstrap, parts, admin=admin)
        return rows + lag_rows(f"views {self.views.db_schema}", stored, ends)

    def instances(self) -> Instances:
        runners = kafkaio.describe_group(self.transforms.kafka_bootstrap, self.transforms.group_id)
        with self._store() as store:
            store.ensure_schema()
            sessions = tuple(store.writer_sessions())
        parts = kafkaio.partitions(self.views.kafka_bootstrap, self.views.source_topics)
        return Instances(runners, self.views.db_schema, sessions, tuple(sorted(parts)))

    # -- suppliers and demand --------------------------------------------------------------------

    def scorecards(self) -> list[dict[str, Any]]:
        from views.supply import read_scorecards

        with self._store() as store:
            store.ensure_schema()
            return read_scorecards(store.conn, store.schema, None, None)

    def demand(self, every: bool, limit: int) -> list[dict[str, Any]]:
        from views.supply import read_demand

        with self._store() as store:
            store.ensure_schema()
            return read_demand(store.conn, store.schema, shifted_only=not every, limit=limit)

    # -- orders --------------------------------------------------------------------------------

    def find_orders(self, text: str, limit: int) -> list[str]:
        from views.order_store import ensure, find_orders

        with self._store() as store:
            ensure(store.conn, store.schema)
            return find_orders(store.conn, store.schema, text, limit)

    def order(self, order_id: str) -> OrderTimeline | None:
        from views.order_store import ensure, timeline

        with self._store() as store:
            ensure(store.conn, store.schema)
            return timeline(store.conn, store.schema, order_id)

    def late_orders(self) -> list[OrderSummary]:
        from views.order_store import ensure, open_orders

        with self._store() as store:
            ensure(store.conn, store.schema)
            return open_orders(store.conn, store.schema, late_only=True)
