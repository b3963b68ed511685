"""Settings of the local stack: one frozen object, built once by the CLI and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root: the Maven project and the default state directory hang off it.
REPO_ROOT = Path(__file__).resolve().parent.parent


class StackSettings(BaseSettings):
    """Where the stack keeps its state and which loopback ports it uses.

    Every field can be set from the environment with the ``SCV_`` prefix, for example
    ``SCV_STATE_DIR=/tmp/scv`` or ``SCV_KAFKA_PORT=29092``.
    """

    model_config = SettingsConfigDict(env_prefix="SCV_", frozen=True, extra="ignore")

    state_dir: Path = Field(default=REPO_ROOT / ".scv")
    #: Maven-resolved jars; default ``<state_dir>/cache``. Survives ``down --purge``.
    jar_cache: Path | None = None
    host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    connect_port: int = 18083
    postgres_port: int = 15432
    mariadb_port: int = 13306
    #: ``scv stack up --brokers 3``: a KRaft cluster of three combined broker+controller nodes
    #: (a quorum of three), replication factor 3 and ``min.insync.replicas=2`` everywhere.
    #: Node ``n`` (1-based) listens on ``kafka_port + 2(n-1)``, its controller on
    #: ``kafka_controller_port + 2(n-1)``. Recorded in the state directory by the first ``up``.
    brokers: int = 1
    kafka_heap: str = "512m"
    connect_heap: str = "1g"
    #: Seconds each component may take to become healthy after it was started.
    start_timeout: float = 180.0
    #: ``scv stack up --secure`` (or ``SCV_SECURE=1``): Kafka on SASL_SSL (SCRAM-SHA-512) with
    #: mutual TLS to its controller, Connect's REST API behind basic auth. Recorded in the
    #: state directory by the first secure ``up``; a secure stack stays secure until purged.
    secure: bool = False
    #: ``scv stack up --supervise``: the first restart of a dead component after this many
    #: seconds, each next one twice as late, at most ``restart_backoff_max_s``; a component
    #: up ``restart_stable_s`` since its restart starts the schedule again.
    restart_backoff_s: float = Field(default=1.0, gt=0)
    restart_backoff_max_s: float = Field(default=60.0, gt=0)
    restart_stable_s: float = Field(default=60.0, gt=0)

    @property
    def secure_marker(self) -> Path:
        return self.conf_dir / "secure"

    @property
    def is_secure(self) -> bool:
        return self.secure or self.secure_marker.exists()

    @field_validator("brokers")
    @classmethod
    def _one_or_three(cls, value: int) -> int:
        if value not in (1, 3):
            raise ValueError("must be 1 or 3")
        return value

    @property
    def brokers_marker(self) -> Path:
        return self.conf_dir / "brokers"

    @property
    def cluster_size(self) -> int:
        """How many brokers this state directory's stack has: as recorded by its first ``up``
        (``brokers_marker``), else as set."""
        try:
            return int(self.brokers_marker.read_text().strip())
        except FileNotFoundError:
            return self.brokers

    def broker_port(self, node: int) -> int:
        return self.kafka_port + 2 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.kafka_controller_port + 2 * (node - 1)

    @property
    def cache_dir(self) -> Path:
        """Maven-resolved jars; survives ``down --purge`` so a purge does not re-download."""
        return self.jar_cache if self.jar_cache is not None else self.state_dir / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def conf_dir(self) -> Path:
        return self.state_dir / "conf"

    @property
    def kafka_bootstrap(self) -> str:
        """Every broker: a client that lost one still finds the others."""
        nodes = range(1, self.cluster_size + 1)
        return ",".join(f"{self.host}:{self.broker_port(n)}" for n in nodes)

    @property
    def connect_url(self) -> str:
        return f"http://{self.host}:{self.connect_port}"
