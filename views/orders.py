"""Order tracking: one order's timeline across the ERP and WMS, its promise against its
projection, and the ``short_shipment`` and ``late_delivery`` exceptions. Pure: no I/O.

Every canonical event of an order becomes a *step* of its timeline (``placed`` per line,
``line_changed``, ``cancelled``, ``allocated``, ``picked``, ``packed`` (``order.packed``, or
a pick that names its carton), ``dispatched``, ``delivered``), with the source system and the
source commit time (``recorded_at``) it came from. ``OrderTracker`` keeps the state behind it
per order (lines, allocations, dispatches, open episodes) and says what changed, for
``views.order_store`` to write in the view process's batch transaction.

**Clocks.** Whether an order was shipped short, or will miss its promise, is a judgement *as
of a time*: the picks of an order travel on ``scv.order.v1`` (keyed by order), its dispatch on
``scv.shipment.v1`` (keyed by shipment), and the view process reads the partitions at their own
pace. A judgement made on a global clock (the latest time read anywhere) is made while the
order's own partition may still hold earlier picks: the alert is raised, then resolved when
they arrive. So each order is judged on the clock of *its* partition of the order topic (kept
with the order): a partition's clock per source system is the latest source commit time read
on it (snapshot reads aside: they have no commit order). An order's partition is *settled*
up to the earliest of its systems' clocks: every change of those sources committed up to then
on that partition has been read (the pipeline maps each source in commit order).

Rules (dates are the site's local dates, from the event's ``occurred_tz_offset``):

    ordered    per line, the quantity of ``order.placed`` (base unit), as later changed by
               ``order.line_changed``; a cancelled line orders nothing
    shipped    per line, the quantity of every picked allocation of the line
    short      judged once the order's partition is settled past the latest dispatch's commit
               time: some non-cancelled line with shipped < ordered. Raised once; resolved
               when a later judgement (a further dispatch, a late pick) finds every line
               covered, or at delivery (the exception has run its course)
    promised   promised delivery = the earliest promised delivery date of the open lines
               (else promised ship + transit); promised ship = the earliest promised ship date
    transit    promised delivery - promised ship, in days, when both are known; else the
               ``default_transit_days`` setting
    projected  delivered: the delivery date; a carrier ETA (``shipment.eta_changed``): its
               date in the site (the ETA of the latest update by the carrier's own time:
               the carrier posts out of order, and a replayed older update changes nothing);
               dispatched: dispatch date + transit (judged once settled past the dispatch);
               not dispatched: max(promised ship, today) + transit, where today is the date
               of min(the order partition's settled time, every shipment partition's clock):
               only then can no dispatch committed before it be still unread
    late       projected > promised delivery; days late = projected - promised delivery.
               Raised once; resolved when the projection is back on the promise, at delivery,
               or when every line is cancelled. A delivery read before any judgement found
               the order late is judged once settled past the dispatch: delivered after the
               promise, the episode is raised and resolved at once
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from transforms.events import (
    TOPIC_ORDER,
    TOPIC_SHIPMENT,
    CanonicalEvent,
    OrderAllocated,
    OrderCancelled,
    OrderLineChanged,
    OrderPacked,
    OrderPicked,
    OrderPlaced,
    ShipmentDelivered,
    ShipmentDeliveryException,
    ShipmentDispatched,
    ShipmentEtaChanged,
    ShipmentInTransit,
)
from views.alerts import ALERT_NAMESPACE, Action, Alert, Kind, Severity

ZERO = Decimal(0)
#: The ERP columns of a promise change (``order.line_changed`` names the source column).
PROMISED_SHIP_COLUMNS = frozenset({"sdppdj"})
PROMISED_DELIVERY_COLUMNS = frozenset({"sdrsdj"})
#: Steps in the order a business runs them (ties of the same commit time sort this way).
STEPS = (
    "placed",
    "line_changed",
    "cancelled",
    "allocated",
    "picked",
    "packed",
    "dispatched",
    "in_transit",
    "eta_changed",
    "delivery_exception",
    "delivered",
)
_RANK = {name: n for n, name in enumerate(STEPS)}
Status = Literal[
    "unknown", "placed", "allocated", "picked", "packed", "dispatched", "delivered", "cancelled"
]
Basis = Literal["delivered", "carrier_eta", "dispatched", "not_dispatched", "no_promise"]


@dataclass(frozen=True, slots=True)
class TrackingPolicy:
    """Settings of the projection (from ``ViewsSettings``)."""

    #: Transit days when an order states no promised ship and delivery dates to derive it.
    default_transit_days: int = 2


def local_date(moment: datetime, offset: str | None) -> date:
    """The calendar date at ``moment`` in a site whose UTC offset is ``offset`` (``+02:00``)."""
    if offset is None:
        return moment.astimezone(UTC).date()
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return (
        moment.astimezone(UTC) + sign * timedelta(hours=int(hours), minutes=int(minutes))
    ).date()


def day_start(day: date, offset: str | None) -> datetime:
    """The UTC instant a local ``day`` starts at in a site with UTC offset ``offset``."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    if offset is None:
        return start
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return start - sign * timedelta(hours=int(hours), minutes=int(minutes))


def _julian(text: str | None) -> date | None:
    """A ``CYYDDD`` value as ``order.line_changed`` carries it (``"126150"``)."""
    from transforms.quirks import julian_date

    if text is None or not text.strip():
        return None
    return julian_date(Decimal(text))


# --- state -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Line:
    item_id: str
    ordered: Decimal
    promised_ship: date | None = None
    promised_delivery: date | None = None
    cancelled: bool = False


@dataclass(slots=True)
class Allocation:
    line_id: str | None
    item_id: str
    quantity: Decimal
    picked: bool = False


@dataclass(frozen=True, slots=True)
class Dispatch:
    shipment_id: str
    at: datetime
    committed_at: datetime
    system: str
    carrier: str | None = None
    tracking_no: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One row of an order's timeline."""

    order_id: str
    event_id: uuid.UUID
    step: str
    occurred_at: datetime
    system: str
    committed_at: datetime
    detail: str
    line_id: str | None = None
    item_id: str | None = None
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Projection:
    promised_ship: date | None
    promised_delivery: date | None
    projected_delivery: date | None
    basis: Basis
    transit_days: int

    @property
    def days_late(self) -> int:
        if self.projected_delivery is None or self.promised_delivery is None:
            return 0
        return max(0, (self.projected_delivery - self.promised_delivery).days)

    @property
    def late(self) -> bool:
        return self.days_late > 0


@dataclass(slots=True)
class TrackedOrder:
    order_id: str
    site_id: str | None = None
    tz_offset: str | None = None
    #: Partition of the order topic that carries the order (its clock judges it).
    partition: int | None = None
    lines: dict[str, Line] = field(default_factory=dict)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    dispatches: list[Dispatch] = field(default_factory=list)
    packed: bool = False
    delivered_at: datetime | None = None
    #: The carrier's latest ETA (``shipment.eta_changed``, or ``OrderTracker.set_eta``).
    eta: date | None = None
    #: When the carrier announced it (a later ETA update replaces it, an earlier one not).
    eta_at: datetime | None = None
    #: The carrier's ETA as an instant (its local date is taken when projecting: the order's
    #: site offset may be read after the ETA).
    carrier_eta: datetime | None = None
    #: A delivery read before any late judgement was judged once (``_judge_late``).
    delivery_judged: bool = False
    #: The latest dispatch commit time a short-shipment judgement was made for.
    judged_through: datetime | None = None
    short_episode: str | None = None
    late_episode: str | None = None
    last_step: str | None = None
    last_step_at: datetime | None = None

    # -- derived -------------------------------------------------------------------------------

    @property
    def open_lines(self) -> dict[str, Line]:
        return {k: v for k, v in self.lines.items() if not v.cancelled}

    @property
    def cancelled(self) -> bool:
        return bool(self.lines) and not self.open_lines

    @property
    def closed(self) -> bool:
        return self.cancelled or self.delivered_at is not None

    @property
    def status(self) -> Status:
        if self.cancelled:
            return "cancelled"
        if self.delivered_at is not None:
            return "delivered"
        if self.dispatches:
            return "dispatched"
        if self.packed:
            return "packed"
        if any(a.picked for a in self.allocations.values()):
            return "picked"
        if self.allocations:
            return "allocated"
        return "placed" if self.lines else "unknown"

    def where(self) -> str:
        status = self.status
        if status == "delivered":
            return "delivered"
        if status == "cancelled":
            return "cancelled"
        if status == "dispatched":
            last = self.dispatches[-1]
            carrier = last.carrier or "carrier not stated"
            tracking = f", tracking {last.tracking_no}" if last.tracking_no else ""
            return f"in transit: shipment {last.shipment_id} ({carrier}{tracking})"
        return f"at site {self.site_id}" if self.site_id else "not known yet"

    def shipped_per_line(self) -> dict[str, Decimal]:
        """Picked quantity per line (a pick naming no line counts for the open line of its
        item)."""
        shipped = dict.fromkeys(self.lines, ZERO)
        by_item = {line.item_id: line_id for line_id, line in self.open_lines.items()}
        for allocation in self.allocations.values():
            if not allocation.picked:
                continue
            line_id = allocation.line_id
            if line_id not in shipped:
                line_id = by_item.get(allocation.item_id)
            if line_id is not None:
                shipped[line_id] += allocation.quantity
        return shipped

    def shortfalls(self) -> dict[str, Decimal]:
        """Per open line, ordered - shipped where that is positive."""
        shipped = self.shipped_per_line()
        return {
            line_id: line.ordered - shipped[line_id]
            for line_id, line in self.open_lines.items()
            if shipped[line_id] < line.ordered
        }

    @property
    def ordered(self) -> Decimal:
        return sum((line.ordered for line in self.open_lines.values()), ZERO)

    @property
    def shipped(self) -> Decimal:
        lines = self.open_lines
        return sum((q for k, q in self.shipped_per_line().items() if k in lines), ZERO)

    @property
    def pending_judgement(self) -> datetime | None:
        """The dispatch commit time a short-shipment judgement still waits for."""
        if not self.dispatches or not self.lines:
            return None
        latest = max(d.committed_at for d in self.dispatches)
        if self.judged_through is not None and self.judged_through >= latest:
            return None
        return latest


def project(order: TrackedOrder, today: date | None, policy: TrackingPolicy) -> Projection:
    """Promised against projected delivery (module docstring: ``promised``, ``transit``,
    ``projected``); ``today`` is the settled local date (None: nothing read yet)."""
    lines = order.open_lines.values() if order.open_lines else order.lines.values()
    ships = [line.promised_ship for line in lines if line.promised_ship is not None]
    deliveries = [line.promised_delivery for line in lines if line.promised_delivery is not None]
    promised_ship = min(ships) if ships else None
    promised_delivery = min(deliveries) if deliveries else None
    transit = policy.default_transit_days
    if promised_ship is not None and promised_delivery is not None:
        transit = max(0, (promised_delivery - promised_ship).days)
    if promised_delivery is None and promised_ship is not None:
        promised_delivery = promised_ship + timedelta(days=transit)
    if promised_ship is None and promised_delivery is not None:
        promised_ship = promised_delivery - timedelta(days=transit)
    basis: Basis
    if order.delivered_at is not None:
        projected: date | None = local_date(order.delivered_at, order.tz_offset)
        basis = "delivered"
    elif order.eta is not None:
        projected, basis = order.eta, "carrier_eta"
    elif order.carrier_eta is not None:
        projected, basis = local_date(order.carrier_eta, order.tz_offset), "carrier_eta"
    elif order.dispatches:
        shipped_on = local_date(order.dispatches[-1].at, order.tz_offset)
        projected, basis = shipped_on + timedelta(days=transit), "dispatched"
    elif promised_ship is not None:
        earliest = promised_ship if today is None else max(promised_ship, today)
        projected, basis = earliest + timedelta(days=transit), "not_dispatched"
    else:
        projected, basis = None, "no_promise"
    return Projection(promised_ship, promised_delivery, projected, basis, transit)


# --- the tracker ------------------------------------------------------------------------------

ClockKey = tuple[str, int, str]
"""(topic, partition, source system)"""

#: Sources that move no clock: the carrier's updates carry no dispatch and no order change,
#: and its clock (the receiver's time of its latest post) stalls while no shipment is on the
#: road; an undispatched order's today would stall with it.
CLOCKLESS_SYSTEMS = frozenset({"carrier"})


@dataclass
class TrackingChanges:
    """What one batch changed: orders to write (their state and open-order row), timeline
    steps to insert, partition clocks to store."""

    orders: dict[str, TrackedOrder]
    steps: list[Step]
    clocks: dict[ClockKey, datetime]
    today: dict[str, date | None]


class OrderTracker:
    """Orders, their timelines and their exceptions, from canonical events (no I/O)."""

    def __init__(
        self,
        policy: TrackingPolicy,
        *,
        order_topic: str = TOPIC_ORDER,
        shipment_topic: str = TOPIC_SHIPMENT,
    ) -> None:
        self.policy = policy
        self.order_topic = order_topic
        self.shipment_topic = shipment_topic
        self.orders: dict[str, TrackedOrder] = {}
        self.clocks: dict[ClockKey, datetime] = {}
        self._dirty: set[str] = set()
        self._dirty_clocks: set[ClockKey] = set()
        self._steps: list[Step] = []
        #: Since the last ``take_changes``: each changed order as it was (None: it was new),
        #: and the clocks, for ``rollback``.
        self._before: dict[str, dict[str, Any] | None] = {}
        self._clocks_before: dict[ClockKey, datetime] = {}
        #: Orders dispatched and not yet judged for a short shipment, per order partition.
        self._pending: dict[int, set[str]] = {}
        #: Open orders not dispatched: candidates of a late-delivery sweep.
        self._undispatched: set[str] = set()
        #: The earliest UTC instant an undispatched order may turn late (None: recompute).
        self._next_due: datetime | None = None
        #: Partitions of the shipment topic the process reads (``expect``).
        self._shipment_partitions: set[int] = set()

    # -- persistence ---------------------------------------------------------------------------

    def load_order(self, order: TrackedOrder) -> None:
        self.orders[order.order_id] = order
        self._index(order)

    def load_clock(self, key: ClockKey, at: datetime) -> None:
        if key[2] in CLOCKLESS_SYSTEMS:
            return
        self.clocks[key] = at
        self._clocks_before[key] = at

    def take_changes(self) -> TrackingChanges:
        orders = {k: self.orders[k] for k in self._dirty}
        today = {k: self._today(o) for k, o in orders.items()}
        changes = TrackingChanges(
            orders=orders,
            steps=self._steps,
            clocks={k: self.clocks[k] for k in self._dirty_clocks},
            today=today,
        )
        self._dirty, self._dirty_clocks, self._steps = set(), set(), []
        self._before, self._clocks_before = {}, dict(self.clocks)
        return changes

    def rollback(self) -> None:
        """Back to the state of the last ``take_changes`` (or load): applying an event
        raised and may have left an order half-changed; the batch is applied again without
        it (``views.process``)."""
        for order_id, before in self._before.items():
            if before is None:
                self.orders.pop(order_id, None)
                for pending in self._pending.values():
                    pending.discard(order_id)
                self._undispatched.discard(order_id)
            else:
                self.orders[order_id] = order_from_json(order_id, before)
                self._index(self.orders[order_id])
        self.clocks = dict(self._clocks_before)
        self._dirty, self._dirty_clocks, self._steps, self._before = set(), set(), [], {}
        self._next_due = None

    def _touch(self, order_id: str) -> None:
        """Mark an order changed by this batch, keeping it as it was first (``rollback``)."""
        if order_id not in self._dirty:
            order = self.orders.get(order_id)
            self._before[order_id] = None if order is None else order_to_json(order)
            self._dirty.add(order_id)

    def _index(self, order: TrackedOrder) -> None:
        for pending in self._pending.values():
            pending.discard(order.order_id)
        if order.partition is not None and order.pending_judgement is not None:
            self._pending.setdefault(order.partition, set()).add(order.order_id)
        if not order.closed and not order.dispatches:
            self._undispatched.add(order.order_id)
            due = self._due(order)
            if due is not None and self._next_due is not None and due < self._next_due:
                # A due only moves later by a promise change: an early next_due costs one
                # sweep that finds nothing, never a missed one.
                self._next_due = due
        else:
            self._undispatched.discard(order.order_id)

    # -- clocks --------------------------------------------------------------------------------

    def expect(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The partitions the process reads: a shipment partition not read yet may hold any
        dispatch, so no undispatched order is judged late before each has a clock."""
        self._shipment_partitions = {p for t, p in partitions if t == self.shipment_topic}

    def settled(self, partition: int | None, require: Iterable[str] = ()) -> datetime | None:
        """Up to when every source seen on this order partition has been read; None while a
        ``require``d source (the dispatch's, whose picks the judgement needs) has no clock
        there yet: the partition's other sources may be read far ahead of it."""
        if partition is None:
            return None
        times = {
            system: at
            for (t, p, system), at in self.clocks.items()
            if t == self.order_topic and p == partition
        }
        if not times or any(system not in times for system in require):
            return None
        return min(times.values())

    def _now(self, order: TrackedOrder) -> datetime | None:
        """The time up to which no order event nor any dispatch of ``order`` can be unread."""
        settled = self.settled(order.partition)
        if settled is None:
            return None
        shipments: dict[int, datetime] = {}
        for (t, p, _), at in self.clocks.items():
            if t == self.shipment_topic:
                shipments[p] = min(at, shipments.get(p, at))
        if not shipments or not self._shipment_partitions <= shipments.keys():
            return None
        return min([settled, *shipments.values()])

    def _today(self, order: TrackedOrder) -> date | None:
        now = self._now(order)
        return None if now is None else local_date(now, order.tz_offset)

    def _tick(self, event: CanonicalEvent, topic: str, partition: int) -> bool:
        """Move the clock of (topic, partition, system); whether it moved."""
        if event.source.snapshot or topic not in (self.order_topic, self.shipment_topic):
            return False
        if event.source.system in CLOCKLESS_SYSTEMS:
            return False
        key = (topic, partition, event.source.system)
        before = self.clocks.get(key)
        if before is not None and before >= event.recorded_at:
            return False
        self.clocks[key] = event.recorded_at
        self._dirty_clocks.add(key)
        return True

    # -- events --------------------------------------------------------------------------------

    def apply(self, event: CanonicalEvent, topic: str, partition: int) -> list[Alert]:
        """Apply one event read from ``topic``/``partition``; the alerts it causes."""
        alerts: list[Alert] = []
        order = self._record(event, topic, partition)
        moved = self._tick(event, topic, partition)
        if order is not None:
            self._index(order)
            alerts.extend(self._judge_short(order, event))
            alerts.extend(self._judge_late(order, event))
        if moved and topic == self.order_topic:
            for order_id in sorted(self._pending.get(partition, ())):
                # Short and late (of a dispatched order) wait for the same settled time.
                alerts.extend(self._judge_short(self.orders[order_id], event))
                alerts.extend(self._judge_late(self.orders[order_id], event))
        if moved:
            alerts.extend(self._sweep(event))
        return alerts

    def set_eta(self, order_id: str, eta: date, cause: CanonicalEvent) -> list[Alert]:
        """A carrier's estimated delivery date for the order (the carrier feed's hook): the
        projection follows it from now on."""
        order = self.orders.get(order_id)
        if order is None or order.closed:
            return []
        self._touch(order_id)
        order.eta = eta
        self._step(order, cause, "eta_changed", f"carrier ETA {eta}")
        return self._judge_late(order, cause)

    def _order(self, order_id: str) -> TrackedOrder:
        self._touch(order_id)
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = TrackedOrder(order_id)
        return order

    def _step(
        self,
        order: TrackedOrder,
        event: CanonicalEvent,
        step: str,
        detail: str,
        *,
        line_id: str | None = None,
        item_id: str | None = None,
        quantity: Decimal | None = None,
    ) -> None:
        self._steps.append(
            Step(
                order.order_id,
                event.event_id,
                step,
                event.occurred_at,
                event.source.system,
                event.recorded_at,
                detail,
                line_id,
                item_id,
                quantity,
            )
        )
        # The latest step by business time, ties by business order: the same whatever
        # partition was read first (a pick and its dispatch often share a second).
        if order.last_step_at is None or (event.occurred_at, _RANK.get(step, 99)) >= (
            order.last_step_at,
            _RANK.get(order.last_step or "", -1),
        ):
            order.last_step, order.last_step_at = step, event.occurred_at
        self._touch(order.order_id)

    def _record(self, event: CanonicalEvent, topic: str, partition: int) -> TrackedOrder | None:
        """Update the order's state and timeline from ``event``; the order it concerns."""
        if not isinstance(
            event,
            OrderPlaced
            | OrderLineChanged
            | OrderCancelled
            | OrderAllocated
            | OrderPicked
            | OrderPacked
            | ShipmentDispatched
            | ShipmentDelivered
            | ShipmentEtaChanged
            | ShipmentInTransit
            | ShipmentDeliveryException,
        ):
            return None
        order = self._order(event.order_id)
        if topic == self.order_topic and order.partition is None:
            order.partition = partition
        # The site's, not the carrier's: the carrier reports its times in its own offset.
        own = event.source.system not in CLOCKLESS_SYSTEMS
        if own and event.site_id and order.site_id is None:
            order.site_id = event.site_id
        if own and event.occurred_tz_offset and order.tz_offset is None:
            order.tz_offset = event.occurred_tz_offset
        match event:
            case OrderPlaced():
                self._placed(order, event)
            case OrderLineChanged():
                self._line_changed(order, event)
            case OrderCancelled():
                self._cancelled(order, event)
            case OrderAllocated():
                self._allocated(order, event)
            case OrderPicked():
                self._picked(order, event)
            case OrderPacked():
                self._packed(order, event, event.carton_sscc)
            case ShipmentDispatched():
                self._dispatched(order, event)
            case ShipmentDelivered():
                order.delivered_at = order.delivered_at or event.occurred_at
                self._step(order, event, "delivered", f"delivered (shipment {event.shipment_id})")
            case ShipmentEtaChanged():
                self._eta_changed(order, event)
            case ShipmentInTransit():
                where = event.location
                at = f" at {where.city} ({where.country})" if where is not None else ""
                self._step(
                    order,
                    event,
                    "in_transit",
                    f"carrier {event.carrier}: {event.stage.replace('_', ' ')}{at} "
                    f"(shipment {event.shipment_id})",
                )
            case ShipmentDeliveryException():
                self._step(
                    order,
                    event,
                    "delivery_exception",
                    f"carrier {event.carrier}: {event.reason_code}"
                    + (f" ({event.description})" if event.description else "")
                    + f" (shipment {event.shipment_id})",
                )
        return order

    def _eta_changed(self, order: TrackedOrder, event: ShipmentEtaChanged) -> None:
        # Kept even before the order's dispatch is read (the carrier's receiver and the
        # pipeline produce to the shipment topic independently).
        latest = order.eta_at is None or event.occurred_at >= order.eta_at
        if latest and not order.closed:
            order.carrier_eta, order.eta_at = event.eta, event.occurred_at
        # As the carrier stated it: the same text whatever was read before.
        moved = f" (was {event.previous_eta.isoformat()})" if event.previous_eta else ""
        superseded = "" if latest else ", superseded by a later update"
        self._step(
            order,
            event,
            "eta_changed",
            f"carrier {event.carrier} ETA {event.eta.isoformat()}{moved}{superseded} "
            f"(shipment {event.shipment_id}, tracking {event.tracking_no})",
        )

    def _placed(self, order: TrackedOrder, event: OrderPlaced) -> None:
        if event.line_id in order.lines:
            return
        order.lines[event.line_id] = Line(
            event.item_id, event.quantity, event.promised_ship_date, event.promised_delivery_date
        )
        self._step(
            order,
            event,
            "placed",
            f"line {event.line_no}: {event.quantity} {event.base_uom} of {event.item_id}",
            line_id=event.line_id,
            item_id=event.item_id,
            quantity=event.quantity,
        )

    def _line_changed(self, order: TrackedOrder, event: OrderLineChanged) -> None:
        line = order.lines.get(event.line_id)
        what: list[str] = []
        if line is not None and not line.cancelled:
            if event.quantity is not None and event.quantity != line.ordered:
                what.append(f"quantity {line.ordered} -> {event.quantity}")
                line.ordered = event.quantity
            for change in event.changes:
                if change.field in PROMISED_SHIP_COLUMNS:
                    line.promised_ship = _julian(change.after)
                    what.append(f"promised ship {line.promised_ship}")
                elif change.field in PROMISED_DELIVERY_COLUMNS:
                    line.promised_delivery = _julian(change.after)
                    what.append(f"promised delivery {line.promised_delivery}")
        fields = ", ".join(c.field for c in event.changes) or "no field named"
        self._step(
            order,
            event,
            "line_changed",
            f"line {event.line_id}: {'; '.join(what) or fields}",
            line_id=event.line_id,
            quantity=event.quantity,
        )

    def _cancelled(self, order: TrackedOrder, event: OrderCancelled) -> None:
        ids = [event.line_id] if event.line_id else list(order.lines)
        for line_id in ids:
            if line_id in order.lines:
                order.lines[line_id].cancelled = True
        self._step(
            order,
            event,
            "cancelled",
            f"line {event.line_id} cancelled" if event.line_id else "order cancelled",
            line_id=event.line_id,
            quantity=event.cancelled_quantity,
        )

    def _allocated(self, order: TrackedOrder, event: OrderAllocated) -> None:
        if event.allocation_id not in order.allocations:
            order.allocations[event.allocation_id] = Allocation(
                event.line_id, event.item_id, event.quantity
            )
        self._step(
            order,
            event,
            "allocated",
            f"{event.quantity} of {event.item_id} at {event.location or '?'} "
            f"(pick {event.allocation_id})",
            line_id=event.line_id,
            item_id=event.item_id,
            quantity=event.quantity,
        )

    def _picked(self, order: TrackedOrder, event: OrderPicked) -> None:
        allocation = order.allocations.get(event.allocation_id)
        if allocation is None:  # born picked: the allocation is the pick
            allocation = order.allocations[event.allocation_id] = Allocation(
                event.line_id, event.item_id, event.quantity
            )
        allocation.picked = True
        allocation.quantity = event.quantity
        self._step(
            order,
            event,
            "picked",
            f"{event.quantity} of {event.item_id} to {event.to_location or '?'} "
            f"(pick {event.allocation_id})",
            line_id=event.line_id,
            item_id=event.item_id,
            quantity=event.quantity,
        )
        if event.case_id:
            self._packed(order, event, event.case_id)

    def _packed(self, order: TrackedOrder, event: OrderPicked | OrderPacked, carton: str) -> None:
        order.packed = True
        self._step(
            order,
            event,
            "packed",
            f"{event.quantity} of {event.item_id} in carton {carton} (pick {event.allocation_id})",
            line_id=event.line_id,
            item_id=event.item_id,
            quantity=event.quantity,
        )

    def _dispatched(self, order: TrackedOrder, event: ShipmentDispatched) -> None:
        if any(d.shipment_id == event.shipment_id for d in order.dispatches):
            return
        order.dispatches.append(
            Dispatch(
                event.shipment_id,
                event.occurred_at,
                event.recorded_at,
                event.source.system,
                event.carrier,
                event.tracking_no,
            )
        )
        tracking = f", tracking {event.tracking_no}" if event.tracking_no else ""
        self._step(
            order,
            event,
            "dispatched",
            f"shipment {event.shipment_id} (load {event.load_id or '-'}{tracking})",
        )

    # -- judgements ----------------------------------------------------------------------------

    def _alert(
        self,
        order: TrackedOrder,
        kind: Kind,
        action: Action,
        severity: Severity,
        cause: CanonicalEvent,
        message: str,
        *,
        measured: Decimal | None = None,
        threshold: Decimal | None = None,
    ) -> Alert:
        self._touch(order.order_id)
        attribute = "short_episode" if kind == "short_shipment" else "late_episode"
        subject = order.order_id
        current = getattr(order, attribute)
        if action == "raised":
            episode = uuid.uuid5(ALERT_NAMESPACE, f"{kind}|{subject}|{cause.event_id}")
            setattr(order, attribute, str(episode))
        else:
            assert current is not None, f"no open {kind} episode for {subject}"
            episode = uuid.UUID(current)
            setattr(order, attribute, None)
        return Alert(
            alert_id=uuid.uuid5(ALERT_NAMESPACE, f"{episode}|{action}|{cause.event_id}"),
            episode_id=episode,
            kind=kind,
            action=action,
            severity=severity,
            subject=subject,
            message=message,
            occurred_at=cause.occurred_at,
            cause_event_id=cause.event_id,
            site_id=order.site_id,
            order_id=order.order_id,
            measured=measured,
            threshold=threshold,
        )

    def _judge_short(self, order: TrackedOrder, cause: CanonicalEvent) -> list[Alert]:
        alerts: list[Alert] = []
        due = order.pending_judgement
        if due is not None:
            settled = self.settled(order.partition, {d.system for d in order.dispatches})
            if settled is not None and settled > due:
                self._touch(order.order_id)
                order.judged_through = due
                self._index(order)
                short = order.shortfalls()
                if short and order.short_episode is None:
                    alerts.append(self._short(order, short, cause))
                elif not short and order.short_episode is not None:
                    alerts.append(self._covered(order, cause))
        elif order.short_episode is not None and order.dispatches and not order.shortfalls():
            alerts.append(self._covered(order, cause))  # a pick read after the judgement
        if order.short_episode is not None and order.delivered_at is not None:
            alerts.append(
                self._alert(
                    order,
                    "short_shipment",
                    "resolved",
                    "info",
                    cause,
                    f"delivered; shipped {order.shipped} of {order.ordered} ordered",
                    measured=order.shipped,
                    threshold=order.ordered,
                )
            )
        return alerts

    def _short(
        self, order: TrackedOrder, short: Mapping[str, Decimal], cause: CanonicalEvent
    ) -> Alert:
        lines = ", ".join(
            f"{line_id} short {q} of {order.lines[line_id].ordered}"
            for line_id, q in sorted(short.items())
        )
        return self._alert(
            order,
            "short_shipment",
            "raised",
            "warning",
            cause,
            f"shipped {order.shipped} of {order.ordered} ordered: {lines}",
            measured=order.shipped,
            threshold=order.ordered,
        )

    def _covered(self, order: TrackedOrder, cause: CanonicalEvent) -> Alert:
        return self._alert(
            order,
            "short_shipment",
            "resolved",
            "info",
            cause,
            f"every line shipped in full now ({order.shipped} of {order.ordered})",
            measured=order.shipped,
            threshold=order.ordered,
        )

    def _judge_late(self, order: TrackedOrder, cause: CanonicalEvent) -> list[Alert]:
        if order.late_episode is not None and order.closed:
            ending = "cancelled" if order.cancelled else "delivered"
            order.delivery_judged = order.delivered_at is not None
            projection = project(order, None, self.policy)
            return [
                self._alert(
                    order,
                    "late_delivery",
                    "resolved",
                    "info",
                    cause,
                    f"{ending}: {projection.days_late} day(s) after the promised delivery "
                    f"date {projection.promised_delivery}"
                    if ending == "delivered"
                    else "order cancelled",
                    measured=Decimal(projection.days_late),
                    threshold=ZERO,
                )
            ]
        if order.closed:
            return self._judge_delivered(order, cause)
        if order.dispatches:
            # Judged once the order's partition is settled past the latest dispatch: a
            # promise change committed before it is read by then.
            settled = self.settled(order.partition, {d.system for d in order.dispatches})
            if settled is None or settled <= max(d.committed_at for d in order.dispatches):
                return []
            projection = project(order, None, self.policy)
        else:
            projection = project(order, self._today(order), self.policy)
        if projection.late and order.late_episode is None:
            return [
                self._alert(
                    order,
                    "late_delivery",
                    "raised",
                    "warning",
                    cause,
                    f"projected delivery {projection.projected_delivery} "
                    f"({projection.basis.replace('_', ' ')}), {projection.days_late} day(s) "
                    f"after the promised {projection.promised_delivery}",
                    measured=Decimal(projection.days_late),
                    threshold=ZERO,
                )
            ]
        if not projection.late and order.late_episode is not None:
            return [
                self._alert(
                    order,
                    "late_delivery",
                    "resolved",
                    "info",
                    cause,
                    f"projected delivery {projection.projected_delivery} is on the promised "
                    f"{projection.promised_delivery} again",
                    measured=ZERO,
                    threshold=ZERO,
                )
            ]
        return []

    def _judge_delivered(self, order: TrackedOrder, cause: CanonicalEvent) -> list[Alert]:
        """A delivery read before any late judgement (the carrier's delivery is often read
        ahead of the order's partition): judged once, when the partition is settled past the
        dispatch. Delivered after the promise, the episode is raised and resolved at once: it
        happened, and it is over."""
        if order.delivered_at is None or order.delivery_judged or not order.dispatches:
            return []
        settled = self.settled(order.partition, {d.system for d in order.dispatches})
        if settled is None or settled <= max(d.committed_at for d in order.dispatches):
            return []
        self._touch(order.order_id)
        order.delivery_judged = True
        projection = project(order, None, self.policy)
        if not projection.late:
            return []
        said = (
            f"delivered {projection.projected_delivery}, {projection.days_late} day(s) after "
            f"the promised {projection.promised_delivery}"
        )
        days = Decimal(projection.days_late)
        return [
            self._alert(order, "late_delivery", "raised", "warning", cause, said,
                        measured=days, threshold=ZERO),
            self._alert(order, "late_delivery", "resolved", "info", cause, f"{said}: over",
                        measured=days, threshold=ZERO),
        ]  # fmt: skip

    def _due(self, order: TrackedOrder) -> datetime | None:
        """When an undispatched order turns late: the start of the local day after its
        promised ship date (None: no promise, or already late)."""
        if order.late_episode is not None:
            return None
        projection = project(order, None, self.policy)
        if projection.promised_ship is None or projection.promised_delivery is None:
            return None
        # Late once max(promised ship, today) + transit > promised delivery.
        slack = (
            projection.promised_delivery - projection.promised_ship
        ).days - projection.transit_days
        first_late = projection.promised_ship + timedelta(days=max(0, slack) + 1)
        return day_start(first_late, order.tz_offset)

    def _sweep(self, cause: CanonicalEvent) -> list[Alert]:
        """Undispatched orders whose settled today passed their promise."""
        if not self._undispatched:
            return []
        if self._next_due is None:
            dues = [d for o in self._undispatched if (d := self._due(self.orders[o])) is not None]
            self._next_due = min(dues) if dues else datetime.max.replace(tzinfo=UTC)
        floor = self._floor()
        if floor is None or floor < self._next_due:
            return []
        alerts: list[Alert] = []
        for order_id in sorted(self._undispatched):
            alerts.extend(self._judge_late(self.orders[order_id], cause))
        self._next_due = None
        return alerts

    def _floor(self) -> datetime | None:
        """The earliest clock of the order and shipment topics: no order's today is before
        its date."""
        times = [at for (t, _, _), at in self.clocks.items()]
        return min(times) if times else None


def steps_in_order(steps: Iterable[Step]) -> list[Step]:
    """A timeline's steps by source commit time, then business time, then business order."""
    rank = {name: n for n, name in enumerate(STEPS)}
    return sorted(steps, key=lambda s: (s.committed_at, s.occurred_at, rank.get(s.step, 99)))


# --- JSON form of the state (``views.order_store``) -----------------------------------------


def _d(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def order_to_json(order: TrackedOrder) -> dict[str, Any]:
    return {
        "site_id": order.site_id,
        "tz_offset": order.tz_offset,
        "partition": order.partition,
        "lines": {
            k: [
                v.item_id,
                str(v.ordered),
                _d(v.promised_ship),
                _d(v.promised_delivery),
                v.cancelled,
            ]
            for k, v in order.lines.items()
        },
        "allocations": {
            k: [v.line_id, v.item_id, str(v.quantity), v.picked]
            for k, v in order.allocations.items()
        },
        "dispatches": [
            [d.shipment_id, _d(d.at), _d(d.committed_at), d.system, d.carrier, d.tracking_no]
            for d in order.dispatches
        ],
        "packed": order.packed,
        "delivered_at": _d(order.delivered_at),
        "eta": _d(order.eta),
        "eta_at": _d(order.eta_at),
        "carrier_eta": _d(order.carrier_eta),
        "delivery_judged": order.delivery_judged,
        "judged_through": _d(order.judged_through),
        "short_episode": order.short_episode,
        "late_episode": order.late_episode,
        "last_step": order.last_step,
        "last_step_at": _d(order.last_step_at),
    }


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def order_from_json(order_id: str, data: Mapping[str, Any]) -> TrackedOrder:
    def dispatches() -> Iterator[Dispatch]:
        for shipment, at, committed, system, carrier, tracking in data["dispatches"]:
            moment, commit = _time(at), _time(committed)
            assert moment is not None
            assert commit is not None
            yield Dispatch(shipment, moment, commit, system, carrier, tracking)

    return TrackedOrder(
        order_id=order_id,
        site_id=data["site_id"],
        tz_offset=data["tz_offset"],
        partition=data["partition"],
        lines={
            k: Line(item, Decimal(qty), _date(ship), _date(deliver), cancelled)
            for k, (item, qty, ship, deliver, cancelled) in data["lines"].items()
        },
        allocations={
            k: Allocation(line, item, Decimal(qty), picked)
            for k, (line, item, qty, picked) in data["allocations"].items()
        },
        dispatches=list(dispatches()),
        packed=data["packed"],
        delivered_at=_time(data["delivered_at"]),
        eta=_date(data["eta"]),
        # Absent in the state written before the carrier's ETA was tracked.
        eta_at=_time(data.get("eta_at")),
        carrier_eta=_time(data.get("carrier_eta")),
        delivery_judged=data.get("delivery_judged", False),
        judged_through=_time(data["judged_through"]),
        short_episode=data["short_episode"],
        late_episode=data["late_episode"],
        last_step=data["last_step"],
        last_step_at=_time(data["last_step_at"]),
    )
