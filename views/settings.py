"""Settings of the views stage: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_VIEWS_`` prefix; the Kafka
bootstrap and the serving database fall back to ``SCV_KAFKA_BOOTSTRAP`` and
``SCV_STORE_DSN`` from ``scv stack env``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from transforms.events import TOPIC_INBOUND, TOPIC_INVENTORY, TOPIC_ORDER, TOPIC_SHIPMENT
from views.alerts import AlertPolicy
from views.demand import DemandPolicy
from views.orders import TrackingPolicy
from views.suppliers import SupplierPolicy

#: The canonical topics positions and alerts are built from (items are not needed).
SOURCE_TOPICS = (TOPIC_ORDER, TOPIC_INVENTORY, TOPIC_INBOUND, TOPIC_SHIPMENT)


class ViewsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCV_VIEWS_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("SCV_VIEWS_KAFKA_BOOTSTRAP", "SCV_KAFKA_BOOTSTRAP"),
    )
    #: The ``scv`` serving database (not captured by CDC); SQLAlchemy or libpq URL.
    store_dsn: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SCV_VIEWS_STORE_DSN", "SCV_STORE_DSN")
    )
    #: PostgreSQL schema of the serving tables; one view process per schema.
    db_schema: str = Field(default="views", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    #: Prefix of the canonical topics read and of the alerts topic written (tests).
    topic_prefix: str = ""
    alerts_topic: str = "scv.alerts.v1"
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    batch_size: int = Field(default=2000, ge=1)
    batch_timeout_s: float = Field(default=0.5, gt=0)
    #: ``--until-idle``: stop after this long at the end of every partition.
    idle_s: float = Field(default=3.0, gt=0)
    #: A canonical partition whose stored offset fell off its log (retention,
    #: ``delete_records``) stops the process with an error naming the lost range; with this
    #: (``--allow-gap``) it logs the range, counts it in the run summary and reads on from the
    #: log start.
    allow_gap: bool = False
    #: Reorder point per ``site|item``; others use the default (None: no low-stock alerts).
    reorder_points: dict[str, Decimal] = Field(default_factory=dict)
    default_reorder_point: Decimal | None = Decimal(20)
    resolve_margin: Decimal = Decimal(0)
    excursion_tolerance_minutes: float = Field(default=30.0, ge=0)
    sensor_classes: dict[str, str] = Field(default_factory=dict)
    #: Order tracking: transit days of an order that states no promised ship and delivery
    #: dates to derive them from (``views.orders``).
    default_transit_days: int = Field(default=2, ge=0)
    # -- supplier scorecards (views.suppliers) --
    #: Rolling windows of the scorecards, in days.
    supplier_windows_days: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        default=(7, 30, 90), min_length=1
    )
    #: ``supplier.otif_dropped``: OTIF over this window below this share, with at least
    #: this many lines with an on-time verdict in the window.
    supplier_otif_window_days: int = Field(default=30, ge=1)
    supplier_otif_threshold: Decimal = Field(default=Decimal("0.9"), ge=0, le=1)
    supplier_otif_min_lines: int = Field(default=5, ge=1)
    #: ``late_inbound_po``: how long after the promised day ends (branch time) a line with no
    #: closing receipt is late (leeway for receipts read behind other inbound events).
    late_po_grace_minutes: float = Field(default=60.0, ge=0)
    # -- demand sensing (views.demand) --
    #: Bucket length in seconds (3600: hourly; a demo or test uses a minute or less).
    demand_bucket_s: float = Field(default=3600.0, gt=0)
    #: Buckets per season: 168 hourly buckets = hour of week; 1 = no seasonality.
    demand_season: int = Field(default=168, ge=1)
    demand_alpha: float = Field(default=0.1, gt=0, le=1)
    #: |z| at or beyond which a bucket departs from its baseline.
    demand_threshold: float = Field(default=3.0, gt=0)
    #: Consecutive departing buckets that raise ``demand.shift`` (and calm ones that end it).
    demand_sustain: int = Field(default=3, ge=1)
    #: Observations a slot needs before it is judged (warm-up).
    demand_min_history: int = Field(default=3, ge=1)
    #: Floor of the standard deviation (base units), so a flat series is not all alarms.
    demand_min_sd: float = Field(default=1.0, gt=0)
    #: A series without orders this long (watermark time) is dropped.
    demand_retire_days: float = Field(default=28.0, gt=0)
    #: Ship-to address number → region, for the per-region series.
    demand_regions: dict[str, str] = Field(default_factory=dict)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def source_topics(self) -> list[str]:
        return [self.topic(t) for t in SOURCE_TOPICS]

    @property
    def libpq_dsn(self) -> str:
        if self.store_dsn is None:
            from views.errors import StoreError

            raise StoreError("no serving database: set SCV_STORE_DSN (see `scv stack env`)")
        return self.store_dsn.get_secret_value().replace("postgresql+psycopg://", "postgresql://")

    def supplier_policy(self) -> SupplierPolicy:
        return SupplierPolicy(
            windows=tuple(timedelta(days=d) for d in self.supplier_windows_days),
            otif_window=timedelta(days=self.supplier_otif_window_days),
            otif_threshold=self.supplier_otif_threshold,
            otif_min_lines=self.supplier_otif_min_lines,
            late_grace=timedelta(minutes=self.late_po_grace_minutes),
        )

    def demand_policy(self) -> DemandPolicy:
        return DemandPolicy(
            bucket=timedelta(seconds=self.demand_bucket_s),
            season=self.demand_season,
            alpha=self.demand_alpha,
            threshold=self.demand_threshold,
            sustain=self.demand_sustain,
            min_history=self.demand_min_history,
            min_sd=self.demand_min_sd,
            retire_after=timedelta(days=self.demand_retire_days),
            regions=self.demand_regions,
        )

    def policy(self) -> AlertPolicy:
        return AlertPolicy(
            reorder_points=self.reorder_points,
            default_reorder_point=self.default_reorder_point,
            resolve_margin=self.resolve_margin,
            excursion_tolerance=timedelta(minutes=self.excursion_tolerance_minutes),
            sensor_classes=self.sensor_classes,
        )

    def tracking_policy(self) -> TrackingPolicy:
        return TrackingPolicy(default_transit_days=self.default_transit_days)
