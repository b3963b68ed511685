"""Settings of the web console: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_CONSOLE_`` prefix
(``SCV_CONSOLE_TOKEN``, ``SCV_CONSOLE_PORT``...).
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_CONSOLE_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=18080, ge=0, le=65535)
    #: The sign-in token. Required when ``host`` is not a loopback address (the CLI takes it
    #: from the local stack's secrets when not set); with it, every page asks for it once.
    token: SecretStr | None = None
    #: Seconds between two polls of the live parts of a page (open alerts, pipeline).
    poll_s: float = Field(default=1.0, gt=0, le=60)
    #: Seconds a read of the topics (quality, history, lag) is reused before it is read again.
    cache_s: float = Field(default=5.0, ge=0)
    #: Points of the on-hand sparkline per site x item.
    sparkline_points: int = Field(default=24, ge=2, le=200)
    #: Recent alerts listed (raised or resolved, newest first).
    recent_alerts: int = Field(default=100, ge=1)

    @property
    def on_loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address; anything else (``0.0.0.0`` too) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
