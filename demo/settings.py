"""Settings of the demo (`scv demo`) and of `scv run`: frozen objects, built once by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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


#: The services ``scv run`` can supervise (``demo.services.SERVICES``).
Service = Literal["pipeline", "views", "edi", "carrier", "console"]


class ServicesSettings(BaseModel):
    """``scv run``: which services, where their logs go, and the restart schedule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    services: tuple[Service, ...] = ("pipeline", "views")
    #: ``<log_dir>/<service>.log``, appended across restarts.
    log_dir: Path = Path("artifacts/run")
    #: First restart after this many seconds, each next one twice as late, at most
    #: ``backoff_max_s``; a child up ``stable_s`` starts the schedule again.
    backoff_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    stable_s: float = Field(default=60.0, gt=0)
    #: Seconds between two looks at the children.
    tick_s: float = Field(default=0.5, gt=0)
    #: Seconds a child may take to exit after SIGTERM before it is killed.
    stop_timeout_s: float = Field(default=60.0, gt=0)
