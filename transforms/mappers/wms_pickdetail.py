"""WMS ``PICKDETAIL`` → ``order.allocated`` / ``order.picked`` / ``order.packed``.

A new pick detail is an allocation of lot x location x LPN to an order line; Status ``5`` is
picked; ``CaseID`` set (blank before, or another carton) is packed: the allocation went into
the carton with that SSCC. The WMS writes the carton after the status, in the same transaction,
so a pick rarely names its carton itself: the carton comes as its own event, which the 856's
pack level and the order's ``packed`` step read. The ERP order comes from the ``ORDERS``
correlation state (``OrderKey`` → ``ExternOrderKey``), the ERP line from ``OrderLineNumber
'00001'`` → line ``1.000``.
Quantities are already in base units (``Qty``); ``UOMQty``/``UOM`` are kept as the original.
TrafficCop-only updates are suppressed; deletes (unallocation, short-pick splits) map to
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from transforms import quirks
from transforms.envelope import ChangeEvent, Op, Row
from transforms.errors import DataError
from transforms.events import OrderAllocated, OrderPacked, OrderPicked, Quantity
from transforms.mapping import WMS_HOUSEKEEPING, Output, header, mapper, wms_when
from transforms.reference import Reference

COLUMNS = WMS_HOUSEKEEPING | set(
    [
        "PickDetailKey",
        "CaseID",
        "OrderKey",
        "OrderLineNumber",
        "Lot",
        "StorerKey",
        "Sku",
        "Loc",
        "ID",
        "UOM",
        "UOMQty",
        "Qty",
        "Status",
        "DropID",
        "WaveKey",
        "PickSlipNo",
        "ToLoc",
    ]
)
PICKED = "5"


def _picked(row: Row | None) -> bool:
    status = None if row is None else row.text("Status")
    # ``isdecimal``, not ``isdigit``: "²" is a digit that ``int`` refuses; and a few digits,
    # as ``int`` refuses 4,300 and more.
    return (
        status is not None
        and status.isdecimal()
        and len(status) <= 18
        and int(status) >= int(PICKED)
    )


def _carton(row: Row | None) -> str | None:
    return None if row is None else row.text("CaseID")


def _base_uom(ref: Reference, sku: str) -> str | None:
    try:
        return ref.item_by_sku(sku).base_uom
    except DataError:
        return None  # WMS quantities are base units already; the unit name is a nicety


@mapper("wms", "PICKDETAIL", columns=COLUMNS)
def pick_details(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    if change.op is Op.DELETE:
        return
    allocated = change.op in (Op.CREATE, Op.READ)
    picked = _picked(row) and not _picked(change.before)
    carton = _carton(row)
    packed = carton is not None and carton != _carton(change.before)
    if not allocated and not picked and not packed:
        return  # TrafficCop, wave/slip assignment, status 3: no business fact of ours
    key = row.required_text("PickDetailKey")
    order = ref.wms_order(row.required_text("OrderKey"))
    line_no = quirks.line_number(quirks.wms_line_to_lnid(row.required_text("OrderLineNumber")))
    sku = row.required_text("Sku")
    uom = row.text("UOM")
    original = Quantity(value=Decimal(row.required_integer("UOMQty")), uom=uom) if uom else None
    common = {
        "order_id": order.order_id,
        "line_id": f"{order.order_id}/{line_no}",
        "allocation_id": key,
        "item_id": sku,
        "quantity": Decimal(row.required_integer("Qty")),
        "base_uom": _base_uom(ref, sku),
        "original": original,
        "lot": row.text("Lot"),
    }
    when = wms_when(row, "EditDate", ref, order.site_id)
    if allocated:
        yield OrderAllocated(
            **header(
                change,
                pk=key,
                event_type="order.allocated",
                occurred=wms_when(row, "AddDate", ref, order.site_id),
                site_id=order.site_id,
            ),
            **common,
            location=row.text("Loc"),
            lpn=row.text("ID"),
        )
    if picked:
        yield OrderPicked(
            **header(
                change, pk=key, event_type="order.picked", occurred=when, site_id=order.site_id
            ),
            **common,
            from_location=row.text("Loc"),
            to_location=row.text("ToLoc"),
            lpn=row.text("ID"),
            case_id=row.text("CaseID"),
        )
    if packed and carton is not None:
        yield OrderPacked(
            **header(
                change, pk=key, event_type="order.packed", occurred=when, site_id=order.site_id
            ),
            **common,
            carton_sscc=carton,
            drop_id=row.text("DropID"),
        )
