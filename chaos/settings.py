"""The fault suite's settings: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_CHAOS_`` prefix; the CLI fills the
endpoints from the running local stack.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChaosSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_CHAOS_", frozen=True, extra="forbid")

    kafka_bootstrap: str
    connect_url: str
    erp_dsn: SecretStr
    #: The read-only ERP user (``scv reconcile`` reads the sources with it).
    erp_read_dsn: SecretStr
    wms_dsn: SecretStr
    #: scv's own database: the simulator's ledger and the views' serving schema.
    store_dsn: SecretStr
    #: The stack's state directory: where ``scv stack up`` finds what it started.
    state_dir: Path
    #: Where each run writes its children's logs and its results (``<dir>/<run id>/``).
    out_dir: Path
    #: Names every pipeline, group and serving schema of this invocation (unique per run).
    run_id: str
    #: Business transactions per second the simulator writes during a scenario.
    rate: int = Field(default=50, ge=1, le=2000)
    #: Seed of the legacy world (``scv sim init``), new for every scenario run.
    world_seed: int = 23
    #: Seed of the traffic (``scv sim run``).
    traffic_seed: int = 31
    #: Longest wait for the chain to drain after the traffic stopped.
    drain_timeout_s: float = Field(default=900.0, gt=0)
    #: The raw topics count as caught up once their ends stood still this long.
    quiet_s: float = Field(default=4.0, gt=0)
    #: Connector names per source, as in ``connectors/specs``.
    connectors: dict[str, str] = Field(default_factory=lambda: {"erp": "erp", "wms": "wms"})
    #: The page ``--all`` rewrites the generated section of (None: no page).
    report_path: Path | None = None
    #: The commit the figures belong to (``git rev-parse --short HEAD``; None outside a checkout).
    commit: str | None = None
