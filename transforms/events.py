"""Canonical supply-chain events: typed, frozen, versioned, and their Kafka form.

Every event is a past-tense business fact with a dotted ``event_type`` (catalogue: research
note §6.3). Quantities are ``Decimal`` (never float); where a quantity was converted to the
item's base unit, the original quantity and unit are kept next to it. Times are UTC, with the
site's offset kept in ``occurred_tz_offset``.

On Kafka an event is a CloudEvents 1.0 record in binary mode: attributes in ``ce_*`` headers,
the JSON payload as the value, the aggregate key (``order_id``, ``site_id|item_id``, ``po_id``,
``shipment_id``, ``item_id``) as the record key.

``event_id`` is a UUIDv5 of (source system, table, source position, primary key, event type,
ordinal): a replay of the same change produces the same id, so downstream can deduplicate.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

#: Namespace of every ``event_id`` (a fixed random UUID: changing it changes every id).
EVENT_ID_NAMESPACE = uuid.UUID("3f6c1d0e-8b0a-4f4e-9a51-5b8c0b7f2d11")

_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes

TOPIC_ORDER = "scv.order.v1"
TOPIC_INVENTORY = "scv.inventory.v1"
TOPIC_INBOUND = "scv.inbound.v1"
TOPIC_SHIPMENT = "scv.shipment.v1"
TOPIC_ITEM = "scv.item.v1"
#: Topics whose records are latest-state per key (cleanup.policy=compact).
COMPACTED_TOPICS = frozenset({TOPIC_ITEM})
CANONICAL_TOPICS = (TOPIC_ORDER, TOPIC_INVENTORY, TOPIC_INBOUND, TOPIC_SHIPMENT, TOPIC_ITEM)

#: Where ``scv serve`` answers the canonical JSON Schemas (``transforms.schemaserve``); the
#: runner's is ``TransformsSettings.schema_base_url``.
DEFAULT_SCHEMA_BASE_URL = "http://127.0.0.1:18080/schemas"

TzOffset = Annotated[str, Field(pattern=r"^[+-]\d{2}:\d{2}$")]


def event_id_for(
    *, system: str, table: str, position: str, pk: str, event_type: str, ordinal: int
) -> uuid.UUID:
    """The deterministic id of the ``ordinal``-th event of ``event_type`` from one row change.

    >>> str(event_id_for(system="erp", table="f4211", position="lsn:1", pk="1",
    ...                  event_type="order.placed", ordinal=0))[:8]
    'c4f287a5'
    """
    name = "\x1f".join((system, table, position, pk, event_type, str(ordinal)))
    # ``uuid.uuid5`` itself, with the namespace's bytes made once rather than per event.
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(_Model):
    """Where the event came from: one row change of one legacy table."""

    system: str
    namespace: str
    table: str
    op: Literal["c", "u", "d", "r"]
    position: str
    pk: str
    snapshot: bool
    tx_id: str | None = None


class Quantity(_Model):
    """A quantity in the unit the source recorded it in (kept for audit next to the base one)."""

    value: Decimal
    uom: str


class FieldChange(_Model):
    """One business field that changed, rendered as canonical strings (None = empty)."""

    field: str
    before: str | None
    after: str | None


class UomConversion(_Model):
    """``1 from_uom = factor to_uom`` for one item (``branch`` None = every branch)."""

    from_uom: str
    to_uom: str
    factor: Decimal
    branch: str | None = None


class CanonicalEvent(_Model):
    """Common header of every canonical event (research §6.3)."""

    TOPIC: ClassVar[str]

    event_id: uuid.UUID
    event_type: str
    event_version: Literal[1] = 1
    occurred_at: datetime
    occurred_tz_offset: TzOffset | None = None
    recorded_at: datetime
    site_id: str | None = None
    source: SourceRef

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Naive or non-UTC times are a mapper bug, not data: refuse loudly.
        if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
            raise ValueError("times must be timezone-aware UTC")
        return value

    def partition_key(self) -> str:
        raise NotImplementedError


class _LineChanges(_Model):
    """Business fields of a document line that changed (mixed in before the topic's base, so
    its fields follow the topic's key on the wire)."""

    line_id: str
    changes: tuple[FieldChange, ...]
    status: str | None = None


class _OrderEvent(CanonicalEvent):
    TOPIC: ClassVar[str] = TOPIC_ORDER
    order_id: str

    def partition_key(self) -> str:
        return self.order_id


class OrderPlaced(_OrderEvent):
    """A sales-order line was entered (ERP ``f4211`` insert). One event per line."""

    event_type: Literal["order.placed"] = "order.placed"
    line_id: str
    line_no: str
    item_id: str
    item_short: str | None = None
    gtin: str | None = None
    quantity: Decimal
    base_uom: str
    original: Quantity
    customer_id: str | None = None
    ship_to: str | None = None
    customer_po: str | None = None
    order_date: date | None = None
    requested_date: date | None = None
    promised_ship_date: date | None = None
    promised_delivery_date: date | None = None
    unit_price: Decimal | None = None
    currency: str | None = None
    status: str | None = None
    #: An earlier line of the same order has the same item and quantity (a line entered twice);
    #: the quality gate quarantines such a line (rule ``line_not_duplicated``).
    duplicate: bool = False


class OrderLineChanged(_LineChanges, _OrderEvent):
    """Business fields of an order line changed (quantity, dates, status, backorder)."""

    event_type: Literal["order.line_changed"] = "order.line_changed"
    quantity: Decimal | None = None
    base_uom: str | None = None


class OrderCancelled(_OrderEvent):
    """An order line (or a whole order when ``line_id`` is None) was cancelled."""

    event_type: Literal["order.cancelled"] = "order.cancelled"
    line_id: str | None = None
    cancelled_quantity: Decimal | None = None
    base_uom: str | None = None
    reason: str


class _AllocationEvent(_OrderEvent):
    """One warehouse allocation of stock to an order line."""

    line_id: str | None = None
    allocation_id: str
    item_id: str
    quantity: Decimal
    base_uom: str | None = None
    original: Quantity | None = None
    lot: str | None = None


class OrderAllocated(_AllocationEvent):
    """Stock (lot x location x LPN) was allocated to an order line in the warehouse."""

    event_type: Literal["order.allocated"] = "order.allocated"
    location: str | None = None
    lpn: str | None = None


class OrderPicked(_AllocationEvent):
    """An allocation was picked."""

    event_type: Literal["order.picked"] = "order.picked"
    from_location: str | None = None
    to_location: str | None = None
    lpn: str | None = None
    #: The carton's SSCC when the pick already names it (a WMS that packs as it picks); the
    #: carton assigned later comes as ``order.packed``.
    case_id: str | None = None


class OrderPacked(_AllocationEvent):
    """A picked allocation was packed into a carton (WMS ``PICKDETAIL.CaseID`` set): the
    carton's contents, one allocation at a time; the 856's pack level (``MAN*GM``)."""

    event_type: Literal["order.packed"] = "order.packed"
    #: The carton's SSCC-18 (the WMS writes it as ``CaseID``).
    carton_sscc: str
    #: The drop (staging) id the carton was put on, when the WMS names one.
    drop_id: str | None = None


class _ShipmentEvent(CanonicalEvent):
    TOPIC: ClassVar[str] = TOPIC_SHIPMENT
    shipment_id: str

    def partition_key(self) -> str:
        return self.shipment_id


class ShipmentDispatched(_ShipmentEvent):
    """A warehouse order left the dock (WMS ``ORDERS.Status`` → ``9``)."""

    event_type: Literal["shipment.dispatched"] = "shipment.dispatched"
    order_id: str
    wms_order_key: str
    load_id: str | None = None
    carrier: str | None = None
    tracking_no: str | None = None


class ShipmentDelivered(_ShipmentEvent):
    """Proof of delivery arrived (WMS ``ORDERS.PODArrive`` set, or the carrier's delivered
    scan: then the carrier fields are set and ``source.system`` is ``carrier``)."""

    event_type: Literal["shipment.delivered"] = "shipment.delivered"
    order_id: str
    wms_order_key: str
    carrier: str | None = None
    tracking_no: str | None = None
    carrier_event_id: str | None = None
    #: Who signed for it (the carrier's proof of delivery).
    signed_by: str | None = None
    #: The carrier's reference of the proof (a photo or signature image id).
    pod_reference: str | None = None


class CarrierLocation(_Model):
    """Where a carrier scanned a shipment."""

    city: str
    region: str | None = None
    country: str


class _CarrierScanEvent(_ShipmentEvent):
    """A tracking update of the carrier (``scv carrier serve``): ``source.system`` ``carrier``."""

    order_id: str
    carrier: str
    tracking_no: str
    #: The carrier's own id of the update (what the receiver de-duplicates on).
    carrier_event_id: str


class ShipmentInTransit(_CarrierScanEvent):
    """The carrier scanned the shipment on its way: picked up, at a hub, out for delivery."""

    event_type: Literal["shipment.in_transit"] = "shipment.in_transit"
    stage: Literal["picked_up", "in_transit", "out_for_delivery"]
    location: CarrierLocation | None = None


class ShipmentEtaChanged(_CarrierScanEvent):
    """The carrier announced a new estimated delivery time."""

    event_type: Literal["shipment.eta_changed"] = "shipment.eta_changed"
    eta: datetime
    previous_eta: datetime | None = None


class ShipmentDeliveryException(_CarrierScanEvent):
    """The carrier could not deliver (or reports damage or loss), with its reason code."""

    event_type: Literal["shipment.delivery_exception"] = "shipment.delivery_exception"
    reason_code: str
    description: str | None = None


class _InboundEvent(CanonicalEvent):
    TOPIC: ClassVar[str] = TOPIC_INBOUND
    po_id: str

    def partition_key(self) -> str:
        return self.po_id


class PoIssued(_InboundEvent):
    """A purchase-order line was entered (ERP ``f4311`` insert)."""

    event_type: Literal["po.issued"] = "po.issued"
    line_id: str
    line_no: str
    supplier_id: str | None = None
    item_id: str
    quantity: Decimal
    base_uom: str
    original: Quantity
    unit_cost: Decimal | None = None
    currency: str | None = None
    order_date: date | None = None
    requested_date: date | None = None
    promised_date: date | None = None
    status: str | None = None


class PoChanged(_LineChanges, _InboundEvent):
    """Business fields of a purchase-order line changed (quantity, promised date, status)."""

    event_type: Literal["po.changed"] = "po.changed"
    promised_date: date | None = None


class InboundAdvised(_InboundEvent):
    """A supplier's advance ship notice line landed in the warehouse (expected receipt)."""

    event_type: Literal["inbound.advised"] = "inbound.advised"
    asn_id: str
    asn_line: str
    item_id: str
    quantity: Decimal
    base_uom: str | None = None
    original: Quantity | None = None
    lot: str | None = None


class _ReceiptEvent(_InboundEvent):
    """One receipt of a purchase-order line (ERP ``f43121``), in the item's base unit."""

    line_id: str
    receipt_id: str
    item_id: str
    quantity: Decimal
    base_uom: str
    original: Quantity


class GoodsReceived(_ReceiptEvent):
    """A purchase-order line was received (ERP ``f43121`` receipt, match type 1)."""

    event_type: Literal["goods.received"] = "goods.received"
    lot: str | None = None
    location: str | None = None
    received_date: date | None = None
    #: What the purchase-order line still expects after this receipt, in the base unit (JDE
    #: ``pruopn``: 0 when the receipt closed the line, even short).
    open_quantity: Decimal | None = None


class ReceiptReversed(_ReceiptEvent):
    """A receipt was reversed (``f43121`` match type 1 → 4: a PK change, DELETE + CREATE)."""

    event_type: Literal["receipt.reversed"] = "receipt.reversed"


class _InventoryEvent(CanonicalEvent):
    TOPIC: ClassVar[str] = TOPIC_INVENTORY
    item_id: str

    def partition_key(self) -> str:
        return f"{self.site_id or ''}|{self.item_id}"


class InventoryAdjusted(_InventoryEvent):
    """On-hand changed without a business document (count, damage, expiry): WMS ITRN ``AJ``."""

    event_type: Literal["inventory.adjusted"] = "inventory.adjusted"
    delta: Decimal
    base_uom: str | None = None
    lot: str | None = None
    location: str | None = None
    lpn: str | None = None
    reason: str | None = None


class InventoryMoved(_InventoryEvent):
    """Stock moved between locations inside a site: WMS ITRN ``MV``."""

    event_type: Literal["inventory.moved"] = "inventory.moved"
    quantity: Decimal
    base_uom: str | None = None
    lot: str | None = None
    from_location: str | None = None
    to_location: str | None = None
    from_lpn: str | None = None
    to_lpn: str | None = None
    reason: str | None = None


class InventoryBalanceOpened(_InventoryEvent):
    """A book balance (site x item x location x lot) came into existence holding stock: the
    opening stock of a go-live load or of a snapshot (ERP ``f41021`` insert or snapshot read).

    Later updates of the balance are the sum of the documents (receipts, shipments,
    adjustments) reported as their own events, so only the opening quantity is an event.
    """

    event_type: Literal["inventory.balance_opened"] = "inventory.balance_opened"
    on_hand: Decimal
    #: Part of ``on_hand`` that is not available (lot status set, or in inspection).
    on_hold: Decimal = Decimal(0)
    base_uom: str | None = None
    lot: str | None = None
    location: str | None = None


class TemperatureRecorded(CanonicalEvent):
    """A cold-room or reefer probe reading (WMS bolt-on ``ZZ_TEMP_LOG``, epoch seconds)."""

    TOPIC: ClassVar[str] = TOPIC_INVENTORY
    event_type: Literal["temperature.recorded"] = "temperature.recorded"
    sensor_id: str
    location: str | None = None
    trailer_id: str | None = None
    temperature_c: Decimal
    #: The probe already has a reading at this instant (a reading written twice); the quality
    #: gate quarantines it (rule ``reading_not_duplicated``).
    duplicate: bool = False

    def partition_key(self) -> str:
        return f"{self.site_id or ''}|{self.location or self.trailer_id or self.sensor_id}"


class ItemUpserted(CanonicalEvent):
    """Latest state of an item (compacted topic): identifiers, base unit, conversions."""

    TOPIC: ClassVar[str] = TOPIC_ITEM
    event_type: Literal["item.upserted"] = "item.upserted"
    item_id: str
    item_short: str
    gtin: str | None = None
    description: str | None = None
    base_uom: str
    purchasing_uom: str | None = None
    pricing_uom: str | None = None
    conversions: tuple[UomConversion, ...] = ()
    lot_controlled: bool = False
    shelf_life_days: int | None = None
    temp_class: str | None = None
    stocking_type: str | None = None

    def partition_key(self) -> str:
        return self.item_id


#: Every concrete event class, keyed by ``event_type``.
EVENT_TYPES: dict[str, type[CanonicalEvent]] = {
    cls.model_fields["event_type"].default: cls
    for cls in (
        OrderPlaced,
        OrderLineChanged,
        OrderCancelled,
        OrderAllocated,
        OrderPicked,
        OrderPacked,
        ShipmentDispatched,
        ShipmentDelivered,
        ShipmentInTransit,
        ShipmentEtaChanged,
        ShipmentDeliveryException,
        PoIssued,
        PoChanged,
        InboundAdvised,
        GoodsReceived,
        ReceiptReversed,
        InventoryAdjusted,
        InventoryMoved,
        InventoryBalanceOpened,
        TemperatureRecorded,
        ItemUpserted,
    )
}

#: Event types only the carrier receiver (``carrier``) produces. The quality gate does not see
#: them: the receiver validates each update at its edge and answers a bad one with a 4xx (kept
#: in its rejects table), so the carrier can resend; a gate after that answer could only
#: quarantine what the carrier was already told was accepted.
EDGE_VALIDATED = frozenset(
    {"shipment.in_transit", "shipment.eta_changed", "shipment.delivery_exception"}
)

AnyCanonicalEvent = Annotated[
    OrderPlaced
    | OrderLineChanged
    | OrderCancelled
    | OrderAllocated
    | OrderPicked
    | OrderPacked
    | ShipmentDispatched
    | ShipmentDelivered
    | ShipmentInTransit
    | ShipmentEtaChanged
    | ShipmentDeliveryException
    | PoIssued
    | PoChanged
    | InboundAdvised
    | GoodsReceived
    | ReceiptReversed
    | InventoryAdjusted
    | InventoryMoved
    | InventoryBalanceOpened
    | TemperatureRecorded
    | ItemUpserted,
    Field(discriminator="event_type"),
]
# mypy cannot see an Annotated union as a type form; pydantic accepts it.
_ANY: TypeAdapter[Any] = TypeAdapter(AnyCanonicalEvent)  # type: ignore[arg-type, unused-ignore]

Headers = list[tuple[str, str | bytes | None]]


class KafkaRecord(NamedTuple):
    """One record ready to produce: topic, key, value, headers (one per canonical event)."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ce_source(event: CanonicalEvent) -> str:
    """CloudEvents ``source``: ``/erp/proddta`` or ``/wms/wmwhse1``."""
    return f"/{event.source.system}/{event.source.namespace}"


def schema_url(event_type: str, version: int, base: str = DEFAULT_SCHEMA_BASE_URL) -> str:
    """CloudEvents ``dataschema``: the URL its JSON Schema is served at."""
    return f"{base}/{event_type}/v{version}"


def to_kafka(
    event: CanonicalEvent, *, topic_prefix: str = "", schema_base_url: str = DEFAULT_SCHEMA_BASE_URL
) -> KafkaRecord:
    """CloudEvents 1.0 Kafka binary mode: ``ce_*`` headers, JSON value, aggregate key."""
    key = event.partition_key().encode()
    headers: Headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(event.event_id).encode()),
        ("ce_type", event.event_type.encode()),
        ("ce_source", ce_source(event).encode()),
        ("ce_time", _iso(event.occurred_at).encode()),
        ("ce_subject", key),
        (
            "ce_dataschema",
            schema_url(event.event_type, event.event_version, schema_base_url).encode(),
        ),
        ("content-type", b"application/json"),
    ]
    # pydantic-core writes the JSON directly, without a dict in between (the same bytes as
    # ``orjson.dumps`` of ``model_dump(mode="json")``: a test holds them equal).
    value = event.__pydantic_serializer__.to_json(event)
    return KafkaRecord(f"{topic_prefix}{event.TOPIC}", key, value, headers)


def from_json(value: bytes) -> CanonicalEvent:
    """Parse a canonical event value (any type) back into its model."""
    event: CanonicalEvent = _ANY.validate_json(value)
    return event
