"""Settings of the transforms stage: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_TRANSFORMS_`` prefix (nested with
``__``); the Kafka bootstrap also falls back to ``SCV_KAFKA_BOOTSTRAP`` from ``scv stack env``.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from transforms.events import DEFAULT_SCHEMA_BASE_URL

#: The shortest finite retention a topic of the pipeline may have.
MIN_RETENTION_MS = 3600 * 1000


class TransformsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCV_TRANSFORMS_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("SCV_TRANSFORMS_KAFKA_BOOTSTRAP", "SCV_KAFKA_BOOTSTRAP"),
    )
    #: The consumer group every runner instance joins (they share the raw partitions).
    group_id: str = "scv-transforms"
    #: Stable per logical instance: ``transactional.id = <prefix>-<instance_id>``; a restarted
    #: instance with the same id fences its zombie predecessor.
    transactional_id_prefix: str = "scv-transforms"
    instance_id: str = "0"
    #: Regex (librdkafka: leading ``^``) of the raw Debezium change topics.
    source_pattern: str = r"^(erp\.proddta|wms\.wmwhse1)\..+"
    #: Prefix of every output topic (canonical, quarantine, state); tests use a unique one.
    topic_prefix: str = ""
    quarantine_topic: str = "scv.quarantine.v1"
    state_topic: str = "scv.transforms.state.v1"
    batch_size: int = Field(default=500, ge=1)
    #: How long the runner waits for a batch's first record (``kafkaio.consume_batch``).
    batch_timeout_s: float = Field(default=0.2, gt=0)
    #: After a batch's first record, how long the runner waits for more before mapping what
    #: it has (a backlog fills ``batch_size`` at once). A longer wait makes fewer, larger
    #: transactions at a business rate and adds as much latency (docs/benchmarks.md).
    batch_linger_s: float = Field(default=0.005, ge=0)
    #: Every canonical event carries an ``scv_trace`` header (``transforms.batch.TRACE_HEADER``:
    #: its raw record and when the runner consumed it), for the per-hop latency split of
    #: ``scv bench``. Off unless asked for: downstream readers never need it.
    trace_hops: bool = False
    #: Rows read that may wait in memory for their turn in commit order
    #: (``transforms.sequencing``); past it, the partitions with most of them pause.
    pending_max_rows: int = Field(default=50_000, ge=1)
    transaction_timeout_ms: int = 60_000
    #: A batch's commit still unfinished after this long (default: the transaction timeout
    #: plus 30 s, when the broker has long aborted it) means a stuck client: the runner
    #: starts over in a fresh process.
    commit_deadline_s: float | None = Field(default=None, gt=0)
    #: How long the broker may be unreachable (no batch can commit, no transactional id can
    #: be registered) before the runner gives up with exit code 75.
    outage_deadline_s: float = Field(default=300.0, gt=0)
    #: After SIGTERM/SIGINT, how long the commit in flight may still take.
    stop_grace_s: float = Field(default=10.0, gt=0)
    #: How soon the group notices a dead instance and moves its partitions.
    session_timeout_ms: int = 10_000
    #: Stop after this many quarantined messages in a row...
    quarantine_max_consecutive: int = Field(default=200, ge=1)
    #: ...or when more than this share of a window of messages was quarantined.
    quarantine_max_ratio: float = Field(default=0.5, gt=0, le=1)
    quarantine_window: int = Field(default=1000, ge=1)
    #: An output record larger than this quarantines its message (``output_too_large``):
    #: librdkafka's default ``message.max.bytes`` (1,000,000) less headroom for the record's
    #: framing (``transforms.pipeline.MAX_RECORD_BYTES``; a test keeps the two equal). Raise
    #: it only together with the producer's ``message.max.bytes`` and the topics' limit.
    max_record_bytes: int = Field(default=983_616, ge=1024)
    #: A row missing reference data that may still come is held back and re-read every
    #: ``reference_retry_s``; it is quarantined once the reference topics were processed up to
    #: where they ended when the hold began, and after ``reference_wait_s`` at the latest.
    reference_retry_s: float = Field(default=0.5, gt=0)
    reference_wait_s: float = Field(default=120.0, gt=0)
    #: Site (trimmed business unit / WMS facility) → IANA zone; the CLI fills it from the
    #: ERP's F0006 when it can reach the ERP.
    site_zones: dict[str, str] = Field(default_factory=dict)
    #: ``--until-idle``: stop after this long without a message once caught up.
    idle_s: float = Field(default=5.0, gt=0)
    #: Partitions and replication of topics the runner creates (quarantine, state, canonical).
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    #: How long the canonical topics keep an event (``retention.ms``; -1: for ever). Kafka's
    #: own default, stated: a reader stopped for longer finds a gap (and stops, see
    #: ``allow_gap``), and ``scv inventory show --as-of`` reaches back this far. Set on the
    #: existing canonical topics too at every start (``transforms.topics``); the quarantine
    #: topic always keeps its records for ever.
    canonical_retention_ms: int = 7 * 24 * 3600 * 1000
    #: A raw partition whose committed offset fell off its log (retention, ``delete_records``)
    #: stops the runner with an error naming the lost range; with this (``--allow-gap``) the
    #: runner logs the range, counts it in the run summary and reads on from the log start.
    allow_gap: bool = False
    #: Freshness objective: seconds from a source commit to its event being visible on the
    #: canonical topic (and applied by the views), per event type; others use the default.
    #: ``scv status`` says "breaching SLO" past it, ``ops/alerts.yaml`` alerts on it.
    freshness_slo_s: dict[str, float] = Field(default_factory=dict)
    default_freshness_slo_s: float = Field(default=60.0, gt=0)
    #: Where the canonical JSON Schemas are served (``scv serve``): each event's CloudEvents
    #: ``dataschema`` is ``<base>/<event_type>/v<version>``.
    schema_base_url: str = Field(
        default=DEFAULT_SCHEMA_BASE_URL, pattern=r"^https?://[^\s]+[^/\s]$"
    )

    @field_validator("canonical_retention_ms")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value != -1 and value < MIN_RETENTION_MS:
            raise ValueError(
                f"must be -1 (for ever) or at least {MIN_RETENTION_MS} ms (an hour): a shorter "
                "retention expires events before a restarted reader gets to them"
            )
        return value

    @field_validator("freshness_slo_s")
    @classmethod
    def _slo_types(cls, value: dict[str, float]) -> dict[str, float]:
        from transforms.events import EVENT_TYPES

        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; known: {sorted(EVENT_TYPES)}")
        bad = sorted(k for k, v in value.items() if not v > 0)
        if bad:
            raise ValueError(f"an SLO must be a positive number of seconds: {bad}")
        return value

    def freshness_slo(self, event_type: str) -> float:
        """Seconds the events of ``event_type`` may take from source commit to visible."""
        return self.freshness_slo_s.get(event_type, self.default_freshness_slo_s)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def commit_deadline(self) -> float:
        """Seconds a batch's commit may take (``commit_deadline_s`` or its default)."""
        if self.commit_deadline_s is not None:
            return self.commit_deadline_s
        return self.transaction_timeout_ms / 1000 + 30

    @property
    def transactional_id(self) -> str:
        return f"{self.transactional_id_prefix}-{self.instance_id}"
