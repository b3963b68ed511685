"""Today's truth straight from the legacy databases, for reconciliation and invariants.

Quantities are returned in the primary UoM as ``Decimal`` (implied decimals undone, case
quantities converted with F41002 precedence: item + branch, then item). Keys are canonical:
``site_id`` = trimmed business unit / WMS Facility, ``item_id`` = trimmed LITM / WMS Sku,
``order_id`` = ``kcoo-SO-doco``, line ``1.000``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, text

# Base-unit quantity of an ERP order/PO line column (x100 implied, UoM converted).
_TO_BASE = """
    ({col} / 100.0) * CASE WHEN {uom} = 'EA' THEN 1
        ELSE coalesce(b.umcnv1, i.umcnv1) / 10000000.0 END
"""
_CONV_JOIN = """
    LEFT JOIN proddta.f41002 b ON b.umitm = {itm} AND b.ummcu = {mcu}
        AND b.umum = {uom} AND b.umrum = 'EA'
    LEFT JOIN proddta.f41002 i ON i.umitm = {itm} AND i.ummcu = ' '
        AND i.umum = {uom} AND i.umrum = 'EA'
"""


@dataclass(frozen=True, slots=True)
class Position:
    on_hand: Decimal
    soft_committed: Decimal
    hard_committed: Decimal
    on_order: Decimal

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.soft_committed - self.hard_committed


def erp_positions(erp: Connection) -> dict[tuple[str, str], Position]:
    """Per (site_id, item_id) from F41021."""
    result = erp.execute(
        text(
            """
            SELECT trim(l.limcu) AS site, rtrim(m.imlitm) AS item,
                   sum(l.lipqoh) / 100 AS on_hand, sum(l.lipcom) / 100 AS soft,
                   sum(l.lihcom) / 100 AS hard, sum(l.lipreq) / 100 AS on_order
            FROM proddta.f41021 l JOIN proddta.f4101 m ON m.imitm = l.liitm
            GROUP BY 1, 2
            """
        )
    )
    return {
        (r.site, r.item): Position(
            Decimal(r.on_hand), Decimal(r.soft), Decimal(r.hard), Decimal(r.on_order)
        )
        for r in result
    }


@dataclass(frozen=True, slots=True)
class WmsPosition:
    qty: int
    allocated: int
    picked: int

    @property
    def available(self) -> int:
        return self.qty - self.allocated - self.picked


def wms_positions(wms: Connection) -> dict[tuple[str, str], WmsPosition]:
    """Per (site_id, item_id) from LOTxLOCxID joined to LOC for the facility."""
    result = wms.execute(
        text(
            """
            SELECT l.Facility AS site, x.Sku AS item, sum(x.Qty) AS qty,
                   sum(x.QtyAllocated) AS allocated, sum(x.QtyPicked) AS picked
            FROM LOTxLOCxID x JOIN LOC l ON l.Loc = x.Loc
            GROUP BY l.Facility, x.Sku
            """
        )
    )
    return {
        (r.site, r.item): WmsPosition(int(r.qty), int(r.allocated), int(r.picked)) for r in result
    }


def wms_invariant_violations(wms: Connection) -> list[tuple[str, str, str]]:
    """LOTxLOCxID rows breaking ``Qty + QtyExpected >= QtyAllocated + QtyPicked`` or < 0."""
    result = wms.execute(
        text(
            """
            SELECT Lot, Loc, Id FROM LOTxLOCxID
            WHERE Qty + QtyExpected < QtyAllocated + QtyPicked
               OR Qty < 0 OR QtyAllocated < 0 OR QtyPicked < 0
            """
        )
    )
    return [(r.Lot, r.Loc, r.Id) for r in result]


def _line_sums(
    erp: Connection, where: str, exclude: Iterable[int]
) -> dict[tuple[str, str], Decimal]:
    excluded = sorted(set(exclude)) or [-1]
    sql = f"""
        SELECT trim(s.sdmcu) AS site, rtrim(s.sdlitm) AS item,
               sum({_TO_BASE.format(col="s.sduorg", uom="s.sduom")}) AS qty
        FROM proddta.f4211 s
        {_CONV_JOIN.format(itm="s.sditm", mcu="s.sdmcu", uom="s.sduom")}
        WHERE {where} AND NOT (s.sddoco = ANY(:excluded))
        GROUP BY 1, 2
    """
    rows = erp.execute(text(sql), {"excluded": excluded})
    return {(r.site, r.item): Decimal(r.qty) for r in rows}


def open_po_quantities(erp: Connection) -> dict[tuple[str, str], Decimal]:
    """Open PO quantity per (site_id, item_id), in base units (``pduopn`` of open lines)."""
    sql = f"""
        SELECT trim(p.pdmcu) AS site, rtrim(p.pdlitm) AS item,
               sum({_TO_BASE.format(col="p.pduopn", uom="p.pduom")}) AS qty
        FROM proddta.f4311 p
        {_CONV_JOIN.format(itm="p.pditm", mcu="p.pdmcu", uom="p.pduom")}
        WHERE p.pdnxtr <> '999'
        GROUP BY 1, 2
    """
    return {(r.site, r.item): Decimal(r.qty) for r in erp.execute(text(sql))}


#: JDE status pairs (LTTR, NXTR) → canonical line status (research §7).
LINE_STATUS: dict[tuple[str, str], str] = {
    ("520", "540"): "PLACED",
    ("540", "560"): "RELEASED",
    ("560", "620"): "SHIPPED",
    ("620", "999"): "INVOICED",
    ("980", "999"): "CANCELLED",
}


def order_line_status(erp: Connection) -> dict[tuple[str, str], str]:
    """(order_id, line) → canonical status for open lines; archived lines are ``CLOSED``."""
    result: dict[tuple[str, str], str] = {}
    for table in ("f42119", "f4211"):
        rows = erp.execute(
            text(
                f"SELECT trim(sdkcoo) AS kcoo, sddoco, sdlnid, sdlttr, sdnxtr FROM proddta.{table}"
            )
        )
        for r in rows:
            key = (f"{r.kcoo}-SO-{int(r.sddoco)}", f"{Decimal(r.sdlnid).scaleb(-3):.3f}")
            if table == "f42119":
                result[key] = "CLOSED"
            else:
                result[key] = LINE_STATUS.get((r.sdlttr.strip(), r.sdnxtr.strip()), "UNKNOWN")
    return result


@dataclass(frozen=True, slots=True)
class Mismatch:
    site_id: str
    item_id: str
    bucket: str
    book: Decimal
    expected: Decimal


def erp_bucket_mismatches(erp: Connection, exclude_orders: Iterable[int] = ()) -> list[Mismatch]:
    """F41021 buckets against the documents behind them: soft commit = open 520 lines, hard
    commit = released 540 lines, on order = open PO quantity. ``exclude_orders`` are the
    DOCOs of defective orders (from the ledger), which a legacy ERP would never commit."""
    exclude = list(exclude_orders)
    soft = _line_sums(erp, "s.sdlttr = '520' AND s.sdnxtr = '540'", exclude)
    hard = _line_sums(erp, "s.sdlttr = '540'", exclude)
    on_order = open_po_quantities(erp)
    found: list[Mismatch] = []
    for (site, item), pos in erp_positions(erp).items():
        for bucket, book, expected in (
            ("soft_committed", pos.soft_committed, soft.get((site, item), Decimal(0))),
            ("hard_committed", pos.hard_committed, hard.get((site, item), Decimal(0))),
            ("on_order", pos.on_order, on_order.get((site, item), Decimal(0))),
        ):
            if book != expected:
                found.append(Mismatch(site, item, bucket, book, expected))
    return found


def on_hand_mismatches(erp: Connection, wms: Connection) -> list[Mismatch]:
    """ERP book on-hand against the WMS physical quantity per site x item."""
    book = erp_positions(erp)
    physical = wms_positions(wms)
    found: list[Mismatch] = []
    for key in sorted(set(book) | set(physical)):
        b = book[key].on_hand if key in book else Decimal(0)
        p = Decimal(physical[key].qty) if key in physical else Decimal(0)
        if b != p:
            found.append(Mismatch(key[0], key[1], "on_hand", b, p))
    return found
