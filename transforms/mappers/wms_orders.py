"""WMS ``ORDERS`` → ``shipment.dispatched`` / ``shipment.delivered`` + order correlation state.

``ExternOrderKey`` is the ERP order id, so each row records ``wmsorder|<OrderKey>`` for the
pick details (which only carry ``OrderKey``). Status is a string; the ship time exists only in
``EditDate`` when Status becomes ``9``, and delivery is ``PODArrive`` leaving its 1901
sentinel. Both are facility-local ``DATETIME``s. ``CANC`` is not reported here: the ERP line
(status 980) is the authority for cancellations. TrafficCop/EditDate-only updates are no-ops.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent, Op, Row
from transforms.errors import MappingError
from transforms.events import ShipmentDelivered, ShipmentDispatched
from transforms.mapping import WMS_HOUSEKEEPING, Output, header, mapper, wms_when
from transforms.reference import Reference, StateUpdate

COLUMNS = WMS_HOUSEKEEPING | set(
    [
        "OrderKey",
        "StorerKey",
        "ExternOrderKey",
        "Facility",
        "Type",
        "ConsigneeKey",
        # The consignee's name and address arrive hashed (connector spec ``pii``); no canonical
        # event carries them, so the mapper knows them only so they are not schema drift.
        "C_Company",
        "C_Address1",
        "C_City",
        "ExternPOKey",
        "OrderDate",
        "DeliveryDate",
        "Status",
        "SOStatus",
        "LoadKey",
        "MBOLKey",
        "TrackingNo",
        "PODArrive",
        "UserDefine01",
        "UserDefine02",
    ]
)
SHIPPED = "9"


def shipment_id(row: Row) -> str:
    return row.text("MBOLKey") or row.text("LoadKey") or row.required_text("OrderKey")


@mapper("wms", "ORDERS", columns=COLUMNS, reference=True)
def warehouse_orders(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    order_key = row.required_text("OrderKey")
    if change.op is Op.DELETE:
        return  # purge of a closed order; the correlation stays for late pick details
    order_id = row.text("ExternOrderKey")
    if order_id is None:
        raise MappingError("missing_value", f"WMS order {order_key} has no ExternOrderKey")
    site = row.text("Facility")
    shipment = shipment_id(row)
    state = {"order_id": order_id, "site_id": site, "shipment_id": shipment}
    if ref.state(f"wmsorder|{order_key}") != state:
        yield StateUpdate(f"wmsorder|{order_key}", state)
    before = change.before
    common = {
        "shipment_id": shipment,
        "order_id": order_id,
        "wms_order_key": order_key,
    }
    if row.text("Status") == SHIPPED and (before is None or before.text("Status") != SHIPPED):
        yield ShipmentDispatched(
            **header(
                change,
                pk=order_key,
                event_type="shipment.dispatched",
                occurred=wms_when(row, "EditDate", ref, site),
                site_id=site,
            ),
            **common,
            load_id=row.text("LoadKey"),
            tracking_no=row.text("TrackingNo"),
        )
    if before is not None and before.get("PODArrive") == row.get("PODArrive"):
        return  # the proof of delivery is as it was (most updates: no time to place)
    delivered = wms_when(row, "PODArrive", ref, site)
    was_delivered = before is not None and wms_when(before, "PODArrive", ref, site) is not None
    if delivered is not None and not was_delivered:
        yield ShipmentDelivered(
            **header(
                change,
                pk=order_key,
                event_type="shipment.delivered",
                occurred=delivered,
                site_id=site,
            ),
            **common,
        )
