"""The views' metrics (``scv views run --metrics-port``): what each committed batch applied,
how long its database transaction took, how fresh its events were, and the lag of the
offsets stored with the serving tables.

``ViewProcess`` calls one hook (``committed``) after a batch's transaction; everything else
lives here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import psycopg
from prometheus_client import CollectorRegistry

import kafkaio
import metrics
from transforms.events import CanonicalEvent
from transforms.observe import LAG_METRICS, lag_readings
from views.errors import StoreError
from views.settings import ViewsSettings
from views.store import Store, TopicPartitionKey, opened

STAGE = "views"
Log = Callable[[str], None]


class ViewMetrics:
    """The views' metrics on ``registry`` (a private one when nothing serves them)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._m = metrics.Metrics(self.registry, ["scv_views_"])

    def committed(
        self,
        *,
        messages: int,
        applied: Iterable[CanonicalEvent],
        duplicates: int,
        rejected: Mapping[str, int],
        alerts: int,
        commit_s: float,
        positions: int,
        now: float | None = None,
    ) -> None:
        m = self._m
        at = time.time() if now is None else now
        by_type: Counter[str] = Counter()
        freshness = m.histogram("scv_views_freshness_seconds")
        for event in applied:
            by_type[event.event_type] += 1
            freshness.labels(event.event_type).observe(max(0.0, at - event.recorded_at.timestamp()))
        m.count("scv_views_consumed_total", by_type)
        m.count("scv_views_rejected_total", rejected)
        m.counter("scv_views_duplicates_total").inc(duplicates)
        m.counter("scv_views_alerts_total").inc(alerts)
        m.histogram("scv_views_commit_seconds").observe(commit_s)
        m.histogram("scv_views_batch_messages").observe(messages)
        m.gauge("scv_views_positions").set(positions)


def stored_lag(settings: ViewsSettings, store: Store) -> tuple[list[kafkaio.PartitionLag], int]:
    """Each canonical partition's lag behind the offsets stored with the serving tables, and
    how many view processes hold the schema (0 or 1)."""
    offsets: Mapping[TopicPartitionKey, int] = store.offsets()
    lags = kafkaio.lag(settings.kafka_bootstrap, offsets, settings.source_topics)
    return lags, store.writers()


def lag_collector(settings: ViewsSettings, log: Log) -> metrics.ReadingsCollector:
    """Scrape-time lag of the views (any process may serve it, also when none runs)."""
    return metrics.ReadingsCollector(LAG_METRICS, lag_reader(settings, log))


def lag_reader(settings: ViewsSettings, log: Log) -> Callable[[], list[metrics.Reading]]:
    """The lag readings of the views' stored offsets, read when called (a scrape)."""

    def read() -> list[metrics.Reading]:
        try:
            with opened(settings.libpq_dsn, settings.db_schema) as store:
                lags, writers = stored_lag(settings, store)
        except (kafkaio.KafkaIOError, StoreError, psycopg.Error) as exc:
            log(f"metrics: lag of the views not read: {exc}")
            return []
        return lag_readings(STAGE, lags, writers)

    return read


def applied_events(
    parsed: Sequence[tuple[object, CanonicalEvent]], applied_ids: Iterable[object]
) -> list[CanonicalEvent]:
    """The events of a batch that were applied (not duplicates, not rejected)."""
    ids = set(applied_ids)
    return [event for _, event in parsed if event.event_id in ids]
