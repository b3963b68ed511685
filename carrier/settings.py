"""Settings of the carrier stage: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_CARRIER_`` prefix; the Kafka
bootstrap and the ``scv`` database fall back to ``SCV_KAFKA_BOOTSTRAP`` and ``SCV_STORE_DSN``
from ``scv stack env``.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from carrier.errors import CarrierStoreError
from transforms.events import TOPIC_SHIPMENT


class CarrierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_CARRIER_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("SCV_CARRIER_KAFKA_BOOTSTRAP", "SCV_KAFKA_BOOTSTRAP"),
    )
    store_dsn: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SCV_CARRIER_STORE_DSN", "SCV_STORE_DSN")
    )
    #: PostgreSQL schema of the outbox, the rejects and the relay's progress.
    db_schema: str = Field(default="carrier", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    #: Loopback only: the receiver is not meant to face the internet without a proxy in front.
    host: str = Field(default="127.0.0.1", pattern=r"^(127\.\d+\.\d+\.\d+|::1|localhost)$")
    port: int = Field(default=18090, ge=1, le=65535)
    #: Prefix of the topics written (tests).
    topic_prefix: str = ""
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    #: One relay per topic prefix: a restarted relay fences the one it replaces.
    transactional_id: str = "scv-carrier-relay"
    #: Outbox rows produced per Kafka transaction.
    relay_batch: int = Field(default=500, ge=1)
    #: How long the relay sleeps when the outbox has nothing new.
    relay_idle_s: float = Field(default=0.2, gt=0)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def shipment_topic(self) -> str:
        return self.topic(TOPIC_SHIPMENT)

    @property
    def progress_topic(self) -> str:
        """The relay's marker: the last outbox seq committed, in the same Kafka transaction."""
        return self.topic("scv.carrier.relay.v1")

    @property
    def libpq_dsn(self) -> str:
        if self.store_dsn is None:
            raise CarrierStoreError("no scv database: set SCV_STORE_DSN (see `scv stack env`)")
        return self.store_dsn.get_secret_value().replace("postgresql+psycopg://", "postgresql://")
