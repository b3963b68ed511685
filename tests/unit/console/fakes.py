"""A ``console.sources.Sources`` over data held in memory: the boundary the unit tests fake."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from console.history import History
from console.lag import LagRow, lag_rows
from console.sources import Instances, ReplayOutcome
from expectations.quarantine import QuarantineRecord
from expectations.report import GatedEvent, summarize
from kafkaio import GroupDescription, GroupMember
from views.order_store import OrderSummary, OrderTimeline
from views.orders import Step
from views.positions import Key, Position
from views.store import WriterSession

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MS0 = int(T0.timestamp() * 1000)


def quarantined(offset: int, rule: str, kind: str = "order.placed") -> QuarantineRecord:
    headers: list[tuple[str, bytes | None]] = [
        ("scv_quarantine_stage", b"gate"),
        ("scv_original_topic", b"erp.proddta.f4211"),
        ("scv_original_partition", b"0"),
        ("scv_original_offset", str(100 + offset).encode()),
        ("__rule.name", rule.encode()),
        ("dq.failed_rules", json.dumps([rule]).encode()),
        ("dq.event_type", kind.encode()),
        ("scv_quarantine_detail", b"order.placed: 'PO-SECRET-1' is not a number; sdan8=4242"),
    ]
    value = {"after": {"sddoco": 7, "sdvr01": "PO-SECRET-1", "sduorg": -100}}
    return QuarantineRecord(
        0, offset, MS0 + offset * 1000, b'{"sddoco":"7"}', json.dumps(value).encode(),
        tuple(headers),
    )  # fmt: skip


def alert(n: int, action: str, kind: str = "below_reorder_point", **fields: Any) -> dict[str, Any]:
    return {
        "alert_id": f"00000000-0000-0000-0000-{n:012d}",
        "episode_id": f"11111111-0000-0000-0000-{fields.pop('episode', n):012d}",
        "kind": kind,
        "action": action,
        "severity": "warning",
        "subject": fields.get("subject", f"S{n}"),
        "message": f"message {n}",
        "occurred_at": f"2026-11-27T12:{n:02d}:00+00:00",
        **fields,
    }


class FakeSources:
    def __init__(self) -> None:
        self.table: dict[Key, Position] = {
            ("20001", "BOLT-1"): Position(on_hand=Decimal("100"), allocated=Decimal("5")),
            ("20001", "NUT-2"): Position(on_hand=Decimal("10.50")),
            ("30001", "BOLT-1"): Position(on_hand=Decimal("0"), on_order=Decimal("40")),
        }
        self.replayed_table: dict[Key, Position] = {("20001", "BOLT-1"): Position(Decimal(7))}
        self.as_of: list[datetime | None] = []
        self.log: list[dict[str, Any]] = []
        self.records = [quarantined(1, "quantity_positive"), quarantined(2, "status_known")]
        self.replays: list[str | None] = []
        self.failing: Exception | None = None
        self.tracked: dict[str, OrderTimeline] = {}
        self.runners = (
            GroupMember("scv-pipeline-1", "/10.0.0.7", "m-1",
                        (("erp.proddta.f4211", 0), ("erp.proddta.f4211", 1), ("wms.orders", 0))),
        )  # fmt: skip
        self.view_sessions = (WriterSession(4242, "10.0.0.8", "", T0),)
        self.cards: list[dict[str, Any]] = [
            {
                "supplier_id": "4343",
                "window_days": 7,
                "as_of": T0,
                "lines": 6,
                "timed": 6,
                "on_time": 5,
                "in_full": 6,
                "otif": 5,
                "ordered": Decimal("600.0"),
                "filled": Decimal("540"),
                "on_time_rate": Decimal("0.8333"),
                "in_full_rate": Decimal("1"),
                "otif_rate": Decimal("0.8333"),
                "fill_rate": Decimal("0.9"),
                "avg_lead_days": Decimal("4.50"),
                "p90_lead_days": 7,
                "avg_quoted_days": None,
                "late_open_lines": 1,
            },
            {
                "supplier_id": "4344",
                "window_days": 30,
                "as_of": T0,
                "lines": 2,
                "timed": 0,
                "on_time": 0,
                "in_full": 1,
                "otif": 0,
                "ordered": Decimal("20"),
                "filled": Decimal("10"),
                "on_time_rate": None,
                "in_full_rate": Decimal("0.5"),
                "otif_rate": None,
                "fill_rate": Decimal("0.5"),
                "avg_lead_days": None,
                "p90_lead_days": None,
                "avg_quoted_days": None,
                "late_open_lines": 0,
            },
        ]
        self.series: list[dict[str, Any]] = [
            {
                "series": "20001|BOLT-1",
                "site_id": "20001",
                "item_id": "BOLT-1",
                "bucket_start": T0,
                "quantity": 90.0,
                "baseline": 30.0,
                "sd": 10.0,
                "z": 6.0,
                "shift": "up",
                "since": T0,
                "last_order": T0,
                "total": 400.0,
                "lines": 12,
            },
            {
                "series": "20001|NUT-2",
                "site_id": "20001",
                "item_id": "NUT-2",
                "bucket_start": T0,
                "quantity": 3.0,
                "baseline": 3.25,
                "sd": 1.0,
                "z": -0.25,
                "shift": None,
                "since": None,
                "last_order": T0,
                "total": 40.0,
                "lines": 9,
            },
        ]
        self.demand_asked: list[tuple[bool, int]] = []

    def _fail(self) -> None:
        if self.failing is not None:
            raise self.failing

    def positions(
        self, site: str | None, item: str | None, as_of: datetime | None
    ) -> dict[Key, Position]:
        self._fail()
        self.as_of.append(as_of)
        found = self.table if as_of is None else self.replayed_table
        return {k: p for k, p in found.items() if site is None or k[0] == site}

    def reorder_point(self, key: Key) -> Decimal | None:
        return Decimal(20)

    def history(self, points: int) -> History:
        self._fail()
        return History((MS0, MS0 + 1000), {("20001", "BOLT-1"): (Decimal(50), Decimal(100))})

    def alert_log(self) -> list[dict[str, Any]]:
        self._fail()
        return list(self.log)

    def quality_summary(self, since: datetime | None) -> dict[str, Any]:
        self._fail()
        events = [
            GatedEvent({"event_type": "order.placed", "source": {"snapshot": True}}, MS0 + i)
            for i in range(1998)
        ]
        return summarize(events, self.records, since=since, now=T0)

    def quarantine(self) -> list[QuarantineRecord]:
        self._fail()
        return list(self.records)

    def replay(self, rule: str | None) -> ReplayOutcome:
        self.replays.append(rule)
        return ReplayOutcome(2, 0, 2, 1, Counter({"order.placed": 2}), Counter())

    def connectors(self) -> list[dict[str, Any]]:
        self._fail()
        return [
            {"name": "erp", "state": "RUNNING", "tasks": [{"id": 0, "state": "RUNNING"}],
             "running": True, "trace": [],
             "data_loss_risk": {"level": "ok", "summary": "slot active, 1.0 MiB retained"}},
        ]  # fmt: skip

    def lag(self) -> list[LagRow]:
        self._fail()
        return lag_rows("pipeline group g", {("erp.proddta.f4211", 0): 90},
                        {("erp.proddta.f4211", 0): 100, ("erp.proddta.f4211", 1): 3})  # fmt: skip

    def find_orders(self, text: str, limit: int) -> list[str]:
        self._fail()
        return sorted(o for o in self.tracked if text.lower() in o.lower())[:limit]

    def order(self, order_id: str) -> OrderTimeline | None:
        self._fail()
        return self.tracked.get(order_id)

    def late_orders(self) -> list[OrderSummary]:
        self._fail()
        late = [t.summary for t in self.tracked.values() if t.summary.late]
        return sorted(late, key=lambda s: (-s.days_late, s.order_id))

    def instances(self) -> Instances:
        self._fail()
        return Instances(
            GroupDescription("g", "STABLE" if self.runners else "EMPTY", self.runners),
            "views",
            self.view_sessions,
            (("scv.inventory.v1", 0), ("scv.inventory.v1", 1)),
        )

    def scorecards(self) -> list[dict[str, Any]]:
        self._fail()
        return list(self.cards)

    def demand(self, every: bool, limit: int) -> list[dict[str, Any]]:
        self._fail()
        self.demand_asked.append((every, limit))
        return [r for r in self.series if every or r["shift"]][:limit]


def summary(order_id: str, days_late: int = 0, status: str = "shipped") -> OrderSummary:
    return OrderSummary(
        order_id, "20001", status, "on the truck", Decimal(10), Decimal("8.0"), True,
        date(2026, 11, 28), date(2026, 11, 30), date(2026, 11, 30) + timedelta(days_late),
        "carrier ETA" if days_late else "transit days", days_late, days_late > 0,
        "dispatched", T0,
    )  # fmt: skip


def step(order_id: str, n: int, name: str, system: str, **fields: Any) -> Step:
    at = T0 + timedelta(hours=n)
    return Step(order_id, uuid.UUID(int=n), name, at, system, at + timedelta(seconds=2),
                fields.pop("detail", ""), **fields)  # fmt: skip
