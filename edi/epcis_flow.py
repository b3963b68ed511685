"""Which EPCIS events the canonical stream makes, and when: the pure core of ``scv epcis``.

``Flow`` takes canonical events one by one (``take``) and keeps what the EPCIS events need
besides the event itself: the item master (GTINs), and per open order its lines, picks and
the cartons they were packed in (``order.packed``: the shipping event's SSCCs).
The four kinds of events that become EPCIS events (``CANDIDATES``: receipts, picks,
dispatches, probe readings) wait in ``held`` until ``release`` finds them ready:

- the stream has been read past the time the candidate was published on every partition
  (``stream_time``, as the EDI stage measures it), so what it refers to and was published
  before it has been read; and
- what it refers to is there (the item of a receipt or pick; a dispatch's order lines and
  their items), or it has waited ``wait`` for it (then it is built with what there is, and
  rejected if that is not enough: ``missing_gtin``, ``pick_without_line``, ...).

A released candidate becomes an ``Emitted`` EPCIS event or a ``Rejected`` with the reason of
``edi.epcis``; either way it is *decided*, and a canonical event decided once (the same
``event_id`` read again: a replay upstream) is counted as a duplicate and never decided
twice. Events read by a snapshot are history, not new facts, and are not exported (as the
EDI stage does). Two candidates whose EPCIS content is the same would share one eventID: the
later one is ``distinguished`` by its source event id (``edi.epcis``).

``remember`` tells a flow what was decided before (the continuous run reads it back from its
own output topics when it starts), so a restart that replays the canonical topics rebuilds
the state without deciding anything twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pydantic

from edi.documents import ShippedOrder
from edi.epcis import (
    Gs1Identity,
    distinguished,
    picking_event,
    receiving_event,
    shipping_event,
    temperature_event,
)
from edi.errors import EpcisRejected
from edi.plan import Consumed, OpenOrder, Unreadable, Where
from transforms.events import (
    CanonicalEvent,
    GoodsReceived,
    ItemUpserted,
    OrderCancelled,
    OrderLineChanged,
    OrderPacked,
    OrderPicked,
    OrderPlaced,
    ShipmentDispatched,
    TemperatureRecorded,
    from_json,
)

#: The canonical event types that become EPCIS events.
CANDIDATES = frozenset(
    {"goods.received", "order.picked", "shipment.dispatched", "temperature.recorded"}
)
#: The ones read for what the candidates refer to.
REFERENCES = frozenset(
    {"order.placed", "order.line_changed", "order.cancelled", "order.packed", "item.upserted"}
)
READ = CANDIDATES | REFERENCES
_DETAIL_CHARS = 1000

Candidate = GoodsReceived | OrderPicked | ShipmentDispatched | TemperatureRecorded


def read_event(
    value: bytes | None, ce_type: bytes | None, where: Where, published: datetime
) -> Consumed | Unreadable | None:
    """A record → its event, why it cannot be read, or None when the export does not read
    its type (told by the ``ce_type`` header without parsing). Never raises for a record."""
    if value is None:
        return None
    if ce_type is not None and ce_type.decode("utf-8", "replace") not in READ:
        return None
    try:
        event = from_json(value)
    except pydantic.ValidationError as exc:
        return Unreadable(where, "invalid_event", str(exc)[:_DETAIL_CHARS])
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (the safety net: rejected with its type)
        return Unreadable(where, "invalid_event", f"{type(exc).__name__}: {exc}"[:_DETAIL_CHARS])
    if event.event_type not in READ:
        return None
    return Consumed(event, published, where)


@dataclass(frozen=True, slots=True)
class Emitted:
    """One EPCIS event made from the canonical event ``source``."""

    source: uuid.UUID
    source_type: str
    event: dict[str, Any]
    published: datetime

    @property
    def event_id(self) -> str:
        return str(self.event["eventID"])


@dataclass(frozen=True, slots=True)
class Rejected:
    """A candidate (or an unreadable record: ``source`` None) that makes no EPCIS event."""

    source: uuid.UUID | None
    source_type: str | None
    reason: str
    detail: str
    where: Where | None = None


Outcome = Emitted | Rejected


@dataclass(slots=True)
class FlowStats:
    taken: int = 0
    duplicates: int = 0
    #: Candidates read by a snapshot (history): not exported.
    history: int = 0


@dataclass(slots=True)
class Flow:
    identity: Gs1Identity
    items: dict[str, str | None] = field(default_factory=dict)
    orders: dict[str, OpenOrder] = field(default_factory=dict)
    held: dict[uuid.UUID, Consumed] = field(default_factory=dict)
    decided: set[uuid.UUID] = field(default_factory=set)
    event_ids: set[str] = field(default_factory=set)
    stats: FlowStats = field(default_factory=FlowStats)

    def remember(self, source: uuid.UUID, event_id: str | None) -> None:
        """``source`` was decided before (``event_id``: the EPCIS event it made, if any)."""
        self.decided.add(source)
        self.held.pop(source, None)
        if event_id is not None:
            self.event_ids.add(event_id)

    def take(self, item: Consumed | Unreadable) -> Rejected | None:
        """One record read: the state updated, a candidate held (or an unreadable rejected)."""
        if isinstance(item, Unreadable):
            return Rejected(None, None, item.reason, item.detail, item.where)
        self.stats.taken += 1
        event = item.event
        match event:
            case ItemUpserted():
                self.items[event.item_id] = event.gtin
            case OrderPlaced():
                self._order(event.order_id).lines.setdefault(event.line_id, event)
            case OrderLineChanged() if event.order_id in self.orders:
                lines = self.orders[event.order_id].lines
                line = lines.get(event.line_id)
                if line is not None and event.quantity is not None:
                    lines[event.line_id] = line.model_copy(update={"quantity": event.quantity})
            case OrderCancelled() if event.order_id in self.orders and event.line_id:
                self.orders[event.order_id].cancelled.add(event.line_id)
            case OrderPacked():
                self._order(event.order_id).pack(event)
            case GoodsReceived() | OrderPicked() | ShipmentDispatched() | TemperatureRecorded():
                self._candidate(item, event)
            case _:
                pass  # a reference to an order not open here (cancelled as a whole: no more)
        return None

    def _order(self, order_id: str) -> OpenOrder:
        return self.orders.setdefault(order_id, OpenOrder())

    def _candidate(self, item: Consumed, event: Candidate) -> None:
        if isinstance(event, OrderPicked):
            # The dispatch's shipping event lists the picks, whatever becomes of this one.
            self._order(event.order_id).picks.setdefault(event.allocation_id, event)
        if event.event_id in self.decided or event.event_id in self.held:
            self.stats.duplicates += 1
            return
        if event.source.snapshot:
            self.stats.history += 1
            return
        self.held[event.event_id] = item

    # -- release -------------------------------------------------------------------------------

    def ready(
        self, item: Consumed, stream_time: datetime | None, now: datetime, wait: timedelta
    ) -> bool:
        if stream_time is not None and item.published >= stream_time:
            return False
        return self._complete(item.event) or now - item.published >= wait

    def _complete(self, event: CanonicalEvent) -> bool:
        if isinstance(event, GoodsReceived | OrderPicked):
            return event.item_id in self.items
        if isinstance(event, ShipmentDispatched):
            order = self.orders.get(event.order_id)
            if order is None or order.lines_missing() or not order.picks:
                return False
            return all(line.item_id in self.items for line in order.lines.values())
        return True

    def release(
        self, stream_time: datetime | None, now: datetime, wait: timedelta
    ) -> list[Outcome]:
        """Decide every held candidate that is ready, oldest first (``stream_time`` None:
        every partition read to its end)."""
        ready = [item for item in self.held.values() if self.ready(item, stream_time, now, wait)]
        ready.sort(key=lambda c: (c.published, c.where.topic, c.where.partition, c.where.offset))
        return [self._decide(item) for item in ready]

    def _decide(self, item: Consumed) -> Outcome:
        event = item.event
        del self.held[event.event_id]
        self.decided.add(event.event_id)
        try:
            built = self._build(event)
        except EpcisRejected as exc:
            return Rejected(event.event_id, event.event_type, exc.reason, exc.detail, item.where)
        finally:
            if isinstance(event, ShipmentDispatched):
                self.orders.pop(event.order_id, None)
        if built["eventID"] in self.event_ids:
            built = distinguished(built, str(event.event_id))
        self.event_ids.add(built["eventID"])
        return Emitted(event.event_id, event.event_type, built, item.published)

    def _build(self, event: CanonicalEvent) -> dict[str, Any]:
        identity = self.identity
        match event:
            case GoodsReceived():
                return receiving_event(event, identity, gtin=self.items.get(event.item_id))
            case OrderPicked():
                return picking_event(event, identity, gtin=self.items.get(event.item_id))
            case ShipmentDispatched():
                return shipping_event(self._shipped(event), identity)
            case TemperatureRecorded():
                return temperature_event(event, identity)
        raise AssertionError(f"not a candidate: {event.event_type}")

    def _shipped(self, event: ShipmentDispatched) -> ShippedOrder:
        order = self.orders.get(event.order_id) or OpenOrder()
        picks = order.packed_picks()
        picked_lines = {p.line_id for p in picks}
        lines = tuple(
            self._with_gtin(line)
            for line_id, line in order.lines.items()
            if line_id not in order.cancelled or line_id in picked_lines
        )
        return ShippedOrder(event, lines, picks)

    def _with_gtin(self, line: OrderPlaced) -> OrderPlaced:
        gtin = self.items.get(line.item_id)
        if line.gtin or not gtin:
            return line
        return line.model_copy(update={"gtin": gtin})


def export_events(
    flow: Flow, records: Iterable[Consumed | Unreadable], now: datetime
) -> list[Outcome]:
    """Every record of a finished read taken, then everything held decided (no wait: the
    read went to the end of every partition, nothing more will come)."""
    rejected = [r for r in (flow.take(item) for item in records) if r is not None]
    return [*rejected, *flow.release(None, now, timedelta(0))]
