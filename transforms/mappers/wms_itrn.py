"""WMS ``ITRN`` inventory journal → ``inventory.adjusted`` (``AJ``) / ``inventory.moved``
(``MV``).

Insert-only. ``DP`` deposits and ``WD`` withdrawals are the physical halves of receipts and
shipments, which are reported as ``goods.received`` (ERP receiver) and ``shipment.dispatched``
(``ORDERS``); they map to nothing here so nothing is counted twice. So does the ``AJ`` of a
receipt reversal (``SourceType ntrReceiptReversal``: the stock side of ``receipt.reversed``).
The site is the facility of the location (LOC state); ``AddDate`` is facility-local. ``Qty``
is signed for ``AJ``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from transforms.envelope import ChangeEvent, Op
from transforms.errors import MissingReference
from transforms.events import InventoryAdjusted, InventoryMoved
from transforms.mapping import WMS_HOUSEKEEPING, Output, header, loc_site, mapper, wms_when
from transforms.reference import Reference

#: Journal sources that belong to a business document the ERP reports: a receipt reversal's
#: ``AJ`` is the stock side of ``receipt.reversed`` (f43121), not an inventory adjustment.
DOCUMENT_SOURCES = frozenset({"ntrReceiptReversal"})

COLUMNS = WMS_HOUSEKEEPING | set(
    [
        "ItrnKey",
        "TranType",
        "StorerKey",
        "Sku",
        "Lot",
        "FromLoc",
        "FromID",
        "ToLoc",
        "ToID",
        "SourceKey",
        "SourceType",
        "Status",
        "Qty",
        "UOM",
        "Lottable02",
        "Lottable04",
    ]
)


@mapper("wms", "ITRN", columns=COLUMNS)
def inventory_journal(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    if change.op not in (Op.CREATE, Op.READ):
        return  # the journal is append-only; housekeeping purges are not facts
    kind = row.required_text("TranType")
    if kind not in ("AJ", "MV"):
        return
    if row.text("SourceType") in DOCUMENT_SOURCES:
        return  # the physical half of a document event reported from the ERP
    key = row.required_text("ItrnKey")
    from_loc, to_loc = row.text("FromLoc"), row.text("ToLoc")
    site = loc_site(ref, to_loc) or loc_site(ref, from_loc)
    if site is None:
        raise MissingReference("unknown_location", f"ITRN {key}: no facility for {to_loc!r}")
    occurred = wms_when(row, "AddDate", ref, site)
    sku = row.required_text("Sku")
    quantity = Decimal(row.required_integer("Qty"))
    if kind == "AJ":
        yield InventoryAdjusted(
            **header(
                change, pk=key, event_type="inventory.adjusted", occurred=occurred, site_id=site
            ),
            item_id=sku,
            delta=quantity,
            lot=row.text("Lot"),
            location=to_loc or from_loc,
            lpn=row.text("ToID") or row.text("FromID"),
            reason=row.text("SourceType"),
        )
        return
    yield InventoryMoved(
        **header(change, pk=key, event_type="inventory.moved", occurred=occurred, site_id=site),
        item_id=sku,
        quantity=abs(quantity),
        lot=row.text("Lot"),
        from_location=from_loc,
        to_location=to_loc,
        from_lpn=row.text("FromID"),
        to_lpn=row.text("ToID"),
        reason=row.text("SourceType"),
    )
