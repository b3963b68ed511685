"""Canonical events and positions for the EDI unit tests (built with the canonical models)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from edi.documents import InventoryPosition, ShippedOrder
from edi.x12 import ControlNumbers
from transforms.events import (
    GoodsReceived,
    ItemUpserted,
    OrderCancelled,
    OrderLineChanged,
    OrderPacked,
    OrderPicked,
    OrderPlaced,
    Quantity,
    ShipmentDispatched,
    SourceRef,
    TemperatureRecorded,
    event_id_for,
)

SITE = "20001"
COLD_SITE = "30001"
ORDER = "00020-SO-12345"
SHIPMENT = "MB0000777"
GTIN = "00614141000012"
GTIN_2 = "00614141000029"
SSCC = "006141410000000013"
SSCC_2 = "006141410000000020"
#: 14:05:09 UTC on 2026-03-02: 08:05 in Chicago (CST, -06:00).
T0 = datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC)
#: When the interchange files are written.
CREATED = datetime(2026, 3, 2, 14, 6, 30, tzinfo=UTC)
CONTROL = ControlNumbers(interchange=42, group=42, transaction_set=1)
_seq = itertools.count()


def header(
    event_type: str, *, site: str | None = SITE, at: datetime = T0, snapshot: bool = False
) -> dict[str, Any]:
    n = next(_seq)
    return {
        "event_id": event_id_for(
            system="test", table="t", position=str(n), pk=str(n), event_type=event_type, ordinal=0
        ),
        "occurred_at": at,
        "occurred_tz_offset": "-06:00",
        "recorded_at": at,
        "site_id": site,
        "source": SourceRef(
            system="test",
            namespace="t",
            table="t",
            op="c",
            position=str(n),
            pk=str(n),
            snapshot=snapshot,
        ),
    }


def placed(
    line: str,
    qty: int | str,
    *,
    item: str = "BOLT-1001-RED",
    gtin: str | None = GTIN,
    uom: str = "EA",
    order: str = ORDER,
    site: str = SITE,
) -> OrderPlaced:
    return OrderPlaced(
        **header("order.placed", site=site),
        order_id=order,
        line_id=f"{order}/{line}",
        line_no=line,
        item_id=item,
        gtin=gtin,
        quantity=Decimal(qty),
        base_uom=uom,
        original=Quantity(value=Decimal(qty), uom=uom),
        customer_id="4711",
        ship_to="4712",
        customer_po="PO-778812",
        status="520",
    )


def picked(
    line: str,
    qty: int | str,
    *,
    item: str = "BOLT-1001-RED",
    case: str | None = SSCC,
    lot: str | None = None,
    key: str | None = None,
    order: str = ORDER,
    site: str = SITE,
    uom: str = "EA",
) -> OrderPicked:
    return OrderPicked(
        **header("order.picked", site=site),
        order_id=order,
        line_id=f"{order}/{line}",
        allocation_id=key or f"PD{next(_seq):08d}",
        item_id=item,
        quantity=Decimal(qty),
        base_uom=uom,
        lot=lot,
        from_location="11A0203",
        to_location="1STAGE01",
        case_id=case,
    )


def packed(pick: OrderPicked, carton: str) -> OrderPacked:
    """The WMS writing ``carton`` on ``pick``'s row after its status (``order.packed``)."""
    fields = pick.model_dump(include={"order_id", "line_id", "allocation_id", "item_id",
                                      "quantity", "base_uom", "lot"})  # fmt: skip
    return OrderPacked(**header("order.packed", site=pick.site_id), **fields, carton_sscc=carton)


def as_the_wms_writes_it(order: ShippedOrder) -> list[OrderPicked | OrderPacked]:
    """``order``'s picks as the WMS commits them: each pick without its carton, then the
    carton as its own packing."""
    out: list[OrderPicked | OrderPacked] = []
    for pick in order.picks:
        out.append(pick.model_copy(update={"case_id": None}))
        if pick.case_id:
            out.append(packed(pick, pick.case_id))
    return out


def dispatched(
    *,
    order: str = ORDER,
    site: str = SITE,
    carrier: str | None = "UPSN",
    tracking: str | None = "1Z999AA10123456784",
    shipment: str = SHIPMENT,
    snapshot: bool = False,
) -> ShipmentDispatched:
    return ShipmentDispatched(
        **header("shipment.dispatched", site=site, snapshot=snapshot),
        shipment_id=shipment,
        order_id=order,
        wms_order_key="0000123456",
        load_id="LD00042",
        carrier=carrier,
        tracking_no=tracking,
    )


def shipped_order(
    *, site: str = SITE, order: str = ORDER, shipment: str = SHIPMENT
) -> ShippedOrder:
    """Two lines; line 1 fully picked into two cartons (one lot each), line 2 short."""
    return ShippedOrder(
        dispatched=dispatched(site=site, order=order, shipment=shipment),
        lines=(
            placed("1.000", 24, site=site, order=order),
            placed("2.000", 10, item="NUT-2002-BLU", gtin=GTIN_2, site=site, order=order),
        ),
        picks=(
            picked("1.000", 12, case=SSCC, lot="L2405A", site=site, order=order),
            picked("1.000", 12, case=SSCC_2, lot="L2405B", site=site, order=order),
            picked("2.000", 6, item="NUT-2002-BLU", case=SSCC_2, site=site, order=order),
        ),
    )


def received(
    qty: int | str = 48,
    *,
    site: str = COLD_SITE,
    uom: str = "EA",
    item: str = "FISH-3003-ICE",
    lot: str | None = "B20260301",
    receipt: str = "99123",
) -> GoodsReceived:
    return GoodsReceived(
        **header("goods.received", site=site),
        po_id="00020-OP-4711",
        line_id="00020-OP-4711/1.000",
        receipt_id=f"00020-OP-4711/1.000/1/{receipt}",
        item_id=item,
        quantity=Decimal(qty),
        base_uom=uom,
        original=Quantity(value=Decimal(qty), uom=uom),
        lot=lot,
        location="3DOOR02",
    )


def position(
    item: str,
    on_hand: int | str,
    committed: int | str,
    *,
    site: str = COLD_SITE,
    gtin: str | None = GTIN,
    uom: str = "EA",
) -> InventoryPosition:
    on_hand_, committed_ = Decimal(on_hand), Decimal(committed)
    return InventoryPosition(
        site_id=site,
        item_id=item,
        base_uom=uom,
        on_hand=on_hand_,
        committed=committed_,
        available=on_hand_ - committed_,
        as_of=T0,
        gtin=gtin,
    )


def line_changed(
    line: str, qty: int | str, *, order: str = ORDER, site: str = SITE
) -> OrderLineChanged:
    return OrderLineChanged(
        **header("order.line_changed", site=site),
        order_id=order,
        line_id=f"{order}/{line}",
        changes=(),
        quantity=Decimal(qty),
        base_uom="EA",
    )


def cancelled(line: str | None, *, order: str = ORDER, site: str = SITE) -> OrderCancelled:
    return OrderCancelled(
        **header("order.cancelled", site=site),
        order_id=order,
        line_id=None if line is None else f"{order}/{line}",
        reason="cancelled",
    )


def item(item_id: str, *, gtin: str | None = GTIN, uom: str = "EA") -> ItemUpserted:
    return ItemUpserted(
        **header("item.upserted", site=None),
        item_id=item_id,
        item_short="4711",
        gtin=gtin,
        base_uom=uom,
    )


def temperature(
    celsius: int | str = "-18.40",
    *,
    site: str | None = COLD_SITE,
    sensor: str = "PRB-30001-01",
    location: str | None = "1COLD01",
    trailer: str | None = None,
    at: datetime = T0,
) -> TemperatureRecorded:
    return TemperatureRecorded(
        **header("temperature.recorded", site=site, at=at),
        sensor_id=sensor,
        location=location,
        trailer_id=trailer,
        temperature_c=Decimal(celsius),
    )
