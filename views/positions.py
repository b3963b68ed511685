"""Inventory positions per site x item from canonical events: pure arithmetic, no I/O.

Buckets (base unit, ``Decimal``), research note §7:

    on_hand      physical stock in the four walls, picked-not-shipped included
    allocated    committed to open sales-order lines (JDE soft + hard commit: entered until
                 shipped or cancelled)
    on_hold      part of on_hand that may not be sold (lot status, inspection)
    available    on_hand - allocated - on_hold            (derived, never stored)
    in_transit   advised by an ASN, not yet received
    on_order     still expected on open purchase-order lines
    reserved     allocated in the warehouse to a lot x location, not yet picked (WMS)
    picked       picked, not yet shipped (WMS)

Which event moves which bucket (nothing else moves a bucket, so nothing counts twice):

    inventory.balance_opened  on_hand, on_hold += opening stock of a balance row (once per
                              row: a load captured as inserts and read again by a
                              snapshot opens it once)
    goods.received            on_hand += qty; the ASN line leaves in_transit; on_order follows
                              the PO line's open quantity
    receipt.reversed          on_hand -= qty
    inventory.adjusted        on_hand += delta
    order.placed              allocated += line qty
    order.cancelled           allocated -= the line's remaining commitment
    order.line_changed        allocated follows a changed line quantity
    order.allocated           reserved += qty
    order.picked              reserved -= the allocated qty, picked += the picked qty (a cut
                              pick picks less than was allocated: the rest is released, and
                              the allocation ships what was picked)
    shipment.dispatched       the order's lines leave allocated; its picked stock leaves
                              picked and on_hand
    po.issued                 on_order += line qty
    po.changed (status 980)   the cancelled line leaves on_order (and in_transit if advised)
    inbound.advised           in_transit += qty (site from the PO line)

Documents are state machines (order line, allocation, order, PO line) kept in the ``Book``,
so each event moves a bucket at most once and late or replayed steps are ignored: a pick that
arrives after its order's dispatch (they travel on different topics) is shipped at once.
Events read by a snapshot (``source.snapshot``) set the documents' state but move no stock:
the balance read by the same snapshot already holds their history.

``Book.apply`` is the whole arithmetic; the view process, ``--as-of`` and the tests use it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from transforms.events import (
    CanonicalEvent,
    GoodsReceived,
    InboundAdvised,
    InventoryAdjusted,
    InventoryBalanceOpened,
    OrderAllocated,
    OrderCancelled,
    OrderLineChanged,
    OrderPicked,
    OrderPlaced,
    PoChanged,
    PoIssued,
    ReceiptReversed,
    ShipmentDispatched,
)

Key = tuple[str, str]
"""(site_id, item_id)"""

ZERO = Decimal(0)
#: JDE last status of a cancelled purchase-order line.
PO_CANCELLED = "980"
BUCKETS = (
    "on_hand",
    "allocated",
    "on_hold",
    "in_transit",
    "on_order",
    "reserved",
    "picked",
)


@dataclass(frozen=True, slots=True)
class Position:
    """One site x item: the stored buckets; ``available`` and ``projected`` are derived."""

    on_hand: Decimal = ZERO
    allocated: Decimal = ZERO
    on_hold: Decimal = ZERO
    in_transit: Decimal = ZERO
    on_order: Decimal = ZERO
    reserved: Decimal = ZERO
    picked: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.allocated - self.on_hold

    @property
    def projected(self) -> Decimal:
        """Available once everything in transit and on order has arrived."""
        return self.available + self.in_transit + self.on_order

    def __add__(self, other: Position) -> Position:
        return Position(*(getattr(self, b) + getattr(other, b) for b in BUCKETS))

    def __bool__(self) -> bool:
        return any(getattr(self, b) for b in BUCKETS)

    def as_dict(self) -> dict[str, Decimal]:
        return {b: getattr(self, b) for b in BUCKETS} | {"available": self.available}


def delta(**buckets: Decimal) -> Position:
    return Position(**buckets)


# --- documents -------------------------------------------------------------------------------


@dataclass(slots=True)
class OrderLine:
    site_id: str
    item_id: str
    committed: Decimal  # what this line holds in ``allocated`` now
    order_id: str
    promised_ship_date: date | None = None
    closed: bool = False


@dataclass(slots=True)
class Allocation:
    site_id: str
    item_id: str
    quantity: Decimal
    order_id: str
    stage: Literal["allocated", "picked", "shipped"] = "allocated"


@dataclass(slots=True)
class Order:
    site_id: str | None = None
    lines: list[str] = field(default_factory=list)
    allocations: list[str] = field(default_factory=list)
    shipped_at: datetime | None = None


@dataclass(slots=True)
class PoLine:
    site_id: str
    item_id: str
    open: Decimal  # held in on_order
    advised: Decimal = ZERO  # held in in_transit
    received: bool = False
    cancelled: bool = False


@dataclass(slots=True)
class Balance:
    """An opened balance row (site x item x location x lot): its opening counts once."""

    on_hand: Decimal


Doc = OrderLine | Allocation | Order | PoLine | Balance
_KINDS: dict[str, type[Doc]] = {
    "balance": Balance,
    "line": OrderLine,
    "allocation": Allocation,
    "order": Order,
    "po_line": PoLine,
}
_DATES = {"promised_ship_date": date.fromisoformat}
_TIMES = {"shipped_at": datetime.fromisoformat}


def doc_to_json(doc: Doc) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in asdict(doc).items():
        if isinstance(value, Decimal):
            out[name] = str(value)
        elif isinstance(value, date | datetime):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out


def doc_from_json(kind: str, data: Mapping[str, Any]) -> Doc:
    cls = _KINDS[kind]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if value is not None and f.name in _DATES:
            value = _DATES[f.name](value)
        elif value is not None and f.name in _TIMES:
            value = _TIMES[f.name](value)
        elif f.type in ("Decimal",):
            value = Decimal(value)
        values[f.name] = value
    return cls(**values)


# --- the book --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """What one event did to one position."""

    key: Key
    before: Position
    after: Position


class Book:
    """Positions plus the document state that makes every event move a bucket once."""

    def __init__(self) -> None:
        self.positions: dict[Key, Position] = {}
        self.lines: dict[str, OrderLine] = {}
        self.allocations: dict[str, Allocation] = {}
        self.orders: dict[str, Order] = {}
        self.po_lines: dict[str, PoLine] = {}
        self.balances: dict[str, Balance] = {}
        #: (kind, key) of documents changed since the last ``take_dirty``.
        self.dirty_docs: set[tuple[str, str]] = set()
        self.dirty_positions: set[Key] = set()

    # -- persistence helpers -------------------------------------------------------------------

    def _table(self, kind: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "balance": self.balances,
            "line": self.lines,
            "allocation": self.allocations,
            "order": self.orders,
            "po_line": self.po_lines,
        }
        return tables[kind]

    def load_doc(self, kind: str, key: str, data: Mapping[str, Any]) -> None:
        self._table(kind)[key] = doc_from_json(kind, data)

    def load_position(self, key: Key, position: Position) -> None:
        self.positions[key] = position

    def doc(self, kind: str, key: str) -> Doc | None:
        found: Doc | None = self._table(kind).get(key)
        return found

    def take_dirty(self) -> tuple[set[tuple[str, str]], set[Key]]:
        docs, positions = self.dirty_docs, self.dirty_positions
        self.dirty_docs, self.dirty_positions = set(), set()
        return docs, positions

    def _touch(self, kind: str, key: str) -> None:
        self.dirty_docs.add((kind, key))

    def position(self, key: Key) -> Position:
        return self.positions.get(key, Position())

    # -- the arithmetic ------------------------------------------------------------------------

    def apply(self, event: CanonicalEvent) -> list[Change]:
        """Apply one event; returns the positions it changed (before and after)."""
        deltas: dict[Key, Position] = {}
        for key, d in self._deltas(event):
            if d:
                deltas[key] = deltas.get(key, Position()) + d
        changes = []
        for key, d in deltas.items():
            before = self.position(key)
            after = before + d
            self.positions[key] = after
            self.dirty_positions.add(key)
            changes.append(Change(key, before, after))
        return changes

    def _deltas(self, event: CanonicalEvent) -> Iterator[tuple[Key, Position]]:
        flows = not event.source.snapshot  # a snapshot read states, it does not move stock
        site = event.site_id
        match event:
            case InventoryBalanceOpened() if site:
                yield from self._opened(event, site)
            case InventoryAdjusted() if site and flows:
                yield (site, event.item_id), delta(on_hand=event.delta)
            case GoodsReceived():
                yield from self._received(event, flows)
            case ReceiptReversed() if site and flows:
                yield (site, event.item_id), delta(on_hand=-event.quantity)
            case PoIssued() if site:
                yield from self._po_issued(event)
            case PoChanged() if event.status == PO_CANCELLED:
                yield from self._po_cancelled(event)
            case InboundAdvised():
                yield from self._advised(event)
            case OrderPlaced() if site:
                yield from self._placed(event)
            case OrderLineChanged():
                yield from self._line_changed(event)
            case OrderCancelled():
                yield from self._cancelled(event)
            case OrderAllocated() if site:
                yield from self._allocated(event, site, flows)
            case OrderPicked() if site:
                yield from self._picked(event, site, flows)
            case ShipmentDispatched():
                yield from self._dispatched(event, flows)
            case _:
                return

    def _opened(self, event: InventoryBalanceOpened, site: str) -> Iterator[tuple[Key, Position]]:
        # The same row can be opened twice: created by the go-live load while captured and
        # read again by a snapshot. Its opening counts once, the first time.
        key = f"{site}|{event.item_id}|{event.location or ''}|{event.lot or ''}"
        if key in self.balances:
            return
        self.balances[key] = Balance(event.on_hand)
        self._touch("balance", key)
        yield (site, event.item_id), delta(on_hand=event.on_hand, on_hold=event.on_hold)

    # outbound

    def _order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = Order()
        self._touch("order", order_id)
        return order

    def _placed(self, event: OrderPlaced) -> Iterator[tuple[Key, Position]]:
        assert event.site_id is not None
        if event.line_id in self.lines:
            return  # replayed
        order = self._order(event.order_id)
        order.site_id = event.site_id
        order.lines.append(event.line_id)
        closed = order.shipped_at is not None or (event.status or "") >= "560"
        line = OrderLine(
            site_id=event.site_id,
            item_id=event.item_id,
            committed=ZERO if closed else event.quantity,
            order_id=event.order_id,
            promised_ship_date=event.promised_ship_date,
            closed=closed,
        )
        self.lines[event.line_id] = line
        self._touch("line", event.line_id)
        if line.committed:
            yield (line.site_id, line.item_id), delta(allocated=line.committed)

    def _close_line(self, line_id: str) -> Iterator[tuple[Key, Position]]:
        line = self.lines.get(line_id)
        if line is None or line.closed:
            return
        line.closed = True
        released, line.committed = line.committed, ZERO
        self._touch("line", line_id)
        if released:
            yield (line.site_id, line.item_id), delta(allocated=-released)

    def _line_changed(self, event: OrderLineChanged) -> Iterator[tuple[Key, Position]]:
        line = self.lines.get(event.line_id)
        if line is None or line.closed or event.quantity is None:
            return
        if event.quantity != line.committed:
            change = event.quantity - line.committed
            line.committed = event.quantity
            self._touch("line", event.line_id)
            yield (line.site_id, line.item_id), delta(allocated=change)

    def _cancelled(self, event: OrderCancelled) -> Iterator[tuple[Key, Position]]:
        order = self.orders.get(event.order_id)
        line_ids = [event.line_id] if event.line_id else list(order.lines if order else [])
        for line_id in line_ids:
            yield from self._close_line(line_id)

    def _allocated(
        self, event: OrderAllocated, site: str, flows: bool
    ) -> Iterator[tuple[Key, Position]]:
        if event.allocation_id in self.allocations:
            return
        order = self._order(event.order_id)
        order.allocations.append(event.allocation_id)
        allocation = Allocation(site, event.item_id, event.quantity, event.order_id)
        self.allocations[event.allocation_id] = allocation
        self._touch("allocation", event.allocation_id)
        yield (site, event.item_id), delta(reserved=event.quantity)
        if order.shipped_at is not None:
            yield from self._ship(event.allocation_id, flows)

    def _picked(self, event: OrderPicked, site: str, flows: bool) -> Iterator[tuple[Key, Position]]:
        allocation = self.allocations.get(event.allocation_id)
        if allocation is None:
            # Picked with no allocation seen (a pick detail born picked): allocate it first.
            order = self._order(event.order_id)
            order.allocations.append(event.allocation_id)
            allocation = Allocation(site, event.item_id, event.quantity, event.order_id)
            self.allocations[event.allocation_id] = allocation
            yield (site, event.item_id), delta(reserved=event.quantity)
        if allocation.stage != "allocated":
            return
        allocation.stage = "picked"
        self._touch("allocation", event.allocation_id)
        # A cut pick: the picker found less than was allocated. The whole reservation ends;
        # what was picked is what ships.
        reserved, allocation.quantity = allocation.quantity, event.quantity
        yield (
            (allocation.site_id, allocation.item_id),
            delta(reserved=-reserved, picked=event.quantity),
        )
        owner = self.orders.get(event.order_id)
        if owner is not None and owner.shipped_at is not None:
            yield from self._ship(event.allocation_id, flows)

    def _ship(self, allocation_id: str, flows: bool) -> Iterator[tuple[Key, Position]]:
        allocation = self.allocations[allocation_id]
        if allocation.stage != "picked":
            return  # not picked yet: ships when its pick arrives
        allocation.stage = "shipped"
        self._touch("allocation", allocation_id)
        qty = allocation.quantity
        yield (
            (allocation.site_id, allocation.item_id),
            delta(picked=-qty, on_hand=-qty if flows else ZERO),
        )

    def _dispatched(self, event: ShipmentDispatched, flows: bool) -> Iterator[tuple[Key, Position]]:
        order = self._order(event.order_id)
        if order.shipped_at is not None:
            return
        order.shipped_at = event.occurred_at
        for line_id in order.lines:
            yield from self._close_line(line_id)
        for allocation_id in order.allocations:
            yield from self._ship(allocation_id, flows)

    # inbound

    def _po_issued(self, event: PoIssued) -> Iterator[tuple[Key, Position]]:
        assert event.site_id is not None
        if event.line_id in self.po_lines:
            return
        closed = (event.status or "") >= "400"
        line = PoLine(event.site_id, event.item_id, ZERO if closed else event.quantity)
        self.po_lines[event.line_id] = line
        self._touch("po_line", event.line_id)
        if line.open:
            yield (line.site_id, line.item_id), delta(on_order=line.open)

    def _po_cancelled(self, event: PoChanged) -> Iterator[tuple[Key, Position]]:
        line = self.po_lines.get(event.line_id)
        if line is None or line.cancelled:
            return
        line.cancelled = True
        self._touch("po_line", event.line_id)
        released = delta(on_order=-line.open, in_transit=-line.advised)
        line.open, line.advised = ZERO, ZERO
        yield (line.site_id, line.item_id), released

    def _advised(self, event: InboundAdvised) -> Iterator[tuple[Key, Position]]:
        line = self.po_lines.get(f"{event.po_id}/{event.asn_line}")
        if line is None or line.received or line.advised or line.cancelled:
            return
        line.advised = event.quantity
        self._touch("po_line", f"{event.po_id}/{event.asn_line}")
        yield (line.site_id, line.item_id), delta(in_transit=event.quantity)

    def _received(self, event: GoodsReceived, flows: bool) -> Iterator[tuple[Key, Position]]:
        site = event.site_id
        if site and flows:
            yield (site, event.item_id), delta(on_hand=event.quantity)
        line = self.po_lines.get(event.line_id)
        if line is None:
            return
        self._touch("po_line", event.line_id)
        d = Position()
        if line.advised and not line.received:
            d = d + delta(in_transit=-line.advised)
        line.received = True
        line.advised = ZERO
        if event.open_quantity is not None:
            still = max(ZERO, event.open_quantity)
        else:
            still = max(ZERO, line.open - event.quantity)
        d = d + delta(on_order=still - line.open)
        line.open = still
        yield (line.site_id, line.item_id), d


def replay(events: Iterable[CanonicalEvent], book: Book | None = None) -> Book:
    """Apply ``events`` in order to ``book`` (a new one by default), each ``event_id`` once
    (as the view process does with its ``applied_events``)."""
    book = book or Book()
    seen: set[uuid.UUID] = set()
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            book.apply(event)
    return book
