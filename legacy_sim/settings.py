"""The simulator's settings: where the three databases are, as one frozen object.

Built once by the CLI (from the running stack or ``SCV_SIM_*`` variables) and passed down;
nothing below the CLI reads the environment.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    """DSNs are SQLAlchemy URLs; they carry the owner users' passwords, hence ``SecretStr``."""

    model_config = SettingsConfigDict(env_prefix="SCV_SIM_", frozen=True, extra="forbid")

    #: ERP (PostgreSQL), database holding schema ``proddta``.
    erp_dsn: SecretStr
    #: WMS (MariaDB), database ``wmwhse1``.
    wms_dsn: SecretStr
    #: scv's own PostgreSQL database (never captured): the ground-truth ledger lives here.
    store_dsn: SecretStr
