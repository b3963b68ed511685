"""What ``scv edi run`` does with a batch: consumed events + the stage's state → documents,
rejects and state changes. Pure: no I/O and no clock (``now`` and the stream's progress are
parameters), so a test drives it with events alone; ``edi.stage`` runs it in the batch's
database transaction and ``edi.store`` keeps its state.

**State** (``State``), what a document needs and no event carries by itself:

    orders    order id → its lines (``order.placed``, quantity as last changed), its picks
              (``order.picked``), the cartons they went into (``order.packed``: the WMS
              writes the carton after the pick; the 856's pack level) and its cancelled
              lines; only for sites a partner receives 856 or 945 for; forgotten when the
              order's documents are built, or after ``order_retention`` without a dispatch
    items     item id → GTIN and base unit (``item.upserted``): the 944's GTIN, the 846's
              units and GTINs, the GTIN of an order line that has none
    held      dispatches and receipts read but not built yet (see below)
    schedule  partner → the last 846 slot advised

**When a document is built.** Picks travel on ``scv.order.v1``, dispatches on
``scv.shipment.v1``: read side by side, a dispatch can be read before the picks the pipeline
published ahead of it. So a dispatch or a receipt is *held* until every partition the stage
reads has been read past the time the pipeline published it (``stream_time``: the oldest
publish time among the partitions not read to their end; None when all are). A dispatch also
waits, at most ``line_wait``, for order lines its picks name and the stream has not brought
(the ERP and the WMS are two sources, not ordered with each other). Then its 856 and 945 are
built for every partner whose sites hold it, and the order's state is forgotten.

**Once.** An ``event_id`` processed before (``Context.processed``) is skipped; a document
whose (partner, type, business key) exists (``Context.emitted``) is not built again; a
dispatch or receipt read by a snapshot is history (the nightly batch sent it), not a new one.

**Control numbers.** ISA13 = GS06 and ST02 count up per partner from ``Context.controls``
(read in the batch's transaction); a document the profile rejects takes none, so the numbers
written stay contiguous. A document is ``Document`` (its bytes, control numbers, file name);
a rejection is ``Reject`` (reason, detail, partner, type, key, event): never half a file.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pydantic

from edi.documents import (
    InventoryPosition,
    ShippedOrder,
    interchange,
    inventory_advice,
    segments,
    write_856,
    write_944,
    write_945,
)
from edi.errors import DocumentRejected, X12Error
from edi.profile import DocumentType, PartnerProfile
from edi.x12 import ControlNumbers
from transforms.events import (
    EVENT_TYPES,
    CanonicalEvent,
    GoodsReceived,
    ItemUpserted,
    OrderCancelled,
    OrderLineChanged,
    OrderPacked,
    OrderPicked,
    OrderPlaced,
    ShipmentDispatched,
    from_json,
)

#: The event types the stage acts on; every other record is read past without being parsed.
ACTED_ON = frozenset(
    {
        "order.placed",
        "order.line_changed",
        "order.cancelled",
        "order.picked",
        "order.packed",
        "shipment.dispatched",
        "goods.received",
        "item.upserted",
    }
)
OUTBOUND: frozenset[DocumentType] = frozenset({"856", "945"})
INBOUND: frozenset[DocumentType] = frozenset({"944"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DETAIL_CHARS = 1000


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Where:
    """Where a record was read."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Consumed:
    """One canonical event as read: ``published`` is its Kafka timestamp (when the pipeline
    produced it), the clock ``stream_time`` is measured in."""

    event: CanonicalEvent
    published: datetime
    where: Where


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record of an acted-on type that is no valid event: rejected, read past."""

    where: Where
    reason: str
    detail: str


def _clean(text: str) -> str:
    """A detail PostgreSQL can store (no NUL), cut to a readable length."""
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= _DETAIL_CHARS else f"{text[:_DETAIL_CHARS]}..."


def read_record(
    value: bytes | None, ce_type: bytes | None, where: Where, published: datetime
) -> Consumed | Unreadable | None:
    """A record → its event, why it cannot be read, or None when it is none of ours (a
    tombstone, or a type the stage does not act on: told by the ``ce_type`` header when
    there is one, without parsing). Never raises for a record: one that stopped the stage
    would stop it again at every start."""
    if value is None:
        return None
    if ce_type is not None and ce_type.decode("utf-8", "replace") not in ACTED_ON:
        return None
    try:
        event = from_json(value)
    except pydantic.ValidationError as exc:
        kinds = {error["type"] for error in exc.errors()}
        if "json_invalid" in kinds or "json_type" in kinds:
            reason = "malformed_json"
        elif kinds & {"union_tag_invalid", "union_tag_not_found"}:
            reason = "unknown_type"
        else:
            reason = "invalid_event"
        return Unreadable(where, reason, _clean(str(exc)))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (the safety net: rejected with its type)
        return Unreadable(where, "invalid_event", _clean(f"{type(exc).__name__}: {exc}"))
    if event.event_type not in ACTED_ON:
        return None
    # PostgreSQL text and jsonb cannot hold NUL: the state written would fail at every start.
    if b"\\u0000" in value:
        return Unreadable(where, "invalid_text", f"{event.event_type} {event.event_id}: a NUL")
    return Consumed(event, published, where)


# --- documents, rejects, control numbers -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Controls:
    """A partner's next control numbers: ISA13 and GS06 (``interchange``, one number for
    both: one group per interchange) and ST02 (``transaction_set``)."""

    interchange: int = 1
    transaction_set: int = 1

    def take(self, sets: int) -> tuple[ControlNumbers, Controls]:
        numbers = ControlNumbers(self.interchange, self.interchange, self.transaction_set)
        return numbers, Controls(self.interchange + 1, self.transaction_set + sets)


def file_name(partner_id: str, doc_type: str, interchange: int) -> str:
    """The outbox file of an interchange: the same name whenever it is (re)written."""
    return f"{partner_id}-{doc_type}-{interchange:09d}.x12"


@dataclass(frozen=True, slots=True)
class Document:
    """One interchange file for one partner, ready for the outbox."""

    partner_id: str
    doc_type: DocumentType
    business_key: str
    event_ids: tuple[uuid.UUID, ...]
    control: ControlNumbers
    sets: int
    content: bytes
    created_at: datetime

    @property
    def file_name(self) -> str:
        return file_name(self.partner_id, self.doc_type, self.control.interchange)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class Reject:
    """A document not built (or a record not read), and why: ``reason`` is a short code."""

    reason: str
    detail: str
    partner_id: str | None = None
    doc_type: str | None = None
    business_key: str | None = None
    event_id: uuid.UUID | None = None
    where: Where | None = None


# --- state -----------------------------------------------------------------------------------


@dataclass(slots=True)
class OpenOrder:
    """What is known of an order not dispatched yet."""

    lines: dict[str, OrderPlaced] = field(default_factory=dict)
    picks: dict[str, OrderPicked] = field(default_factory=dict)
    #: Allocation id → the latest packing of that pick (its carton).
    packs: dict[str, OrderPacked] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    #: Publish time of its latest event (for ``order_retention``).
    touched: datetime = EPOCH

    def lines_missing(self) -> bool:
        """No line yet, or a pick names a line not read yet."""
        return not self.lines or any(p.line_id not in self.lines for p in self.picks.values())

    def pack(self, packing: OrderPacked) -> None:
        """Its pick went into a carton; a repack moves it to another: the later one holds."""
        earlier = self.packs.get(packing.allocation_id)
        if earlier is None or earlier.recorded_at <= packing.recorded_at:
            self.packs[packing.allocation_id] = packing

    def packed_picks(self) -> tuple[OrderPicked, ...]:
        """The picks in allocation order, each with the carton its packing names."""
        return tuple(_in_carton(self.picks[k], self.packs.get(k)) for k in sorted(self.picks))


def _in_carton(pick: OrderPicked, packing: OrderPacked | None) -> OrderPicked:
    if packing is None or pick.case_id == packing.carton_sscc:
        return pick
    return pick.model_copy(update={"case_id": packing.carton_sscc})


@dataclass(frozen=True, slots=True)
class Item:
    gtin: str | None
    base_uom: str


@dataclass(frozen=True, slots=True)
class Held:
    """A dispatch or receipt waiting to be built."""

    event: ShipmentDispatched | GoodsReceived
    published: datetime


#: Builds one document's bytes for a partner with the control numbers given.
Writer = Callable[[PartnerProfile, ControlNumbers], bytes]
Kind = str
StateKey = tuple[Kind, str]
StateChanges = dict[StateKey, dict[str, Any] | None]


def _event_json(event: CanonicalEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


def _event(data: Mapping[str, Any]) -> CanonicalEvent:
    return EVENT_TYPES[data["event_type"]].model_validate(data)


class State:
    """The stage's state (see the module docstring); ``take_changes`` gives what changed."""

    def __init__(self) -> None:
        self.orders: dict[str, OpenOrder] = {}
        self.items: dict[str, Item] = {}
        self.held: dict[str, Held] = {}
        self.schedule: dict[str, datetime] = {}
        self.dirty: set[StateKey] = set()

    # -- persistence ---------------------------------------------------------------------------

    def load(self, kind: Kind, key: str, value: Mapping[str, Any]) -> None:
        if kind == "order":
            self.orders[key] = OpenOrder(
                lines={e["line_id"]: OrderPlaced.model_validate(e) for e in value["lines"]},
                picks={e["allocation_id"]: OrderPicked.model_validate(e) for e in value["picks"]},
                # ``get``: state written before packings were kept has none.
                packs={
                    e["allocation_id"]: OrderPacked.model_validate(e)
                    for e in value.get("packs", ())
                },
                cancelled=set(value["cancelled"]),
                touched=datetime.fromisoformat(value["touched"]),
            )
        elif kind == "item":
            self.items[key] = Item(value["gtin"], value["base_uom"])
        elif kind == "held":
            event = _event(value["event"])
            if not isinstance(event, ShipmentDispatched | GoodsReceived):
                raise ValueError(f"held {key!r} is a {event.event_type}")
            self.held[key] = Held(event, datetime.fromisoformat(value["published"]))
        elif kind == "schedule":
            self.schedule[key] = datetime.fromisoformat(value["slot"])
        else:
            raise ValueError(f"unknown state kind {kind!r}")

    def value(self, kind: Kind, key: str) -> dict[str, Any] | None:
        """The JSON of one entry (None: gone)."""
        if kind == "order":
            order = self.orders.get(key)
            if order is None:
                return None
            return {
                "lines": [_event_json(e) for e in order.lines.values()],
                "picks": [_event_json(e) for e in order.picks.values()],
                "packs": [_event_json(e) for e in order.packs.values()],
                "cancelled": sorted(order.cancelled),
                "touched": order.touched.isoformat(),
            }
        if kind == "item":
            item = self.items.get(key)
            return None if item is None else {"gtin": item.gtin, "base_uom": item.base_uom}
        if kind == "held":
            held = self.held.get(key)
            if held is None:
                return None
            return {"event": _event_json(held.event), "published": held.published.isoformat()}
        slot = self.schedule.get(key)
        return None if slot is None else {"slot": slot.isoformat()}

    def take_changes(self) -> StateChanges:
        changes = {(kind, key): self.value(kind, key) for kind, key in sorted(self.dirty)}
        self.dirty = set()
        return changes

    # -- changes -------------------------------------------------------------------------------

    def order(self, order_id: str, published: datetime) -> OpenOrder:
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = OpenOrder()
        order.touched = max(order.touched, published)
        self.dirty.add(("order", order_id))
        return order

    def drop_order(self, order_id: str) -> None:
        if self.orders.pop(order_id, None) is not None:
            self.dirty.add(("order", order_id))

    def set_item(self, item_id: str, item: Item) -> None:
        if self.items.get(item_id) != item:
            self.items[item_id] = item
            self.dirty.add(("item", item_id))

    def hold(self, key: str, held: Held) -> None:
        self.held[key] = held
        self.dirty.add(("held", key))

    def release(self, key: str) -> None:
        del self.held[key]
        self.dirty.add(("held", key))

    def advised(self, partner_id: str, slot: datetime) -> None:
        self.schedule[partner_id] = slot
        self.dirty.add(("schedule", partner_id))

    def forget(self, before: datetime) -> list[str]:
        """Forget the orders untouched since ``before`` (never dispatched); their ids."""
        stale = [k for k, order in self.orders.items() if order.touched < before]
        for order_id in stale:
            self.drop_order(order_id)
        return stale


def dispatch_key(event: ShipmentDispatched) -> str:
    """The business key of a dispatch's 856 and 945: one shipment of one order."""
    return f"{event.shipment_id}|{event.order_id}"


def _held_key(event: ShipmentDispatched | GoodsReceived) -> str:
    if isinstance(event, ShipmentDispatched):
        return f"dispatch|{dispatch_key(event)}"
    return f"receipt|{event.receipt_id}"


def _business_key(event: ShipmentDispatched | GoodsReceived) -> str:
    return dispatch_key(event) if isinstance(event, ShipmentDispatched) else event.receipt_id


def business_keys(batch: Iterable[Consumed | Unreadable]) -> set[str]:
    """The business keys of the documents a batch's events may build (for ``emitted``)."""
    keys = set()
    for item in batch:
        if isinstance(item, Consumed) and isinstance(
            item.event, ShipmentDispatched | GoodsReceived
        ):
            keys.add(_business_key(item.event))
    return keys


def event_ids(batch: Iterable[Consumed | Unreadable]) -> set[uuid.UUID]:
    return {item.event.event_id for item in batch if isinstance(item, Consumed)}


# --- the stream's progress -------------------------------------------------------------------

Partition = tuple[str, int]


def stream_time(
    partitions: Iterable[Partition],
    last_read: Mapping[Partition, datetime],
    drained: Iterable[Partition],
) -> datetime | None:
    """How far every partition has been read: the oldest publish time read among those not
    read to their end (``EPOCH`` for one nothing was read of yet); None when all are."""
    done = set(drained)
    times = [last_read.get(p, EPOCH) for p in partitions if p not in done]
    return min(times) if times else None


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What a plan knows besides the state: the database's answers and the clocks."""

    profiles: Mapping[str, PartnerProfile]
    #: The partners' next control numbers (missing: 1 and 1).
    controls: Mapping[str, Controls]
    #: Event ids of the batch processed before.
    processed: frozenset[uuid.UUID]
    #: (partner, type, business key) of the batch's keys that have a document already.
    emitted: frozenset[tuple[str, str, str]]
    #: When the interchanges are created (ISA09/10, GS04/05) and the line wait is measured.
    now: datetime
    #: See ``stream_time``.
    stream_time: datetime | None
    line_wait: timedelta = timedelta(minutes=10)
    #: Forget orders untouched since then (None: not in this plan).
    forget_before: datetime | None = None


@dataclass(slots=True)
class Planned:
    """What one plan decided; ``state`` and ``controls`` hold only what changed."""

    documents: list[Document] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    #: Events to remember as processed (their ``event_id``).
    processed: list[Consumed] = field(default_factory=list)
    controls: dict[str, Controls] = field(default_factory=dict)
    state: StateChanges = field(default_factory=dict)
    duplicates: int = 0
    #: Dispatches and receipts still held after the plan.
    waiting: int = 0


def plan(batch: Sequence[Consumed | Unreadable], state: State, ctx: Context) -> Planned:
    """Apply a batch to ``state`` and build the documents that became ready (see the module
    docstring). ``state`` is changed in place; ``Planned.state`` says what to write."""
    return _Planner(state, ctx).run(batch)


def releasable(state: State, ctx: Context) -> bool:
    """Whether a plan of an empty batch would build or reject anything now."""
    planner = _Planner(state, ctx)
    return any(planner.ready(held) for held in state.held.values())


class _Planner:
    def __init__(self, state: State, ctx: Context) -> None:
        self.state = state
        self.ctx = ctx
        self.out = Planned()
        self.emitted = set(ctx.emitted)
        self.seen = set(ctx.processed)
        profiles = ctx.profiles.values()
        self.outbound = {s for p in profiles if p.documents & OUTBOUND for s in p.sites}
        self.inbound = {s for p in profiles if p.documents & INBOUND for s in p.sites}

    def run(self, batch: Sequence[Consumed | Unreadable]) -> Planned:
        for item in batch:
            if isinstance(item, Unreadable):
                self.out.rejects.append(Reject(item.reason, item.detail, where=item.where))
            else:
                self._take(item)
        if self.ctx.forget_before is not None:
            self.state.forget(self.ctx.forget_before)
        for key, held in sorted(self.state.held.items(), key=lambda kv: (kv[1].published, kv[0])):
            if self.ready(held):
                self._release(key, held)
        self.out.waiting = len(self.state.held)
        self.out.state = self.state.take_changes()
        return self.out

    # -- intake --------------------------------------------------------------------------------

    def _take(self, consumed: Consumed) -> None:
        event = consumed.event
        if isinstance(event, ItemUpserted):  # latest state per item: idempotent, not recorded
            self.state.set_item(event.item_id, Item(event.gtin, event.base_uom))
            return
        if event.event_id in self.seen:
            self.out.duplicates += 1
            return
        self.seen.add(event.event_id)
        if self._acted(event, consumed.published):
            self.out.processed.append(consumed)

    def _acted(self, event: CanonicalEvent, published: datetime) -> bool:
        state = self.state
        match event:
            case OrderPlaced() if event.site_id in self.outbound:
                order = state.order(event.order_id, published)
                order.lines.setdefault(event.line_id, event)
                return True
            case OrderLineChanged() if event.order_id in state.orders:
                order = state.orders[event.order_id]
                line = order.lines.get(event.line_id)
                if line is None or event.quantity is None:
                    return False
                update: dict[str, Any] = {"quantity": event.quantity}
                if event.base_uom:
                    update["base_uom"] = event.base_uom
                state.order(event.order_id, published).lines[event.line_id] = line.model_copy(
                    update=update
                )
                return True
            case OrderCancelled() if event.order_id in state.orders:
                if event.line_id is None:
                    state.drop_order(event.order_id)  # the whole order: no dispatch will come
                else:
                    state.order(event.order_id, published).cancelled.add(event.line_id)
                return True
            case OrderPicked() if event.site_id in self.outbound:
                state.order(event.order_id, published).picks.setdefault(event.allocation_id, event)
                return True
            case OrderPacked() if event.site_id in self.outbound:
                state.order(event.order_id, published).pack(event)
                return True
            case ShipmentDispatched() if event.site_id in self.outbound:
                return self._hold(event, published, OUTBOUND)
            case GoodsReceived() if event.site_id in self.inbound:
                return self._hold(event, published, INBOUND)
            case _:
                return False

    def _hold(
        self,
        event: ShipmentDispatched | GoodsReceived,
        published: datetime,
        types: frozenset[DocumentType],
    ) -> bool:
        if event.source.snapshot:
            return False  # read by a snapshot: history the nightly batch sent, no new fact
        key = _held_key(event)
        if key in self.state.held:
            self.out.duplicates += 1  # the same business fact under another event id
            return True
        wanted = self._wanted(event.site_id, types, _business_key(event))
        if not wanted:
            self.out.duplicates += 1
            return True
        self.state.hold(key, Held(event, published))
        return True

    def _wanted(
        self, site: str | None, types: frozenset[DocumentType], business_key: str
    ) -> list[tuple[PartnerProfile, DocumentType]]:
        """The (partner, type) documents still to build for a business key at ``site``."""
        return [
            (profile, doc_type)
            for _, profile in sorted(self.ctx.profiles.items())
            if profile.covers_site(site)
            for doc_type in sorted(profile.documents & types)
            if (profile.partner_id, doc_type, business_key) not in self.emitted
        ]

    # -- release -------------------------------------------------------------------------------

    def ready(self, held: Held) -> bool:
        passed = self.ctx.stream_time is None or held.published < self.ctx.stream_time
        if not passed:
            return False
        event = held.event
        if isinstance(event, ShipmentDispatched):
            order = self.state.orders.get(event.order_id)
            missing = order is None or order.lines_missing()
            if missing and self.ctx.now - held.published < self.ctx.line_wait:
                return False
        return True

    def _release(self, key: str, held: Held) -> None:
        event = held.event
        self.state.release(key)
        if isinstance(event, ShipmentDispatched):
            self._dispatched(event)
        else:
            self._received(event)

    def _dispatched(self, event: ShipmentDispatched) -> None:
        order = self.state.orders.get(event.order_id) or OpenOrder()
        picks = order.packed_picks()
        picked_lines = {p.line_id for p in picks}
        lines = tuple(
            self._with_gtin(line)
            for line_id, line in order.lines.items()
            if line_id not in order.cancelled or line_id in picked_lines
        )
        shipped = ShippedOrder(event, lines, picks)
        packs = tuple(order.packs[k] for k in sorted(order.packs))
        ids = (event.event_id, *(e.event_id for e in (*lines, *picks, *packs)))
        now = self.ctx.now

        def ship_notice(profile: PartnerProfile, control: ControlNumbers) -> bytes:
            return write_856(profile, shipped, control=control, at=now)

        def shipping_advice(profile: PartnerProfile, control: ControlNumbers) -> bytes:
            return write_945(profile, shipped, control=control, at=now)

        writers: dict[str, Writer] = {"856": ship_notice, "945": shipping_advice}
        key = dispatch_key(event)
        for profile, doc_type in self._wanted(event.site_id, OUTBOUND, key):
            self._build(profile, doc_type, key, ids, writers[doc_type], event.event_id)
        self.state.drop_order(event.order_id)

    def _with_gtin(self, line: OrderPlaced) -> OrderPlaced:
        """The line, with the item master's GTIN where the line has none."""
        item = self.state.items.get(line.item_id)
        if line.gtin or item is None or not item.gtin:
            return line
        return line.model_copy(update={"gtin": item.gtin})

    def _received(self, event: GoodsReceived) -> None:
        item = self.state.items.get(event.item_id)
        gtin = item.gtin if item is not None else None
        now = self.ctx.now

        def receipt_advice(profile: PartnerProfile, control: ControlNumbers) -> bytes:
            return write_944(profile, event, control=control, at=now, gtin=gtin)

        key = event.receipt_id
        for profile, doc_type in self._wanted(event.site_id, INBOUND, key):
            self._build(profile, doc_type, key, (event.event_id,), receipt_advice, event.event_id)

    def _build(
        self,
        profile: PartnerProfile,
        doc_type: DocumentType,
        business_key: str,
        ids: tuple[uuid.UUID, ...],
        write: Writer,
        event_id: uuid.UUID,
    ) -> None:
        partner = profile.partner_id
        controls = self.out.controls.get(partner) or self.ctx.controls.get(partner, Controls())
        numbers, after = controls.take(1)
        outcome = _attempt(lambda: write(profile, numbers))
        if isinstance(outcome, Reject):
            self.out.rejects.append(
                Reject(outcome.reason, outcome.detail, partner, doc_type, business_key, event_id)
            )
            return
        self.out.documents.append(
            Document(partner, doc_type, business_key, ids, numbers, 1, outcome, self.ctx.now)
        )
        self.out.controls[partner] = after
        self.emitted.add((partner, doc_type, business_key))


def _attempt(build: Callable[[], bytes]) -> bytes | Reject:
    """The bytes of a document, or why the profile cannot express it.

    An envelope that cannot be written (``X12Error``: control numbers exhausted) stops the
    stage: every later document would fail the same way. Anything else a builder raises on an
    event (a date out of range in the partner's zone, say) is that event's problem: rejected
    with its type, as a record that stopped the stage would stop it at every start.
    """
    try:
        return build()
    except DocumentRejected as rejected:
        return Reject(rejected.reason, _clean(rejected.detail))
    except (X12Error, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001  (the safety net: rejected with its type)
        return Reject("build_failed", _clean(f"{type(exc).__name__}: {exc}"))


# --- 846 -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockRow:
    """One site x item of the views' positions (``views.inventory_positions``)."""

    site_id: str
    item_id: str
    on_hand: Decimal
    allocated: Decimal
    on_hold: Decimal
    available: Decimal


def slot(now: datetime, every_minutes: int) -> datetime:
    """The start of the schedule slot ``now`` is in (slots counted from the epoch, UTC)."""
    size = every_minutes * 60
    return datetime.fromtimestamp(int(now.timestamp()) // size * size, UTC)


def due_846(
    profiles: Mapping[str, PartnerProfile], schedule: Mapping[str, datetime], now: datetime
) -> list[tuple[str, datetime]]:
    """(partner, slot) of every partner whose current 846 slot has no advice yet."""
    due = []
    for partner_id, profile in sorted(profiles.items()):
        if "846" not in profile.documents or profile.inventory_advice is None:
            continue
        current = slot(now, profile.inventory_advice.every_minutes)
        last = schedule.get(partner_id)
        if last is None or last < current:
            due.append((partner_id, current))
    return due


def scheduled_key(at: datetime) -> str:
    return f"scheduled@{at.astimezone(UTC).isoformat()}"


def on_demand_key(now: datetime, as_of: datetime) -> str:
    return f"on-demand@{now.astimezone(UTC).isoformat()} as-of {as_of.astimezone(UTC).isoformat()}"


def plan_846(
    profile: PartnerProfile,
    stock: Iterable[StockRow],
    items: Mapping[str, Item],
    *,
    controls: Controls,
    as_of: datetime,
    now: datetime,
    business_key: str,
) -> tuple[Document | Reject, Controls]:
    """The 846 of a partner from the positions (``stock``), or why not; the next numbers.

    Units and GTINs come from the item master (``items``): a position of the partner's scope
    whose item the master does not hold has no unit, and rejects the advice (never half a
    snapshot). ``committed`` is the views' ``allocated``.
    """
    partner = profile.partner_id
    positions = []
    for row in stock:
        if not (profile.covers_site(row.site_id) and profile.covers_item(row.item_id)):
            continue
        item = items.get(row.item_id)
        if item is None:
            reject = Reject(
                "unknown_unit",
                f"item {row.item_id!r} is not in the item master (no base unit)",
                partner,
                "846",
                business_key,
            )
            return reject, controls
        positions.append(
            InventoryPosition(
                site_id=row.site_id,
                item_id=row.item_id,
                base_uom=item.base_uom,
                on_hand=row.on_hand,
                committed=row.allocated,
                available=row.available,
                as_of=as_of,
                gtin=item.gtin,
            )
        )
    built: list[tuple[ControlNumbers, int]] = []

    def build() -> bytes:
        # The reference (BIA03) names the interchange: unique per partner, at most 30 chars.
        reference = f"846-{controls.interchange:09d}"
        advices = inventory_advice(profile, positions, reference=reference)
        control, _ = controls.take(len(advices))
        built.append((control, len(advices)))
        sets = [segments(advice, profile) for advice in advices]
        return interchange(profile, sets, control=control, at=now)

    outcome = _attempt(build)
    if isinstance(outcome, Reject):
        return Reject(outcome.reason, outcome.detail, partner, "846", business_key), controls
    control, sets = built[0]
    document = Document(partner, "846", business_key, (), control, sets, outcome, now)
    return document, controls.take(sets)[1]
