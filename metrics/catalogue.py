"""Every metric scv exports, declared once: name, type, labels and help.

Processes register metrics only from this catalogue (``metrics.registry``), the dashboard and
alert rules under ``ops/`` may reference only names in it (a unit test checks), and
``docs/metrics.md`` lists it (a unit test keeps the two equal).

Names follow Prometheus conventions: ``scv_`` prefix, base units (seconds, bytes), counters end
in ``_total`` (the client adds the suffix to the declared name of a counter; the catalogue
states the exposed name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]

#: Seconds from a source commit to the event being visible downstream: sub-second under a
#: steady load, tens of seconds during a backlog drain, minutes when a stage was down.
FRESHNESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)
#: Seconds a batch's transaction takes to commit (Kafka or PostgreSQL).
COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: Records in one batch (the runner's default batch is 500, the views' 2000).
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    #: The name as exposed (a counter's with its ``_total``).
    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()

    @property
    def series(self) -> tuple[str, ...]:
        """The sample names a scrape shows for it (what a PromQL expression may use)."""
        if self.kind == "histogram":
            return tuple(f"{self.name}_{s}" for s in ("bucket", "count", "sum", "created"))
        if self.kind == "counter":
            return (self.name, self.name.removesuffix("_total") + "_created")
        return (self.name,)


def _c(name: str, labels: tuple[str, ...], text: str) -> MetricSpec:
    return MetricSpec(name, "counter", labels, text)


def _g(name: str, labels: tuple[str, ...], text: str) -> MetricSpec:
    return MetricSpec(name, "gauge", labels, text)


def _h(name: str, labels: tuple[str, ...], text: str, buckets: tuple[float, ...]) -> MetricSpec:
    return MetricSpec(name, "histogram", labels, text, buckets)


CATALOGUE: tuple[MetricSpec, ...] = (
    # -- transforms runner (scv pipeline run --metrics-port) ----------------------------------
    _c("scv_pipeline_consumed_total", ("topic",),
       "Raw change messages consumed in committed batches, per source topic."),
    _c("scv_pipeline_produced_total", ("event_type",),
       "Canonical events produced in committed transactions, per event type."),
    _c("scv_pipeline_quarantined_total", ("reason",),
       "Source messages sent to the quarantine topic in committed transactions, per reason "
       "(mapper reason or first failed gate rule)."),
    _c("scv_pipeline_skipped_total", ("reason",),
       "Source messages that give no event (Debezium replays, no-op updates...), per reason."),
    _c("scv_pipeline_aborted_batches_total", (),
       "Batches whose transaction was aborted (read again from the committed offsets)."),
    _h("scv_pipeline_commit_seconds", (),
       "Seconds to commit a batch's Kafka transaction (offsets sent + commit).",
       COMMIT_BUCKETS),
    _h("scv_pipeline_batch_messages", (),
       "Raw messages per committed batch.", BATCH_BUCKETS),
    _h("scv_pipeline_freshness_seconds", ("event_type",),
       "Seconds from the source commit (recorded_at) to the event's transaction committing "
       "on its canonical topic, per event type.", FRESHNESS_BUCKETS),
    _g("scv_pipeline_freshness_slo_seconds", ("event_type",),
       "The freshness objective of each event type (settings: SCV_TRANSFORMS_FRESHNESS_SLO_S, "
       "SCV_TRANSFORMS_DEFAULT_FRESHNESS_SLO_S), for alert rules to compare against."),
    _g("scv_pipeline_reference_state_entries", (),
       "Entries of the runner's reference state (items, unit conversions, WMS orders...)."),
    _g("scv_pipeline_pending_rows", (),
       "Rows read and waiting in memory for their turn in source commit order."),
    # -- views (scv views run --metrics-port) --------------------------------------------------
    _c("scv_views_consumed_total", ("event_type",),
       "Canonical events applied to the positions in committed database transactions, per "
       "event type."),
    _c("scv_views_duplicates_total", (),
       "Canonical events dropped because their event_id was applied before."),
    _c("scv_views_rejected_total", ("reason",),
       "Canonical records the views could not apply (views.rejected_records), per reason."),
    _c("scv_views_alerts_total", (),
       "Alerts raised or resolved in committed batches (published to scv.alerts.v1)."),
    _h("scv_views_commit_seconds", (),
       "Seconds to commit a batch's database transaction (state, outbox and offsets).",
       COMMIT_BUCKETS),
    _h("scv_views_batch_messages", (),
       "Canonical records per committed batch.", BATCH_BUCKETS),
    _h("scv_views_freshness_seconds", ("event_type",),
       "Seconds from the source commit (recorded_at) to the event's batch committing in the "
       "serving tables, per event type.", FRESHNESS_BUCKETS),
    _g("scv_views_positions", (),
       "Inventory positions (site x item) held by the views."),
    # -- consumer lag (any process that knows the stages' groups) -------------------------------
    _g("scv_consumer_lag_messages", ("stage", "topic", "partition"),
       "High watermark minus the stage's committed offset, per partition (the transforms "
       "group's Kafka offsets; the views' offsets stored with their serving tables)."),
    _g("scv_consumer_lag_oldest_seconds", ("stage",),
       "Age of the oldest record the stage has not committed yet (0 when caught up)."),
    _g("scv_stage_members", ("stage",),
       "Members of the stage's consumer group (0: no instance is running)."),
    # -- connectors (the figures of scv connectors status) -------------------------------------
    _g("scv_connector_running", ("connector",),
       "1 when the connector and all of its tasks are RUNNING, else 0."),
    _g("scv_connector_state", ("connector", "state"),
       "1 for the connector's current state (RUNNING, PAUSED, FAILED, NOT DEPLOYED...)."),
    _g("scv_connector_tasks", ("connector", "state"),
       "Tasks of the connector per state."),
    _g("scv_connector_data_loss_risk", ("connector", "level"),
       "1 for the current data-loss risk level (ok, warn, critical, unknown)."),
    _g("scv_connector_retained_wal_bytes", ("connector", "slot"),
       "Bytes of WAL the PostgreSQL replication slot holds back (restart_lsn to now)."),
    _g("scv_connector_binlog_headroom_seconds", ("connector",),
       "Seconds until the binlog the MariaDB connector reads from may expire."),
)  # fmt: skip

NAMES: frozenset[str] = frozenset(m.name for m in CATALOGUE)
_BY_NAME = {m.name: m for m in CATALOGUE}


def spec(name: str) -> MetricSpec:
    """The catalogue entry of ``name`` (KeyError names it when it is not declared)."""
    return _BY_NAME[name]


def series_names() -> frozenset[str]:
    """Every sample name a scrape may show, for checking PromQL expressions against."""
    return frozenset(s for m in CATALOGUE for s in m.series)
