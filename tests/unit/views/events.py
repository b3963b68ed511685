"""Canonical events for the views' unit tests (built like the mappers build them)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from transforms.events import (
    CanonicalEvent,
    FieldChange,
    GoodsReceived,
    InboundAdvised,
    InventoryAdjusted,
    InventoryBalanceOpened,
    OrderAllocated,
    OrderCancelled,
    OrderPicked,
    OrderPlaced,
    PoChanged,
    PoIssued,
    Quantity,
    ReceiptReversed,
    ShipmentDispatched,
    SourceRef,
    TemperatureRecorded,
    event_id_for,
)

SITE = "20001"
ITEM = "BOLT-1001-RED"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
_seq = itertools.count()


def header(
    event_type: str, *, at: datetime | None = None, snapshot: bool = False, site: str = SITE
) -> dict[str, Any]:
    n = next(_seq)
    return {
        "event_id": event_id_for(
            system="test", table="t", position=str(n), pk=str(n), event_type=event_type, ordinal=0
        ),
        "occurred_at": at or T0 + timedelta(seconds=n),
        "occurred_tz_offset": "+00:00",
        "recorded_at": at or T0 + timedelta(seconds=n),
        "site_id": site,
        "source": SourceRef(
            system="test",
            namespace="t",
            table="t",
            op="r" if snapshot else "c",
            position=str(n),
            pk=str(n),
            snapshot=snapshot,
        ),
    }


def q(value: int | str) -> Decimal:
    return Decimal(value)


def opened(on_hand: int, *, snapshot: bool = False, item: str = ITEM) -> InventoryBalanceOpened:
    return InventoryBalanceOpened(
        **header("inventory.balance_opened", snapshot=snapshot), item_id=item, on_hand=q(on_hand)
    )


def adjusted(change: int, *, item: str = ITEM) -> InventoryAdjusted:
    return InventoryAdjusted(**header("inventory.adjusted"), item_id=item, delta=q(change))


def placed(
    order: str, line: str, qty: int, *, promised: date | None = None, status: str = "520"
) -> OrderPlaced:
    return OrderPlaced(
        **header("order.placed"),
        order_id=order,
        line_id=f"{order}/{line}",
        line_no=line,
        item_id=ITEM,
        quantity=q(qty),
        base_uom="EA",
        original=Quantity(value=q(qty), uom="EA"),
        promised_ship_date=promised,
        status=status,
    )


def cancelled(order: str, line: str) -> OrderCancelled:
    return OrderCancelled(
        **header("order.cancelled"), order_id=order, line_id=f"{order}/{line}", reason="cancelled"
    )


def allocated(order: str, line: str, key: str, qty: int) -> OrderAllocated:
    return OrderAllocated(
        **header("order.allocated"),
        order_id=order,
        line_id=f"{order}/{line}",
        allocation_id=key,
        item_id=ITEM,
        quantity=q(qty),
    )


def picked(order: str, line: str, key: str, qty: int) -> OrderPicked:
    return OrderPicked(
        **header("order.picked"),
        order_id=order,
        line_id=f"{order}/{line}",
        allocation_id=key,
        item_id=ITEM,
        quantity=q(qty),
    )


def dispatched(order: str, *, at: datetime | None = None) -> ShipmentDispatched:
    return ShipmentDispatched(
        **header("shipment.dispatched", at=at),
        shipment_id=f"MB-{order}",
        order_id=order,
        wms_order_key=f"W-{order}",
    )


def issued(po: str, line: str, qty: int) -> PoIssued:
    return PoIssued(
        **header("po.issued"),
        po_id=po,
        line_id=f"{po}/{line}",
        line_no=line,
        item_id=ITEM,
        quantity=q(qty),
        base_uom="EA",
        original=Quantity(value=q(qty), uom="EA"),
        status="220",
    )


def po_cancelled(po: str, line: str) -> PoChanged:
    """The ERP cancels a PO line: last status 980, next 999, nothing open (as ``f4311`` maps
    such an update)."""
    return PoChanged(
        **header("po.changed"),
        po_id=po,
        line_id=f"{po}/{line}",
        changes=(
            FieldChange(field="pdlttr", before="220", after="980"),
            FieldChange(field="pdnxtr", before="280", after="999"),
        ),
        status="980",
    )


def advised(po: str, line: str, qty: int) -> InboundAdvised:
    return InboundAdvised(
        **header("inbound.advised", site=""),
        po_id=po,
        asn_id="ASN1",
        asn_line=line,
        item_id=ITEM,
        quantity=q(qty),
    )


def received(po: str, line: str, qty: int, *, still_open: int | None = 0) -> GoodsReceived:
    return GoodsReceived(
        **header("goods.received"),
        po_id=po,
        line_id=f"{po}/{line}",
        receipt_id=f"{po}/{line}/1",
        item_id=ITEM,
        quantity=q(qty),
        base_uom="EA",
        original=Quantity(value=q(qty), uom="EA"),
        open_quantity=None if still_open is None else q(still_open),
    )


def reversed_receipt(po: str, line: str, qty: int) -> ReceiptReversed:
    return ReceiptReversed(
        **header("receipt.reversed"),
        po_id=po,
        line_id=f"{po}/{line}",
        receipt_id=f"{po}/{line}/1",
        item_id=ITEM,
        quantity=q(qty),
        base_uom="EA",
        original=Quantity(value=q(qty), uom="EA"),
    )


def reading(temp: str, at: datetime, sensor: str = "PRB-20001-01") -> TemperatureRecorded:
    return TemperatureRecorded(
        **header("temperature.recorded", at=at),
        sensor_id=sensor,
        location="01COLD01",
        temperature_c=Decimal(temp),
    )


def all_of(*events: CanonicalEvent) -> list[CanonicalEvent]:
    return list(events)
