"""What the pages read, as one interface: ``Sources``.

``console.live.LiveSources`` implements it over the stages' own reads (the views' serving
tables and replays, the quality summary, the quarantine topic and its replay, Kafka Connect,
Kafka offsets); the unit tests give the app a fake at this boundary. A read that cannot be done
now raises one of ``UNAVAILABLE``: the page shows that section as unavailable, with the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from confluent_kafka import KafkaException

from connectors.errors import ConnectorsError
from console.history import History
from console.lag import LagRow
from expectations.errors import ExpectationsError
from expectations.quarantine import QuarantineRecord
from kafkaio import GroupDescription, KafkaIOError, Partition
from transforms.errors import TransformsError
from views.errors import ViewsError
from views.order_store import OrderSummary, OrderTimeline
from views.positions import Key, Position
from views.store import WriterSession

#: The errors a read may end in while a service is away; anything else is a bug.
UNAVAILABLE: tuple[type[Exception], ...] = (
    KafkaIOError,
    KafkaException,
    ViewsError,
    ConnectorsError,
    ExpectationsError,
    TransformsError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What ``scv quarantine replay`` prints, as figures."""

    selected: int
    already_replayed: int
    replayed: int
    batches: int
    events: Counter[str] = field(default_factory=Counter)
    still_failing: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Instances:
    """Which processes run: the runners (the pipeline group's members, each with its assigned
    raw partitions) and the view processes (the sessions holding the serving schema's lock;
    one reads every canonical partition the views consume)."""

    runners: GroupDescription
    views_schema: str
    views: tuple[WriterSession, ...]
    views_partitions: tuple[Partition, ...]


class Sources(Protocol):
    def positions(
        self, site: str | None, item: str | None, as_of: datetime | None
    ) -> dict[Key, Position]:
        """The serving table, or (``as_of``) the canonical topics replayed up to that time."""

    def reorder_point(self, key: Key) -> Decimal | None: ...

    def history(self, points: int) -> History:
        """On-hand per position at ``points`` times up to now."""

    def alert_log(self) -> list[dict[str, Any]]:
        """Every alert record raised or resolved, oldest first."""

    def quality_summary(self, since: datetime | None) -> dict[str, Any]:
        """``expectations.report.summarize`` of the topics since ``since``."""

    def quarantine(self) -> list[QuarantineRecord]:
        """The quarantine topic's records, oldest first."""

    def replay(self, rule: str | None) -> ReplayOutcome:
        """``scv quarantine replay [--rule RULE]``."""

    def connectors(self) -> list[dict[str, Any]]:
        """One row per connector spec, as ``scv connectors status --json`` prints it."""

    def lag(self) -> list[LagRow]:
        """The pipeline's group and the views, per partition."""

    def find_orders(self, text: str, limit: int) -> list[str]:
        """Ids of the orders the views saw containing ``text`` (case-insensitive), sorted."""

    def order(self, order_id: str) -> OrderTimeline | None:
        """``scv order track ORDER_ID``: its state and timeline (None: never seen)."""

    def late_orders(self) -> list[OrderSummary]:
        """``scv order list --late``: open orders projected to miss their promise."""

    def instances(self) -> Instances:
        """The runner and views instances running now."""

    def scorecards(self) -> list[dict[str, Any]]:
        """``scv suppliers scorecard``'s rows: every supplier and window, worst OTIF first."""

    def demand(self, every: bool, limit: int) -> list[dict[str, Any]]:
        """``scv demand shifts [--all] --limit LIMIT``'s rows, largest departure first."""
