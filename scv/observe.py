"""Wiring of the metrics for the command line: which collectors a process serves, and the
readings behind ``scv status``. The stages own their metrics (``transforms.observe``,
``views.observe``, ``connectors.observe``); this module only puts them together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

import kafkaio
import metrics
from connectors.ops import Spec
from connectors.settings import ConnectorsSettings
from metrics.status import StageReading
from transforms.events import EVENT_TYPES
from transforms.settings import TransformsSettings
from views.settings import ViewsSettings

Log = Callable[[str], None]
#: Seconds ``scv status`` waits for Connect (a status that hangs is no status).
STATUS_TIMEOUT_S = 5.0


def serve(registry: CollectorRegistry, port: int, log: Log) -> None:
    """Serve ``registry`` on ``port`` (loopback) for this process's lifetime."""
    metrics.serve(registry, port)
    log(f"metrics: http://{metrics.serve_address()}:{port}/metrics")


def runner_registry(
    transforms: TransformsSettings,
    connectors: tuple[Sequence[Spec], ConnectorsSettings] | None,
    log: Log,
) -> CollectorRegistry:
    """A runner's registry (its ``RunnerMetrics`` are made on it by the caller): the group's
    lag and, when the connectors are known, their states and data-loss risk."""
    from transforms.observe import lag_collector

    registry = CollectorRegistry()
    registry.register(lag_collector(transforms, log))
    if connectors is not None:
        from connectors.observe import collector

        registry.register(collector(*connectors, log))
    return registry


def views_registry(views: ViewsSettings, log: Log) -> CollectorRegistry:
    """A view process's registry: the lag of its stored offsets."""
    from views.observe import lag_collector

    registry = CollectorRegistry()
    registry.register(lag_collector(views, log))
    return registry


def stack_registry(
    transforms: TransformsSettings,
    views: ViewsSettings,
    connectors: tuple[Sequence[Spec], ConnectorsSettings] | None,
    log: Log,
) -> CollectorRegistry:
    """What the console serves at ``/metrics``: every stage's lag and the connectors, read at
    each scrape (a stage that is not running still shows its lag growing)."""
    from transforms.observe import LAG_METRICS
    from transforms.observe import lag_reader as pipeline_lag
    from views.observe import lag_reader as views_lag

    pipeline, view = pipeline_lag(transforms, log), views_lag(views, log)
    registry = CollectorRegistry()
    # One collector: a registry refuses two that expose the same names.
    registry.register(metrics.ReadingsCollector(LAG_METRICS, lambda: [*pipeline(), *view()]))
    if connectors is not None:
        from connectors.observe import collector

        registry.register(collector(*connectors, log))
    return registry


def _age(lag: kafkaio.PartitionLag, now: datetime) -> float | None:
    return None if lag.oldest is None else max(0.0, (now - lag.oldest).total_seconds())


def topic_slo(transforms: TransformsSettings, topic: str, prefix: str = "") -> float:
    """The tightest SLO of the event types a canonical topic carries."""
    slos = [
        transforms.freshness_slo(t)
        for t, model in EVENT_TYPES.items()
        if f"{prefix}{model.TOPIC}" == topic
    ]
    return min(slos) if slos else transforms.default_freshness_slo_s


def _worst(
    lags: Sequence[kafkaio.PartitionLag], slo: Callable[[str], float], now: datetime
) -> tuple[float | None, float | None]:
    """(oldest waiting age, its SLO) of the partition furthest past (or nearest to) its SLO."""
    worst: tuple[float, float] | None = None
    for lag in lags:
        age = _age(lag, now)
        if age is None:
            continue
        limit = slo(lag.topic)
        if worst is None or age - limit > worst[0] - worst[1]:
            worst = (age, limit)
    return (None, None) if worst is None else worst


def pipeline_reading(transforms: TransformsSettings, now: datetime) -> StageReading:
    """The runners' group. A waiting source row may become any event type (the mappers do not
    declare theirs), so the backlog is held to the tightest SLO."""
    from transforms.observe import group_lag

    lags, members = group_lag(transforms)
    tightest = min(transforms.freshness_slo(t) for t in EVENT_TYPES)
    age, slo = _worst(lags, lambda _topic: tightest, now)
    return StageReading(
        "pipeline",
        members,
        sum(lag.lag for lag in lags),
        age,
        slo if slo is not None else tightest,
        detail=f"group {transforms.group_id}",
    )


def views_reading(
    transforms: TransformsSettings, views: ViewsSettings, now: datetime
) -> StageReading:
    """The view process: its stored offsets, each canonical topic held to its types' SLO."""
    from views.observe import stored_lag
    from views.store import opened

    with opened(views.libpq_dsn, views.db_schema) as store:
        store.ensure_schema()
        lags, writers = stored_lag(views, store)
    age, slo = _worst(lags, lambda topic: topic_slo(transforms, topic, views.topic_prefix), now)
    return StageReading(
        "views",
        writers,
        sum(lag.lag for lag in lags),
        age,
        slo,
        detail=f"schema {views.db_schema}",
    )


def connector_readings(specs: Sequence[Spec], settings: ConnectorsSettings) -> list[StageReading]:
    from connectors.client import ConnectClient
    from connectors.errors import ConnectError
    from connectors.observe import read

    try:
        with ConnectClient(
            settings.connect_url, timeout=STATUS_TIMEOUT_S, retry_for=STATUS_TIMEOUT_S
        ) as client:
            found = read(specs, client, settings)
    except ConnectError as exc:
        return [
            StageReading(f"connector {spec.name}", None, 0, None, None, False, str(exc))
            for spec in specs
        ]
    return [
        StageReading(
            f"connector {c.name}",
            None,
            0,
            None,
            None,
            running=c.running,
            detail=f"{c.state}, tasks {','.join(c.task_states) or '-'}, "
            f"data-loss risk {c.risk.level}",
        )
        for c in found
    ]


def _unreadable(stage: str, exc: Exception) -> StageReading:
    """A stage whose state cannot be read is down: its Kafka or database does not answer."""
    return StageReading(stage, None, 0, None, None, running=False, detail=f"not read: {exc}")


def status(
    transforms: TransformsSettings,
    views: ViewsSettings,
    connectors: tuple[Sequence[Spec], ConnectorsSettings],
    now: datetime | None = None,
) -> list[StageReading]:
    """One reading per stage, in data-flow order."""
    from views.errors import ViewsError

    at = now or datetime.now(UTC)
    readings = connector_readings(*connectors)
    try:
        readings.append(pipeline_reading(transforms, at))
    except kafkaio.KafkaIOError as exc:
        readings.append(_unreadable("pipeline", exc))
    try:
        readings.append(views_reading(transforms, views, at))
    except (kafkaio.KafkaIOError, ViewsError) as exc:
        readings.append(_unreadable("views", exc))
    return readings
