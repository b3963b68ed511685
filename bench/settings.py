"""The benchmark's settings: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_BENCH_`` prefix; the CLI fills the
endpoints from the running local stack and the sizes from ``--quick``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BenchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_BENCH_", frozen=True, extra="forbid")

    kafka_bootstrap: str
    connect_url: str
    erp_dsn: SecretStr
    wms_dsn: SecretStr
    #: scv's own database: the simulator's ledger.
    store_dsn: SecretStr
    #: Names the benchmark's groups, transactional ids and topic prefix (unique per run).
    run_id: str
    quick: bool = False
    #: Runner (and passthrough) instances sharing the raw partitions through the group.
    instances: int = Field(default=1, ge=1, le=8)
    #: Business transactions written while the connectors are stopped (B3), which with the
    #: seed data are the backlog of B1 and B2.
    backlog_tx: int = Field(default=6000, ge=10)
    #: B1 drains the backlog this many times; its figure is the median drain.
    b1_runs: int = Field(default=3, ge=1)
    #: Target source changes/s of the steady-rate steps (B4), lowest first.
    rates: tuple[int, ...] = (100, 500, 1000, 2000, 3000)
    #: Seconds each steady-rate step writes.
    step_s: float = Field(default=45.0, gt=0)
    #: After a step, how long to wait for its last events.
    settle_s: float = Field(default=20.0, gt=0)
    #: Connector names per source, as in ``connectors/specs``.
    connectors: dict[str, str] = Field(default_factory=lambda: {"erp": "erp", "wms": "wms"})
    #: The raw change topics (the runner's ``source_pattern``).
    source_pattern: str = r"^(erp\.proddta|wms\.wmwhse1)\..+"
    sim_seed: int = 7
    keep_topics: bool = False
    #: Record py-spy profiles (collapsed stacks) of the B2 runner instances into this folder.
    profile_dir: Path | None = None

    @property
    def prefix(self) -> str:
        """Prefix of every topic, group and transactional id of this run."""
        return f"bench-{self.run_id}"
