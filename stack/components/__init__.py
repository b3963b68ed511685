"""One module per stack component; :func:`all_components` gives them in start order."""

from __future__ import annotations

from stack.components.base import Component
from stack.components.connect import ConnectWorker
from stack.components.kafka import KafkaBroker
from stack.components.mariadb import MariaDB
from stack.components.postgres import PostgreSQL
from stack.credentials import Credentials
from stack.settings import StackSettings

__all__ = ["Component", "all_components"]


def all_components(settings: StackSettings, credentials: Credentials) -> list[Component]:
    """The components in start order (stop order is the reverse)."""
    return [
        PostgreSQL(settings, credentials),
        MariaDB(settings, credentials),
        *(KafkaBroker(settings, credentials, node) for node in range(1, settings.cluster_size + 1)),
        ConnectWorker(settings, credentials),
    ]
