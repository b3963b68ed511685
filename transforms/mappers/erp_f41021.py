"""ERP ``f41021`` item location balances → ``inventory.balance_opened`` (opening stock only).

A balance row is book state: every later update of it is the sum of documents that are
reported as their own events (receipts from ``f43121``, shipments from the WMS ``ORDERS``,
adjustments from the WMS journal, commitments from the order lines), so updates map to
nothing and nothing is counted twice. Only a balance's *opening* quantity has no document
behind it: a row created holding stock (a go-live load, or the row as read by a snapshot) is
reported once as ``inventory.balance_opened``. A live JDE program creates a balance row
with zero quantities and then updates it, so that case maps to nothing. Quantities are in the
item's primary unit with two implied decimals; stock with a lot status or in inspection
(``liqtin``) is on hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from transforms import quirks
from transforms.envelope import ChangeEvent, Op
from transforms.events import InventoryBalanceOpened
from transforms.mapping import Output, erp_occurred, header, jde_columns, mapper, pk_of
from transforms.reference import Reference

COLUMNS = jde_columns(
    "li",
    [
        "liitm",
        "limcu",
        "lilocn",
        "lilotn",
        "lipbin",
        "lilots",
        "lipqoh",
        "lipcom",
        "lihcom",
        "lifcom",
        "lipreq",
        "liqttr",
        "liqtin",
        "lilrcj",
    ],
)
PK = ("liitm", "limcu", "lilocn", "lilotn")


# Updates and deletes are skipped before their rows are decoded (most of this table's traffic).
@mapper("erp", "f41021", columns=COLUMNS, ignores=(Op.UPDATE, Op.DELETE))
def item_balances(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    itm = str(row.required_integer("liitm"))
    if change.op not in (Op.CREATE, Op.READ):
        return  # updates are the documents' sums; deletes of emptied rows are housekeeping
    on_hand = quirks.implied(row.decimal("lipqoh") or Decimal(0), quirks.QUANTITY_SCALE)
    inspection = quirks.implied(row.decimal("liqtin") or Decimal(0), quirks.QUANTITY_SCALE)
    on_hold = on_hand if row.text("lilots") else min(inspection, on_hand)
    if not on_hand:
        return  # an empty balance row: nothing opened
    item = ref.item(itm)
    site = quirks.business_unit(row.raw_text("limcu"))
    yield InventoryBalanceOpened(
        **header(
            change,
            pk=pk_of(row, PK),
            event_type="inventory.balance_opened",
            occurred=erp_occurred(row, "li", ref.site_zone(site)),
            site_id=site,
        ),
        item_id=item.item_id,
        on_hand=quirks.tidy(on_hand),
        on_hold=quirks.tidy(on_hold),
        base_uom=item.base_uom,
        lot=row.text("lilotn"),
        location=row.text("lilocn"),
    )
