"""The nightly job's queries: plain SQL over the legacy ERP and WMS, one read after the other.

Each read is its own database transaction, timed (``Read``), in the order the old job runs
them: reference data, the ERP book, the WMS bins, the shipped WMS orders with their picks and
their ERP lines, the ERP receipts, and at the end the control re-query of the shipped orders.
There is no snapshot across the two databases (there cannot be), and the shipments are
selected by their ``EditDate`` stamp, not by when they committed: both are where the job's
defects come from (``defects``). Everything returned is converted the way the old job did it:
implied decimals undone, order and receipt units converted to the base unit with F41002
(item + branch first, then item), local dates and times placed in the branch's zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, DateTime, Engine, bindparam, text
from sqlalchemy.exc import SQLAlchemyError

from legacy_sim.batch.documents import (
    BinRow,
    BookRow,
    Extract,
    ItemMaster,
    OrderLineRow,
    PickRow,
    Read,
    ReceiptRow,
    ShipmentRow,
)
from legacy_sim.errors import SimDatabaseError

T = TypeVar("T")
HUNDRED = Decimal(100)
CONVERSION_SCALE = Decimal(10_000_000)


@dataclass(frozen=True, slots=True)
class _Reference:
    zones: Mapping[str, ZoneInfo]
    items: Mapping[str, ItemMaster]
    #: (short item, branch or "", unit) → factor to the primary unit.
    factors: Mapping[tuple[int, str, str], Decimal]

    def zone(self, site: str) -> ZoneInfo:
        return self.zones.get(site, ZoneInfo("UTC"))

    def factor(self, itm: int, branch: str, uom: str, base: str) -> Decimal:
        if uom == base:
            return Decimal(1)
        found = self.factors.get((itm, branch, uom)) or self.factors.get((itm, "", uom))
        return found if found is not None else Decimal(1)


def read(
    erp: Engine,
    wms: Engine,
    *,
    at: datetime,
    since: datetime,
    defects: frozenset[str],
    clock: Callable[[], datetime],
) -> Extract:
    reads: dict[str, Read] = {}

    def timed(name: str, engine: Engine, db: str, query: Callable[[Connection], T]) -> T:
        started = clock()
        try:
            with engine.begin() as conn:
                result = query(conn)
        except SQLAlchemyError as exc:
            code = f" ({exc.code})" if getattr(exc, "code", None) else ""
            raise SimDatabaseError(
                f"batch: the {db} refused the {name} query: {type(exc).__name__}{code} "
                "(is it initialised? `scv sim init`)"
            ) from None
        reads[name] = Read(started, clock())
        return result

    ref = timed("reference", erp, "ERP", _reference)
    book = timed("erp_book", erp, "ERP", _book)
    bins = timed("wms_bins", wms, "WMS", _bins)
    window = (since, at)
    orders = timed("wms_orders", wms, "WMS", lambda c: _shipped_orders(c, ref, window))
    receipts = timed("erp_receipts", erp, "ERP", lambda c: _receipts(c, ref, window))
    # The control re-query: the job's last step counts the day's shipped orders again.
    again = timed("wms_orders_control", wms, "WMS", lambda c: _shipped_orders(c, ref, window))
    first = {o["OrderKey"] for o in orders}
    late = [o for o in again if o["OrderKey"] not in first]
    if "missed_late_commit" not in defects:
        orders, late = again, []
    lines = timed("erp_order_lines", erp, "ERP", lambda c: _order_lines(c, ref, [*orders, *late]))
    return Extract(
        at=at,
        since=since,
        items=ref.items,
        book=book,
        bins=bins,
        shipments=tuple(_shipment(o, lines, ref) for o in orders),
        late_shipments=tuple(_shipment(o, lines, ref) for o in late),
        receipts=tuple(receipts),
        reads=reads,
    )


# --- reference data --------------------------------------------------------------------------


def _reference(conn: Connection) -> _Reference:
    zones: dict[str, ZoneInfo] = {}
    for r in conn.execute(
        text("SELECT trim(mcmcu) AS site, trim(mctzid) AS tz FROM proddta.f0006")
    ):
        try:
            zones[r.site] = ZoneInfo(r.tz)
        except (ZoneInfoNotFoundError, ValueError):
            zones[r.site] = ZoneInfo("UTC")
    items: dict[str, ItemMaster] = {}
    shorts: dict[int, str] = {}
    rows = conn.execute(
        text(
            "SELECT imitm, rtrim(imlitm) AS item, rtrim(imaitm) AS gtin, rtrim(imuom1) AS uom "
            "FROM proddta.f4101"
        )
    )
    for r in rows:
        items[r.item] = ItemMaster(item_id=r.item, gtin=r.gtin or None, base_uom=r.uom or "EA")
        shorts[int(r.imitm)] = r.item
    factors: dict[tuple[int, str, str], Decimal] = {}
    rows = conn.execute(
        text("SELECT umitm, trim(ummcu) AS branch, rtrim(umum) AS uom, umcnv1 FROM proddta.f41002")
    )
    for r in rows:
        factors[(int(r.umitm), r.branch, r.uom)] = Decimal(r.umcnv1) / CONVERSION_SCALE
    return _Reference(zones=zones, items=items, factors=factors)


# --- the 846's two reads ---------------------------------------------------------------------


def _book(conn: Connection) -> dict[tuple[str, str], BookRow]:
    rows = conn.execute(
        text(
            """
            SELECT trim(l.limcu) AS site, rtrim(m.imlitm) AS item,
                   sum(l.lipqoh) AS on_hand, sum(l.lipcom + l.lihcom) AS committed
            FROM proddta.f41021 l JOIN proddta.f4101 m ON m.imitm = l.liitm
            GROUP BY 1, 2
            """
        )
    )
    return {
        (r.site, r.item): BookRow(Decimal(r.on_hand) / HUNDRED, Decimal(r.committed) / HUNDRED)
        for r in rows
    }


def _bins(conn: Connection) -> dict[tuple[str, str], BinRow]:
    rows = conn.execute(
        text(
            """
            SELECT l.Facility AS site, x.Sku AS item, sum(x.Qty) AS qty,
                   sum(x.QtyPicked) AS picked
            FROM LOTxLOCxID x JOIN LOC l ON l.Loc = x.Loc
            GROUP BY l.Facility, x.Sku
            """
        )
    )
    return {(r.site, r.item): BinRow(Decimal(r.qty), Decimal(r.picked)) for r in rows}


# --- shipments -------------------------------------------------------------------------------


def _blank(value: Any) -> str | None:
    text_ = str(value).strip() if value is not None else ""
    return text_ or None


def _shipped_orders(
    conn: Connection, ref: _Reference, window: tuple[datetime, datetime]
) -> list[dict[str, Any]]:
    """Orders of Status 9 stamped (``EditDate``, facility time) within the window, with their
    shipped picks, as the query sees them when it starts."""
    since, at = window
    # A broad local-time range first (zones differ by facility), the exact window per row.
    lo = since.astimezone(UTC).replace(tzinfo=None) - timedelta(hours=15)
    hi = at.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=15)
    rows = conn.execute(
        text(
            """
            SELECT OrderKey, ExternOrderKey, Facility, ConsigneeKey, ExternPOKey, EditDate,
                   LoadKey, MBOLKey, TrackingNo
            FROM ORDERS WHERE Status = '9' AND EditDate > :lo AND EditDate <= :hi
            """
        )
        .bindparams(bindparam("lo", type_=DateTime), bindparam("hi", type_=DateTime))
        .columns(EditDate=DateTime),
        {"lo": lo, "hi": hi},
    )
    orders = []
    for r in rows:
        site = str(r.Facility).strip()
        shipped = r.EditDate.replace(tzinfo=ref.zone(site)).astimezone(UTC)
        if since < shipped <= at:
            orders.append(dict(r._mapping) | {"site": site, "shipped_at": shipped, "picks": []})
    if not orders:
        return orders
    by_key = {o["OrderKey"]: o for o in orders}
    picks = conn.execute(
        text(
            """
            SELECT OrderKey, OrderLineNumber, Sku, Lot, CaseID, Qty FROM PICKDETAIL
            WHERE Status = '9' AND OrderKey IN :keys
            ORDER BY OrderKey, OrderLineNumber, CaseID, Lot
            """
        ).bindparams(bindparam("keys", expanding=True)),
        {"keys": sorted(by_key)},
    )
    for p in picks:
        by_key[p.OrderKey]["picks"].append(
            PickRow(
                line_no=f"{Decimal(int(p.OrderLineNumber)):.3f}",
                item_id=str(p.Sku).strip(),
                lot=_blank(p.Lot),
                case_id=_blank(p.CaseID),
                qty=Decimal(p.Qty),
            )
        )
    return orders


def _doco(order_id: str) -> int | None:
    try:
        return int(order_id.rsplit("-", 1)[-1])
    except ValueError:
        return None


def _order_lines(
    conn: Connection, ref: _Reference, orders: Iterable[dict[str, Any]]
) -> dict[str, list[OrderLineRow]]:
    """The ERP lines (open table and archive) of the shipped orders, cancelled ones left out."""
    docos = sorted({d for o in orders if (d := _doco(str(o["ExternOrderKey"]).strip()))})
    found: dict[str, list[OrderLineRow]] = {}
    if not docos:
        return found
    for table in ("f4211", "f42119"):
        rows = conn.execute(
            text(
                f"""
                SELECT trim(sdkcoo) AS kcoo, trim(sddcto) AS dcto, sddoco, sdlnid, sditm,
                       rtrim(sdlitm) AS item, rtrim(sduom) AS uom, sduorg,
                       trim(sdlttr) AS lttr, trim(sdmcu) AS branch
                FROM proddta.{table} WHERE sddoco IN :docos AND sddcto = 'SO'
                """
            ).bindparams(bindparam("docos", expanding=True)),
            {"docos": docos},
        )
        for r in rows:
            if r.lttr == "980":
                continue
            master = ref.items.get(r.item)
            base = master.base_uom if master else "EA"
            order_id = f"{r.kcoo}-{r.dcto}-{int(r.sddoco)}"
            found.setdefault(order_id, []).append(
                OrderLineRow(
                    line_no=f"{Decimal(int(r.sdlnid)).scaleb(-3):.3f}",
                    item_id=r.item,
                    ordered=Decimal(r.sduorg) / HUNDRED,
                    uom=r.uom,
                    factor=ref.factor(int(r.sditm), r.branch, r.uom, base),
                )
            )
    return found


def _shipment(
    order: dict[str, Any], lines: Mapping[str, list[OrderLineRow]], ref: _Reference
) -> ShipmentRow:
    order_id = str(order["ExternOrderKey"]).strip()
    key = str(order["OrderKey"]).strip()
    return ShipmentRow(
        shipment_id=_blank(order["MBOLKey"]) or _blank(order["LoadKey"]) or key,
        order_id=order_id,
        order_key=key,
        site_id=order["site"],
        shipped_at=order["shipped_at"],
        ship_to=_blank(order["ConsigneeKey"]),
        customer_po=_blank(order["ExternPOKey"]),
        load_id=_blank(order["LoadKey"]),
        tracking_no=_blank(order["TrackingNo"]),
        lines=tuple(lines.get(order_id, ())),
        picks=tuple(order["picks"]),
    )


# --- receipts --------------------------------------------------------------------------------


def julian_date(value: int) -> date:
    """JDE ``CYYDDD`` → date (``126061`` → 2026-03-02)."""
    return date(1900 + value // 1000, 1, 1) + timedelta(days=value % 1000 - 1)


def julian(day: date) -> int:
    return (day.year - 1900) * 1000 + day.timetuple().tm_yday


def hhmmss(value: int) -> time:
    return time(value // 10000, value // 100 % 100, value % 100)


def _receipts(
    conn: Connection, ref: _Reference, window: tuple[datetime, datetime]
) -> list[ReceiptRow]:
    """Receipt lines (match type 1, and 4 = reversed since) received within the window.

    The receipt moment is the receipt date ``prrcdj`` at the row's ``prtday``, branch time.
    """
    since, at = window
    rows = conn.execute(
        text(
            """
            SELECT prmatc, trim(prkcoo) AS kcoo, trim(prdcto) AS dcto, prdoco, prlnid, prnlin,
                   prdoc, pritm, rtrim(prlitm) AS item, trim(prmcu) AS branch,
                   rtrim(prlotn) AS lot, rtrim(pruom) AS uom, prurec, prrcdj, prtday
            FROM proddta.f43121
            WHERE prmatc IN ('1', '4') AND prrcdj BETWEEN :lo AND :hi
            """
        ),
        {
            "lo": julian(since.astimezone(UTC).date() - timedelta(days=1)),
            "hi": julian(at.astimezone(UTC).date() + timedelta(days=1)),
        },
    )
    found = []
    for r in rows:
        zone = ref.zone(r.branch)
        moment = datetime.combine(julian_date(int(r.prrcdj)), hhmmss(int(r.prtday)), zone)
        received = moment.astimezone(UTC)
        if not since < received <= at:
            continue
        master = ref.items.get(r.item)
        base = master.base_uom if master else "EA"
        po_id = f"{r.kcoo}-{r.dcto}-{int(r.prdoco)}"
        line_no = f"{Decimal(int(r.prlnid)).scaleb(-3):.3f}"
        factor = ref.factor(int(r.pritm), r.branch, r.uom, base)
        found.append(
            ReceiptRow(
                receipt_id=f"{po_id}/{line_no}/{int(r.prnlin)}/{int(r.prdoc)}",
                receiver=str(int(r.prdoc)),
                po_id=po_id,
                site_id=r.branch,
                item_id=r.item,
                lot=r.lot or None,
                quantity=Decimal(r.prurec) / HUNDRED * factor,
                received_at=received,
                reversed=str(r.prmatc).strip() == "4",
            )
        )
    return found
