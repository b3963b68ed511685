"""WMS ``RECEIPTDETAIL`` → ``inbound.advised`` when an ASN line lands (``QtyExpected``).

``ExternPOKey`` is the ERP PO id and ``ExternLineNo '00001'`` its line 1.000. The receipt
itself (``QtyReceived``) is reported from the ERP receiver (``goods.received``), so updates
map to nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from transforms import quirks
from transforms.envelope import ChangeEvent, Op
from transforms.events import InboundAdvised, Quantity
from transforms.mapping import WMS_HOUSEKEEPING, Output, header, loc_site, mapper, wms_when
from transforms.reference import Reference

COLUMNS = WMS_HOUSEKEEPING | set(
    [
        "ReceiptKey",
        "ReceiptLineNumber",
        "ExternReceiptKey",
        "ExternPOKey",
        "ExternLineNo",
        "StorerKey",
        "Sku",
        "Status",
        "QtyExpected",
        "QtyReceived",
        "UOM",
        "ToLoc",
        "ToLot",
        "ToId",
        "Lottable02",
        "Lottable04",
        "DateReceived",
    ]
)


@mapper("wms", "RECEIPTDETAIL", columns=COLUMNS)
def receipt_lines(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    if change.op not in (Op.CREATE, Op.READ):
        return
    receipt_key = row.required_text("ReceiptKey")
    line = row.required_text("ReceiptLineNumber")
    site = loc_site(ref, row.text("ToLoc"))
    occurred = wms_when(row, "AddDate", ref, site) if site else None
    uom = row.text("UOM")
    expected = Decimal(row.required_integer("QtyExpected"))
    extern_line = row.text("ExternLineNo")
    yield InboundAdvised(
        **header(
            change,
            pk=f"{receipt_key}|{line}",
            event_type="inbound.advised",
            occurred=occurred,
            site_id=site,
        ),
        po_id=row.required_text("ExternPOKey"),
        asn_id=row.text("ExternReceiptKey") or receipt_key,
        asn_line=(
            quirks.line_number(quirks.wms_line_to_lnid(extern_line)) if extern_line else line
        ),
        item_id=row.required_text("Sku"),
        quantity=expected,
        original=Quantity(value=expected, uom=uom) if uom else None,
        lot=row.text("Lottable02"),
    )
