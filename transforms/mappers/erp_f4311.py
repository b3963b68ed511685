"""ERP ``f4311`` purchase order detail → ``po.issued`` / ``po.changed``.

Same JDE conventions as sales lines: composite key ``kcoo-dcto-doco`` with line ``lnid`` ÷
1000, right-justified branch, Julian dates (``pdpddj`` = promised, the OTIF baseline), implied
decimals (quantities x100, cost by currency), transaction UoM → base unit; audit-only updates
and pure status progress (ASN, receipt, reversal: reported by their own events) are suppressed.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms import quirks
from transforms.envelope import ChangeEvent, Op
from transforms.events import PoChanged, PoIssued
from transforms.mapping import (
    Output,
    changed_columns,
    erp_occurred,
    erp_quantity,
    field_changes,
    header,
    jde_business,
    jde_columns,
    mapper,
    pk_of,
)
from transforms.reference import Reference

COLUMNS = jde_columns(
    "pd",
    [
        "pdkcoo",
        "pddoco",
        "pddcto",
        "pdsfxo",
        "pdlnid",
        "pdmcu",
        "pdan8",
        "pditm",
        "pdlitm",
        "pdaitm",
        "pduom",
        "pduorg",
        "pdurec",
        "pduopn",
        "pdprrc",
        "pdaexp",
        "pdcrcd",
        "pdtrdj",
        "pddrqj",
        "pdpddj",
        "pdlttr",
        "pdnxtr",
    ],
)
BUSINESS = jde_business("pd", COLUMNS)
#: Columns the inbound steps write (ASN 280, receipt 400/999 with the received and open
#: quantities, reversal back to 280): reported as ``inbound.advised``, ``goods.received`` and
#: ``receipt.reversed``, so an update touching only these is no ``po.changed``.
PROGRESS = frozenset({"pdlttr", "pdnxtr", "pdurec", "pduopn"})
#: Last status of a cancelled line: no other event reports a cancellation, so an update to it
#: is a ``po.changed`` (status 980) even though it touches only progress columns.
CANCELLED = "980"
PK = ("pdkcoo", "pddoco", "pddcto", "pdsfxo", "pdlnid")


@mapper("erp", "f4311", columns=COLUMNS)
def purchase_order_lines(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    changed = changed_columns(change, BUSINESS)  # () unless an update
    if change.op is Op.UPDATE and PROGRESS.issuperset(changed) and not _cancels(change, changed):
        return  # audit-only, or status progress reported by the inbound events
    row = change.row
    pk = pk_of(row, PK)
    site = quirks.business_unit(row.raw_text("pdmcu"))
    zone = ref.site_zone(site)
    po_id = quirks.document_id(
        row.text("pdkcoo"), row.text("pddcto"), row.required_integer("pddoco")
    )
    line_no = quirks.line_number(row.required_integer("pdlnid"))
    line_id = f"{po_id}/{line_no}"
    occurred = erp_occurred(row, "pd", zone)
    if change.op is Op.DELETE:
        return  # POs are closed (999) and purged, never deleted while open
    if change.op in (Op.CREATE, Op.READ):
        item_id, quantity, base_uom, original = erp_quantity(
            ref, row, itm_column="pditm", qty_column="pduorg", uom_column="pduom", branch=site
        )
        currency = row.text("pdcrcd")
        cost = row.decimal("pdprrc")
        supplier = row.integer("pdan8")
        yield PoIssued(
            **header(change, pk=pk, event_type="po.issued", occurred=occurred, site_id=site),
            po_id=po_id,
            line_id=line_id,
            line_no=line_no,
            supplier_id=str(supplier) if supplier else None,
            item_id=item_id,
            quantity=quantity,
            base_uom=base_uom,
            original=original,
            unit_cost=quirks.unit_price(cost, currency) if cost and currency else None,
            currency=currency,
            order_date=quirks.julian_date(row.integer("pdtrdj")),
            requested_date=quirks.julian_date(row.integer("pddrqj")),
            promised_date=quirks.julian_date(row.integer("pdpddj")),
            status=row.text("pdlttr"),
        )
        return
    yield PoChanged(
        **header(change, pk=pk, event_type="po.changed", occurred=occurred, site_id=site),
        po_id=po_id,
        line_id=line_id,
        changes=field_changes(change, changed),
        status=row.text("pdlttr"),
        promised_date=quirks.julian_date(row.integer("pdpddj")),
    )


def _cancels(change: ChangeEvent, changed: tuple[str, ...]) -> bool:
    """The update cancels the line: its last status changes to 980."""
    return "pdlttr" in changed and change.row.text("pdlttr") == CANCELLED
