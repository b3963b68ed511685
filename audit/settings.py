"""Settings of the audit trail: one frozen object, built once by the CLI.

``SCV_AUDIT_*`` variables; the database and the broker fall back to ``SCV_STORE_DSN`` and
``SCV_KAFKA_BOOTSTRAP`` (``scv stack env``).
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_AUDIT_", frozen=True, extra="ignore")

    #: The ``scv`` database (never captured by CDC); SQLAlchemy or libpq URL. No database, no
    #: audited action: the trail fails closed.
    store_dsn: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SCV_AUDIT_STORE_DSN", "SCV_STORE_DSN")
    )
    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("SCV_AUDIT_KAFKA_BOOTSTRAP", "SCV_KAFKA_BOOTSTRAP"),
    )
    db_schema: str = Field(default="audit", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    topic: str = "scv.audit.v1"
    topic_replication: int = Field(default=1, ge=1)
    #: Seconds the outbox waits for the broker to acknowledge its records.
    publish_timeout_s: float = Field(default=15.0, gt=0)

    @property
    def libpq_dsn(self) -> str | None:
        if self.store_dsn is None:
            return None
        return self.store_dsn.get_secret_value().replace("postgresql+psycopg://", "postgresql://")
