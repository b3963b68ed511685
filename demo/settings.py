"""Settings of the demo: one frozen object, built once by the CLI."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DemoSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: How long the simulator writes legacy traffic.
    duration_s: float = Field(default=120.0, gt=0)
    #: Business transactions per second (each is ~10-20 source row changes).
    rate: float = Field(default=15.0, gt=0)
    anomalies: float = Field(default=0.01, ge=0, le=1)
    seed: int = 7
    #: Where logs of the background processes, the verify output and the report go.
    out_dir: Path = Path("artifacts/demo")
    #: Port of the web console (``scv serve``) the demo starts for its run.
    console_port: int = Field(default=18080, ge=1, le=65535)
    #: Stop the stack at the end.
    down: bool = False
    #: Seconds the pipeline and the views may take to catch up after the simulator stops.
    drain_timeout_s: float = Field(default=180.0, gt=0)
