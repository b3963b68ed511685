"""Runtime settings of ``scv connectors``: one frozen object, built once by the CLI."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConnectorsSettings(BaseSettings):
    """Where Connect, Kafka and the sources are, and the secrets the checks need.

    Environment variables use the ``SCV_CONNECTORS_`` prefix, e.g.
    ``SCV_CONNECTORS_CONNECT_URL=http://connect:8083``. The CLI fills the defaults from the
    local stack.
    """

    model_config = SettingsConfigDict(env_prefix="SCV_CONNECTORS_", frozen=True, extra="forbid")

    connect_url: str = "http://127.0.0.1:18083"
    kafka_bootstrap: str = "127.0.0.1:19092"
    #: Secrets by environment-variable name: what the worker resolves for ``${env:NAME}``. The
    #: CLI needs them for the pre-flight checks (as the CDC user) and the masking of output.
    secrets: Mapping[str, SecretStr] = Field(default_factory=dict)
    #: Java client properties for Debezium's own Kafka clients (the MariaDB schema history):
    #: the worker's view of the cluster's security (``${env:NAME}`` for secrets). The CLI
    #: fills them from a secure local stack.
    kafka_security: Mapping[str, str] = Field(default_factory=dict)
    #: Owner connections (SQLAlchemy-style URLs) by connector name: they create the publication
    #: and the control tables, and send signals.
    owner_dsns: Mapping[str, SecretStr] = Field(default_factory=dict)
    #: Seconds ``apply``/``resume``/``restart`` wait for RUNNING.
    wait_timeout: float = 120.0
    #: HTTP: seconds per request, and how long 409 (rebalance) / connection errors are retried.
    http_timeout: float = 30.0
    retry_for: float = 30.0
    #: Data-loss warnings: retained WAL above this, or binlog head-room below this.
    wal_warn_bytes: int = 1 << 30
    binlog_headroom_warn_s: int = 24 * 3600

    def secret_values(self) -> dict[str, str]:
        return {name: value.get_secret_value() for name, value in self.secrets.items()}
