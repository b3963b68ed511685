"""Settings of the EDI stage: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_EDI_`` prefix (nested with
``__``); the Kafka bootstrap and the database fall back to ``SCV_KAFKA_BOOTSTRAP`` and
``SCV_STORE_DSN`` from ``scv stack env``. The document builders and the EPCIS export take what
they need from it as plain values (``gs1()``), never the settings object itself.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from edi.epcis import Gs1Identity
from edi.errors import UsageError
from edi.profile import PARTNERS_DIR
from transforms.events import (
    TOPIC_INBOUND,
    TOPIC_INVENTORY,
    TOPIC_ITEM,
    TOPIC_ORDER,
    TOPIC_SHIPMENT,
)

#: The canonical topics the documents are built from: order lines and picks, dispatches,
#: receipts, and the item master (GTINs and base units of receipts and the 846).
SOURCE_TOPICS = (TOPIC_ORDER, TOPIC_SHIPMENT, TOPIC_INBOUND, TOPIC_ITEM)

#: The canonical topics the EPCIS export reads: the EDI stage's and the probe readings.
EPCIS_SOURCE_TOPICS = (*SOURCE_TOPICS, TOPIC_INVENTORY)
#: The continuous EPCIS stream (``scv epcis run``) and the candidates it could not export.
TOPIC_EPCIS = "scv.epcis.v1"
TOPIC_EPCIS_REJECTS = "scv.epcis.rejects.v1"

_SCHEMA = r"^[a-z_][a-z0-9_]{0,62}$"


class EdiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCV_EDI_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    #: The directory of the partner profiles (``*.yaml``, one per partner).
    partners_dir: Path = PARTNERS_DIR
    #: GS1 company prefix of the goods owner (the simulator's keys use GS1's example prefix).
    gs1_company_prefix: str = Field(default="0614141", pattern=r"^\d{6,11}$")
    #: Site id → GLN location reference, where a site's id is not its location reference.
    gs1_site_locations: dict[str, str] = Field(default_factory=dict)
    #: URI prefix naming the class of an item without a GTIN (None: such events are rejected).
    gs1_item_class_fallback: str | None = None
    #: Canonical unit → UN/ECE Rec 20 code, for variable-measure units only (``KG: KGM``).
    gs1_measure_units: dict[str, str] = Field(default_factory=lambda: {"KG": "KGM"})

    # --- the stage (``scv edi run``) ------------------------------------------------------

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("SCV_EDI_KAFKA_BOOTSTRAP", "SCV_KAFKA_BOOTSTRAP"),
    )
    #: The ``scv`` database (not captured by CDC); SQLAlchemy or libpq URL.
    store_dsn: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SCV_EDI_STORE_DSN", "SCV_STORE_DSN")
    )
    #: PostgreSQL schema of the stage's tables; one ``scv edi run`` per schema.
    db_schema: str = Field(default="edi", pattern=_SCHEMA)
    #: Schema of the views' serving table ``inventory_positions`` the 846 reads (read only).
    positions_schema: str = Field(default="views", pattern=_SCHEMA)
    #: Where interchanges are written, one directory per partner (None: the CLI's default).
    outbox_dir: Path | None = None
    #: Prefix of the canonical topics read (tests).
    topic_prefix: str = ""
    batch_size: int = Field(default=2000, ge=1)
    batch_timeout_s: float = Field(default=0.5, gt=0)
    #: ``--until-idle``: stop after this long at the end of every partition.
    idle_s: float = Field(default=3.0, gt=0)
    #: How long a dispatch waits for order lines its picks name but the stream has not
    #: brought yet (the ERP and the WMS are two sources, not ordered with each other); then
    #: it is rejected (``pick_without_line``). ``--until-idle`` waits for it too.
    line_wait_s: float = Field(default=600.0, ge=0)
    #: Order lines and picks of an order not dispatched within this long are forgotten.
    order_retention_days: float = Field(default=30.0, gt=0)
    #: Whether ``scv edi run`` sends the partners' 846 on their schedules.
    schedule_846: bool = True
    #: Seconds between two looks at the 846 schedules.
    schedule_check_s: float = Field(default=10.0, gt=0)

    # --- the EPCIS stream (``scv epcis run``) -----------------------------------------------

    #: Consumer group whose committed offsets (committed in the producer's transactions) say
    #: how far the canonical topics have been exported.
    epcis_group: str = "scv-epcis"
    #: The run's ``transactional.id``: a restarted run fences the one before and aborts its
    #: open transaction. One ``scv epcis run`` per id.
    epcis_transactional_id: str = "scv-epcis-run"
    #: How long a candidate waits for the item or order lines it refers to (then it is built
    #: with what there is, or rejected).
    epcis_wait_s: float = Field(default=600.0, ge=0)
    epcis_partitions: int = Field(default=1, ge=1)
    epcis_replication: int = Field(default=1, ge=1)
    epcis_transaction_timeout_ms: int = Field(default=60_000, ge=1000)

    @property
    def epcis_source_topics(self) -> list[str]:
        return [self.topic(t) for t in EPCIS_SOURCE_TOPICS]

    @property
    def epcis_topics(self) -> tuple[str, str]:
        """The output topic and the rejects topic."""
        return self.topic(TOPIC_EPCIS), self.topic(TOPIC_EPCIS_REJECTS)

    def gs1(self) -> Gs1Identity:
        return Gs1Identity(
            company_prefix=self.gs1_company_prefix,
            site_locations=dict(self.gs1_site_locations),
            item_class_fallback=self.gs1_item_class_fallback,
            measure_units=dict(self.gs1_measure_units),
        )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def source_topics(self) -> list[str]:
        return [self.topic(t) for t in SOURCE_TOPICS]

    @property
    def line_wait(self) -> timedelta:
        return timedelta(seconds=self.line_wait_s)

    @property
    def order_retention(self) -> timedelta:
        return timedelta(days=self.order_retention_days)

    @property
    def libpq_dsn(self) -> str:
        if self.store_dsn is None:
            raise UsageError("no EDI database: set SCV_EDI_STORE_DSN or SCV_STORE_DSN")
        return self.store_dsn.get_secret_value().replace("postgresql+psycopg://", "postgresql://")

    @property
    def outbox(self) -> Path:
        if self.outbox_dir is None:
            raise UsageError("no partner outbox: set SCV_EDI_OUTBOX_DIR")
        return self.outbox_dir
