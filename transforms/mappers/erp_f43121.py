"""ERP ``f43121`` PO receiver → ``goods.received`` / ``receipt.reversed``.

Match type ``prmatc`` 1 is a receipt, 4 a receipt reversal, 2/3 voucher rows (not receipts).
``prmatc`` is part of the primary key, so a reversal (1 → 4) reaches CDC as a DELETE of the
type-1 row and a CREATE of the type-4 row in one transaction. The CREATE carries the whole
reversal (same receipt id, built from the key without ``prmatc``), so the DELETE half maps to
nothing: the pair becomes exactly one ``receipt.reversed`` and never a cancellation.
``pruopn`` (what the PO line still expects after the receipt, 0 once the receipt closed it)
is reported as the receipt's ``open_quantity``.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms import quirks
from transforms.envelope import ChangeEvent, Op, Row
from transforms.events import GoodsReceived, ReceiptReversed
from transforms.mapping import Output, erp_quantity, header, jde_columns, mapper, pk_of
from transforms.reference import Reference

COLUMNS = jde_columns(
    "pr",
    [
        "prmatc",
        "prkcoo",
        "prdoco",
        "prdcto",
        "prsfxo",
        "prlnid",
        "prnlin",
        "prdoc",
        "prdct",
        "pran8",
        "pritm",
        "prlitm",
        "prmcu",
        "prlocn",
        "prlotn",
        "pruom",
        "pruorg",
        "prurec",
        "pruopn",
        "prprrc",
        "praexp",
        "prcrcd",
        "prrcdj",
        "prdgl",
        "prlttr",
        "prnxtr",
    ],
)
PK = ("prmatc", "prkcoo", "prdoco", "prdcto", "prsfxo", "prlnid", "prnlin", "prdoc")
RECEIPT = "1"
REVERSAL = "4"


def receipt_id(row: Row, po_id: str, line_no: str) -> str:
    return f"{po_id}/{line_no}/{row.required_integer('prnlin')}/{row.required_integer('prdoc')}"


@mapper("erp", "f43121", columns=COLUMNS)
def receipts(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    matc = row.text("prmatc")
    was_receipt = change.before is not None and change.before.text("prmatc") == RECEIPT
    if change.op is Op.DELETE:
        return  # the DELETE half of a 1 → 4 key change, or a purge: the CREATE speaks
    reversal = matc == REVERSAL and (change.op is not Op.UPDATE or was_receipt)
    if change.op is Op.UPDATE and not reversal:
        return  # voucher match / audit updates of a receipt row change no quantity
    if matc not in (RECEIPT, REVERSAL):
        return  # voucher rows (2, 3)
    pk = pk_of(row, PK)
    site = quirks.business_unit(row.raw_text("prmcu"))
    zone = ref.site_zone(site)
    po_id = quirks.document_id(
        row.text("prkcoo"), row.text("prdcto"), row.required_integer("prdoco")
    )
    line_no = quirks.line_number(row.required_integer("prlnid"))
    item_id, quantity, base_uom, original = erp_quantity(
        ref, row, itm_column="pritm", qty_column="prurec", uom_column="pruom", branch=site
    )
    received = quirks.julian_date(row.integer("prrcdj"))
    # pruopn is what the PO line still expects after this receipt, in the same unit.
    open_quantity = None
    if row.decimal("pruopn") is not None:
        _, open_quantity, _, _ = erp_quantity(
            ref, row, itm_column="pritm", qty_column="pruopn", uom_column="pruom", branch=site
        )
    occurred = quirks.erp_datetime(row.integer("prupmj"), row.integer("prtday"), zone)
    common = {
        "po_id": po_id,
        "line_id": f"{po_id}/{line_no}",
        "receipt_id": receipt_id(row, po_id, line_no),
        "item_id": item_id,
        "quantity": quantity,
        "base_uom": base_uom,
        "original": original,
    }
    if reversal:
        yield ReceiptReversed(
            **header(change, pk=pk, event_type="receipt.reversed", occurred=occurred, site_id=site),
            **common,
        )
        return
    yield GoodsReceived(
        **header(change, pk=pk, event_type="goods.received", occurred=occurred, site_id=site),
        **common,
        lot=row.text("prlotn"),
        location=row.text("prlocn"),
        received_date=received,
        open_quantity=open_quantity,
    )
