"""Settings of the views stage: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_VIEWS_`` prefix; the Kafka
bootstrap and the serving database fall back to ``SCV_KAFKA_BOOTSTRAP`` and
``SCV_STORE_DSN`` from ``scv stack env``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from transforms.events import TOPIC_INBOUND, TOPIC_INVENTORY, TOPIC_ORDER, TOPIC_SHIPMENT
from views.alerts import AlertPolicy
from views.orders import TrackingPolicy

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
