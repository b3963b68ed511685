"""Order tracking for the orders page: find orders and tell one order's story.

``OrderTimelines`` is the seam: today ``TopicTimelines`` builds the timeline from the canonical
topics (``scv.order.v1`` keyed by order, ``scv.shipment.v1`` naming the order of each
shipment). When the views' order tracking (``views.orders``) lands, an implementation over its
serving tables takes its place in ``console.live.LiveSources`` and the page stays as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: Fields of a canonical event shown on a timeline entry, when present.
DETAIL_FIELDS = (
    "line_id", "item_id", "quantity", "base_uom", "status", "allocation_id", "location",
    "shipment_id", "carrier", "tracking_no", "reason", "cancelled_quantity",
    "promised_ship_date",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    occurred_at: str
    event_type: str
    system: str
    table: str
    site_id: str | None
    details: tuple[tuple[str, str], ...]
    event_id: str


class OrderTimelines(Protocol):
    def find(self, text: str, limit: int) -> list[str]:
        """Order ids containing ``text`` (case-insensitive), sorted."""

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        """Every event of the order, in the order it happened."""


def entry(payload: Mapping[str, Any]) -> TimelineEntry:
    source = payload.get("source") or {}
    return TimelineEntry(
        occurred_at=str(payload.get("occurred_at", "")),
        event_type=str(payload.get("event_type", "?")),
        system=str(source.get("system", "?")),
        table=str(source.get("table", "?")),
        site_id=payload.get("site_id"),
        details=tuple(
            (name, str(payload[name])) for name in DETAIL_FIELDS if payload.get(name) is not None
        ),
        event_id=str(payload.get("event_id", "")),
    )


class PayloadTimelines:
    """Timelines over canonical event payloads already read (``TopicTimelines`` reads them)."""

    def __init__(self, payloads: Iterable[Mapping[str, Any]]) -> None:
        self.by_order: dict[str, list[TimelineEntry]] = {}
        seen: set[str] = set()
        for payload in payloads:
            order_id = payload.get("order_id")
            event_id = str(payload.get("event_id", ""))
            if not order_id or event_id in seen:
                continue
            seen.add(event_id)
            self.by_order.setdefault(str(order_id), []).append(entry(payload))
        for entries in self.by_order.values():
            entries.sort(key=lambda e: e.occurred_at)

    def find(self, text: str, limit: int) -> list[str]:
        wanted = text.strip().lower()
        return sorted(o for o in self.by_order if wanted in o.lower())[:limit]

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        return list(self.by_order.get(order_id, ()))
