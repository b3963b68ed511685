"""ERP ``f4211`` sales order detail → ``order.placed`` / ``order.line_changed`` /
``order.cancelled``.

Undoes: the composite key (``kcoo-dcto-doco`` / line ``lnid`` ÷ 1000), the right-justified
business unit, CHAR padding, Julian dates, implied decimals (quantities x100, prices by
currency), the transaction UoM (converted to the item's base unit, original kept), audit-only
updates (suppressed), status progress without a changed line field (suppressed: the
WMS events report the steps), and the purge of closed lines to ``f42119`` (a DELETE of a status-999
line is an archive move, not a cancellation). Status 980 is a cancellation. A new line whose
number is not a whole line (``1.001``) is the backorder split of a partial ship, reported as a
change of that line, not as a new order line.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from transforms import quirks
from transforms.envelope import ChangeEvent, Op, Row
from transforms.events import OrderCancelled, OrderLineChanged, OrderPlaced
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
from transforms.reference import Reference, StateUpdate

COLUMNS = jde_columns(
    "sd",
    [
        "sdkcoo",
        "sddoco",
        "sddcto",
        "sdlnid",
        "sdmcu",
        "sdan8",
        "sdshan",
        "sdvr01",
        "sditm",
        "sdlitm",
        "sdaitm",
        "sdlocn",
        "sdlotn",
        "sdlnty",
        "sduom",
        "sduorg",
        "sdsoqs",
        "sdsobk",
        "sdsocn",
        "sduprc",
        "sdaexp",
        "sdcrcd",
        "sdtrdj",
        "sddrqj",
        "sdppdj",
        "sdrsdj",
        "sdaddj",
        "sdivd",
        "sdlttr",
        "sdnxtr",
    ],
)
BUSINESS = jde_business("sd", COLUMNS)
#: Columns a status step writes: the next status (release 540, ship confirm 560 with shipped and
#: cancelled-at-ship quantities and the ship date, sales update 620/999 with the invoice date).
#: Those steps are reported by their own events (the WMS allocation, pick and dispatch), so an
#: update touching only these is no ``order.line_changed``.
PROGRESS = frozenset({"sdlttr", "sdnxtr", "sdsoqs", "sdsocn", "sdaddj", "sdivd"})
PK = ("sdkcoo", "sddoco", "sddcto", "sdlnid")
CANCELLED = "980"
CLOSED = "999"


def order_id_of(row: Row) -> str:
    """The order's id from the composite JDE key, ``kcoo-dcto-doco`` (also the business key
    ``scv sim verify`` finds a quarantined row by: ``transforms.readback``)."""
    return quirks.document_id(
        row.text("sdkcoo"), row.text("sddcto"), row.required_integer("sddoco")
    )


def order_ids(row: Row) -> tuple[str, str, str]:
    """(order_id, line_id, line_no) from the composite JDE key."""
    order = order_id_of(row)
    line_no = quirks.line_number(row.required_integer("sdlnid"))
    return order, f"{order}/{line_no}", line_no


def _party(row: Row, column: str) -> str | None:
    value = row.integer(column)
    return str(value) if value else None


def _entered_before(
    ref: Reference, order_id: str, line_no: str, item_id: str, quantity: Decimal
) -> tuple[bool, StateUpdate | None]:
    """Whether an earlier line of the order has the same item and base quantity (a line
    entered twice), and the state update remembering this line (reference state
    ``order_lines|<order>``: the raw topic is keyed by order, so its lines arrive in the
    order they were entered and the first entry is the one that passes)."""
    key = f"order_lines|{order_id}"
    state = ref.state(key)
    lines: list[list[str]] = [] if state is None else [list(x) for x in state.get("lines", [])]
    signature = [item_id, str(quantity.normalize())]
    if any(other != line_no and [item, qty] == signature for other, item, qty in lines):
        return True, None
    if any(other == line_no for other, _item, _qty in lines):
        return False, None
    return False, StateUpdate(key, {"lines": [*lines, [line_no, *signature]]})


def _cancels(change: ChangeEvent) -> bool:
    """Whether an update moved the line to status 980 (cancelled) from a status that was not."""
    before, after = change.before, change.after
    if before is None or after is None:
        return False
    was_cancelled = CANCELLED in (before.text("sdlttr"), before.text("sdnxtr"))
    return after.text("sdlttr") == CANCELLED and not was_cancelled


@mapper("erp", "f4211", columns=COLUMNS)
def sales_order_lines(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    changed = changed_columns(change, BUSINESS)  # () unless an update
    cancels = False
    if change.op is Op.UPDATE:
        if not changed:
            return  # audit-only touch (a batch program rewrote user/pid/date): most updates
        cancels = _cancels(change)
        if not cancels and PROGRESS.issuperset(changed):
            return  # status progress (release, ship confirm, sales update): other events say it
    row = change.row
    pk = pk_of(row, PK)
    site = quirks.business_unit(row.raw_text("sdmcu"))
    zone = ref.site_zone(site)
    order_id, line_id, line_no = order_ids(row)
    occurred = erp_occurred(row, "sd", zone)

    if change.op is Op.DELETE:
        if CLOSED in (row.text("sdlttr"), row.text("sdnxtr")):
            return  # purged to f42119: an archive move
        yield OrderCancelled(
            **header(change, pk=pk, event_type="order.cancelled", site_id=site),
            order_id=order_id,
            line_id=line_id,
            reason="deleted",
        )
        return

    if change.op in (Op.CREATE, Op.READ):
        item_id, quantity, base_uom, original = erp_quantity(
            ref, row, itm_column="sditm", qty_column="sduorg", uom_column="sduom", branch=site
        )
        if row.required_integer("sdlnid") % 1000:
            yield OrderLineChanged(
                **header(
                    change, pk=pk, event_type="order.line_changed", occurred=occurred, site_id=site
                ),
                order_id=order_id,
                line_id=line_id,
                changes=(),
                status=row.text("sdlttr"),
                quantity=quantity,
                base_uom=base_uom,
            )
            return
        currency = row.text("sdcrcd")
        price = row.decimal("sduprc")
        duplicate, update = _entered_before(ref, order_id, line_no, item_id, quantity)
        if update is not None:
            yield update
        yield OrderPlaced(
            **header(change, pk=pk, event_type="order.placed", occurred=occurred, site_id=site),
            order_id=order_id,
            line_id=line_id,
            line_no=line_no,
            item_id=item_id,
            item_short=str(row.required_integer("sditm")),
            gtin=row.text("sdaitm"),
            quantity=quantity,
            base_uom=base_uom,
            original=original,
            customer_id=_party(row, "sdan8"),
            ship_to=_party(row, "sdshan"),
            customer_po=row.text("sdvr01"),
            order_date=quirks.julian_date(row.integer("sdtrdj")),
            requested_date=quirks.julian_date(row.integer("sddrqj")),
            promised_ship_date=quirks.julian_date(row.integer("sdppdj")),
            promised_delivery_date=quirks.julian_date(row.integer("sdrsdj")),
            unit_price=quirks.unit_price(price, currency) if price and currency else None,
            currency=currency,
            status=row.text("sdlttr"),
            duplicate=duplicate,
        )
        return

    if cancels:
        cancelled = row.decimal("sdsocn") or row.decimal("sduorg")
        item_id, quantity, base_uom, _ = erp_quantity(
            ref, row, itm_column="sditm", qty_column="sduorg", uom_column="sduom", branch=site
        )
        yield OrderCancelled(
            **header(change, pk=pk, event_type="order.cancelled", occurred=occurred, site_id=site),
            order_id=order_id,
            line_id=line_id,
            cancelled_quantity=quantity if cancelled else None,
            base_uom=base_uom,
            reason="cancelled",
        )
        return
    _, quantity, base_uom, _ = erp_quantity(
        ref, row, itm_column="sditm", qty_column="sduorg", uom_column="sduom", branch=site
    )
    yield OrderLineChanged(
        **header(change, pk=pk, event_type="order.line_changed", occurred=occurred, site_id=site),
        order_id=order_id,
        line_id=line_id,
        changes=field_changes(change, changed),
        status=row.text("sdlttr"),
        quantity=quantity,
        base_uom=base_uom,
    )
