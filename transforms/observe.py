"""The runner's metrics (``scv pipeline run --metrics-port``): what each committed batch did,
how long its transaction took, how fresh its events were, and the group's lag.

The runner calls three hooks (``figures`` while mapping, ``timed`` around the commit job,
``committed`` once the batch is committed); everything else lives here. Counts move only when
a batch commits, so they equal what a ``read_committed`` reader sees.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka.admin import AdminClient
from prometheus_client import CollectorRegistry

import kafkaio
import metrics
from transforms.pipeline import Emit, Outcome, RawMessage
from transforms.settings import TransformsSettings

STAGE = "pipeline"
#: The gauges the lag collector exports.
LAG_METRICS = (
    "scv_consumer_lag_messages",
    "scv_consumer_lag_oldest_seconds",
    "scv_stage_members",
)
Log = Callable[[str], None]


@dataclass(slots=True)
class BatchFigures:
    """What a mapped batch will have done once it commits."""

    #: Raw messages per source topic.
    consumed: Counter[str] = field(default_factory=Counter)
    #: (event type, source commit time as epoch seconds) of every event produced.
    produced: list[tuple[str, float]] = field(default_factory=list)


def figures(routed: Sequence[tuple[RawMessage, Outcome]]) -> BatchFigures:
    """The figures of a gated batch (``route``'s answer: what is produced is an ``Emit``)."""
    found = BatchFigures()
    for raw, outcome in routed:
        found.consumed[raw.topic] += 1
        if isinstance(outcome, Emit):
            found.produced.extend((e.event_type, e.recorded_at.timestamp()) for e in outcome.events)
    return found


class RunnerMetrics:
    """The runner's metrics on ``registry`` (a private one when nothing serves them)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        slos: Mapping[str, float] | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._m = metrics.Metrics(self.registry, ["scv_pipeline_"])
        slo = self._m.gauge("scv_pipeline_freshness_slo_seconds")
        for event_type, seconds in sorted((slos or {}).items()):
            slo.labels(event_type).set(seconds)
        self._commit = self._m.histogram("scv_pipeline_commit_seconds")
        self._aborted_seen = 0

    def timed(self, job: Callable[[], None]) -> Callable[[], None]:
        """``job`` (a batch's commit, run on the commit thread) timed when it succeeds."""

        def run() -> None:
            started = time.perf_counter()
            job()
            self._commit.observe(time.perf_counter() - started)

        return run

    def committed(
        self,
        counts: Mapping[str, Mapping[str, int]],
        batch: BatchFigures,
        *,
        messages: int,
        aborted_batches: int,
        state_entries: int,
        pending_rows: int,
        now: float | None = None,
    ) -> None:
        """A batch committed: ``counts`` are the runner's (``events``, ``quarantined``,
        ``skipped``), ``aborted_batches`` its running total."""
        m = self._m
        m.count("scv_pipeline_consumed_total", batch.consumed)
        m.count("scv_pipeline_produced_total", counts.get("events", {}))
        m.count("scv_pipeline_quarantined_total", counts.get("quarantined", {}))
        m.count("scv_pipeline_skipped_total", counts.get("skipped", {}))
        m.histogram("scv_pipeline_batch_messages").observe(messages)
        at = time.time() if now is None else now
        freshness = m.histogram("scv_pipeline_freshness_seconds")
        for event_type, recorded in batch.produced:
            # A source clock ahead of ours would give a negative age: it is fresh, not older.
            freshness.labels(event_type).observe(max(0.0, at - recorded))
        if aborted_batches > self._aborted_seen:
            m.counter("scv_pipeline_aborted_batches_total").inc(
                aborted_batches - self._aborted_seen
            )
            self._aborted_seen = aborted_batches
        m.gauge("scv_pipeline_reference_state_entries").set(state_entries)
        m.gauge("scv_pipeline_pending_rows").set(pending_rows)


def slos(settings: TransformsSettings) -> dict[str, float]:
    """The freshness objective of every event type."""
    from transforms.events import EVENT_TYPES

    return {event_type: settings.freshness_slo(event_type) for event_type in EVENT_TYPES}


def lag_readings(
    stage: str,
    lags: Iterable[kafkaio.PartitionLag],
    members: int | None,
    *,
    now: datetime | None = None,
) -> list[metrics.Reading]:
    """The lag gauges of one stage from its partitions' lag (``members`` None: not a group)."""
    at = now or datetime.now(UTC)
    readings: list[metrics.Reading] = []
    oldest: datetime | None = None
    for p in lags:
        labels = {"stage": stage, "topic": p.topic, "partition": str(p.partition)}
        readings.append(metrics.Reading("scv_consumer_lag_messages", p.lag, labels))
        if p.oldest is not None and (oldest is None or p.oldest < oldest):
            oldest = p.oldest
    age = max(0.0, (at - oldest).total_seconds()) if oldest is not None else 0.0
    readings.append(metrics.Reading("scv_consumer_lag_oldest_seconds", age, {"stage": stage}))
    if members is not None:
        readings.append(metrics.Reading("scv_stage_members", members, {"stage": stage}))
    return readings


def group_lag(
    settings: TransformsSettings, admin: AdminClient | None = None
) -> tuple[list[kafkaio.PartitionLag], int]:
    """The runners' group: each raw partition's lag, and how many runners are in the group."""
    bootstrap = settings.kafka_bootstrap
    client = admin if admin is not None else kafkaio.admin_client(bootstrap)
    offsets = kafkaio.group_offsets(bootstrap, settings.group_id, admin=client)
    pattern = re.compile(settings.source_pattern)
    lags = kafkaio.lag(bootstrap, offsets, pattern, admin=client)
    return lags, kafkaio.group_members(bootstrap, settings.group_id, admin=client)


def lag_collector(settings: TransformsSettings, log: Log) -> metrics.ReadingsCollector:
    """Scrape-time lag of the runners' group (any process may serve it, also when no runner
    runs: that is when the lag grows)."""
    return metrics.ReadingsCollector(LAG_METRICS, lag_reader(settings, log))


def lag_reader(settings: TransformsSettings, log: Log) -> Callable[[], list[metrics.Reading]]:
    """The lag readings of the runners' group, read when called (a scrape)."""
    admin = kafkaio.admin_client(settings.kafka_bootstrap)

    def read() -> list[metrics.Reading]:
        try:
            lags, members = group_lag(settings, admin)
        except kafkaio.KafkaIOError as exc:
            log(f"metrics: lag of group {settings.group_id} not read: {exc}")
            return []
        return lag_readings(STAGE, lags, members)

    return read
