"""Row builders: the simulator's picture of an object → a legacy row, quirks applied.

Every value the databases see is built here, through ``quirks``: right-justified business
units, implied decimals, ``CYYDDD``/``HHMMSS`` in the branch's local time, zero-padded WMS
keys, local ``DATETIME``s. Pure functions of their arguments (the moment is passed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from legacy_sim import quirks
from legacy_sim.quirks import implied_for, julian, mcu
from legacy_sim.schemas.wms import STORER
from legacy_sim.state import Item, Order, OrderLine, PoLine, PurchaseOrder, Site, Stock, World

Row = dict[str, Any]
JOB = "SIMJOB01"
USER = "SIMUSER"


@cache
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


@dataclass(frozen=True, slots=True)
class Moment:
    """One business transaction's 'now', seen from each branch."""

    utc: datetime

    def local(self, site: Site) -> datetime:
        return quirks.local_wall_time(self.utc, _zone(site.tz))

    def today(self, site: Site) -> date:
        return self.local(site).date()

    def jde(self, site: Site) -> tuple[int, int]:
        """(UPMJ, TDAY) of the branch's local wall clock."""
        wall = self.local(site)
        return julian(wall.date()), quirks.hhmmss(wall.time())

    def julian_in(self, site: Site, days: int) -> int:
        return julian(self.today(site) + timedelta(days=days))

    @staticmethod
    def now() -> Moment:
        return Moment(datetime.now(UTC))


def audit(prefix: str, pid: str, site: Site, at: Moment) -> Row:
    upmj, tday = at.jde(site)
    return {
        f"{prefix}user": USER,
        f"{prefix}pid": pid,
        f"{prefix}jobn": JOB,
        f"{prefix}upmj": upmj,
        f"{prefix}tday": tday,
    }


def wms_audit(site: Site, at: Moment, *, add: bool = True) -> Row:
    wall = at.local(site)
    row: Row = {"EditDate": wall, "EditWho": "sim"}
    if add:
        row |= {"AddDate": wall, "AddWho": "sim"}
    return row


def money(value: Decimal, currency: str) -> Decimal:
    step = Decimal(1).scaleb(-quirks.CURRENCY_DECIMALS[currency])
    return value.quantize(step, rounding=ROUND_HALF_UP)


def unit_price(value: Decimal, currency: str) -> Decimal:
    step = Decimal(1).scaleb(-(quirks.CURRENCY_DECIMALS[currency] + 2))
    return value.quantize(step, rounding=ROUND_HALF_UP)


#: USD → currency, fixed for the simulation.
FX: dict[str, Decimal] = {
    "USD": Decimal(1),
    "CAD": Decimal("1.36"),
    "EUR": Decimal("0.92"),
    "JPY": Decimal(150),
    "VND": Decimal(25000),
}


# --- ERP -------------------------------------------------------------------------------------


def f0006(site: Site, company: str, at: Moment) -> Row:
    return {
        "mcmcu": mcu(site.mcu),
        "mcstyl": "BP",
        "mcdl01": site.name,
        "mcco": company,
        "mctzid": site.tz,
    } | audit("mc", "EP0006", site, at)


def f4101(item: Item, site: Site, at: Moment, pid: str = "EP4101") -> Row:
    return {
        "imitm": item.itm,
        "imlitm": item.litm,
        "imaitm": item.aitm,
        "imdsc1": item.dsc,
        "imstkt": "S",
        "imuom1": "EA",
        "imuom3": "CA",
        "imuom4": "EA",
        "imsrp1": "GRO" if not item.cold else "PHA",
        "imsrp2": " ",
        "imsrp3": " ",
        "imsrp4": " ",
        "imsrp5": "CC" if item.cold else " ",
        "imsrce": "1" if item.lot_controlled else " ",
        "imsld": item.shelf_life,
    } | audit("im", pid, site, at)


def f41002(item: Item, site: Site, at: Moment) -> list[Row]:
    def row(branch: str, frm: str, to: str, conv: int, to_primary: int) -> Row:
        return {
            "ummcu": mcu(branch) if branch else " ",
            "umitm": item.itm,
            "umum": frm,
            "umrum": to,
            "umconv": implied_for("umconv", Decimal(conv)),
            "umcnv1": implied_for("umcnv1", Decimal(to_primary)),
        } | audit("um", "EP41002", site, at)

    rows = [
        row("", "CA", "EA", item.ca, item.ca),
        row("", "PL", "CA", item.pl_ca, item.pl_ca * item.ca),
    ]
    for branch, ca in sorted(item.branch_ca.items()):
        rows.append(row(branch, "CA", "EA", ca, ca))
    return rows


def f41021(world: World, itm: int, site: Site, at: Moment, pid: str) -> Row:
    b = world.balance(itm, site.mcu)
    return {
        "liitm": itm,
        "limcu": mcu(site.mcu),
        "lilocn": " ",
        "lilotn": " ",
        "lipbin": "P",
        "lilots": " ",
        "lipqoh": implied_for("lipqoh", Decimal(b.pqoh)),
        "lipcom": implied_for("lipcom", Decimal(b.pcom)),
        "lihcom": implied_for("lihcom", Decimal(b.hcom)),
        "lifcom": 0,
        "lipreq": implied_for("lipreq", Decimal(b.preq)),
        "liqttr": 0,
        "liqtin": 0,
        "lilrcj": 0,
    } | audit("li", pid, site, at)


def f41021_key(itm: int, site: Site) -> Row:
    return {"liitm": itm, "limcu": mcu(site.mcu), "lilocn": " ", "lilotn": " "}


def f41021_values(world: World, itm: int, site: Site, at: Moment, pid: str) -> Row:
    b = world.balance(itm, site.mcu)
    return {
        "lipqoh": implied_for("lipqoh", Decimal(b.pqoh)),
        "lipcom": implied_for("lipcom", Decimal(b.pcom)),
        "lihcom": implied_for("lihcom", Decimal(b.hcom)),
        "lipreq": implied_for("lipreq", Decimal(b.preq)),
    } | audit("li", pid, site, at)


def f4211(
    world: World, order: Order, line: OrderLine, site: Site, at: Moment, *, lttr: str, nxtr: str
) -> Row:
    item = world.items[line.itm]
    return {
        "sdkcoo": world.company,
        "sddoco": order.doco,
        "sddcto": "SO",
        "sdlnid": line.lnid,
        "sdmcu": mcu(site.mcu),
        "sdan8": order.an8,
        "sdshan": order.an8,
        "sdvr01": order.customer_po,
        "sditm": line.itm,
        "sdlitm": item.litm,
        "sdaitm": item.aitm or " ",
        "sdlocn": " ",
        "sdlotn": " ",
        "sdlnty": "S",
        "sduom": line.uom,
        "sduorg": implied_for("sduorg", Decimal(line.qty)),
        "sdsoqs": 0,
        "sdsobk": 0,
        "sdsocn": 0,
        "sduprc": implied_for("sduprc", line.uprc, order.crcd),
        "sdaexp": implied_for("sdaexp", money(line.uprc * line.qty, order.crcd), order.crcd),
        "sdcrcd": order.crcd,
        "sdtrdj": at.julian_in(site, 0),
        "sddrqj": at.julian_in(site, order.ppdj_days + 2),
        "sdppdj": at.julian_in(site, order.ppdj_days),
        "sdrsdj": at.julian_in(site, order.ppdj_days + 2),
        "sdaddj": 0,
        "sdivd": 0,
        "sdlttr": lttr,
        "sdnxtr": nxtr,
    } | audit("sd", "EP4210", site, at)


def sd_key(world: World, order: Order, line: OrderLine) -> Row:
    return {"sdkcoo": world.company, "sddoco": order.doco, "sddcto": "SO", "sdlnid": line.lnid}


def f4311(
    world: World, po: PurchaseOrder, line: PoLine, site: Site, at: Moment, ordered_days: int = 0
) -> Row:
    """A new PO line; ``ordered_days``: its order date from today (negative: keyed late)."""
    item = world.items[line.itm]
    return {
        "pdkcoo": world.company,
        "pddoco": po.doco,
        "pddcto": "OP",
        "pdsfxo": "000",
        "pdlnid": line.lnid,
        "pdmcu": mcu(site.mcu),
        "pdan8": po.an8,
        "pditm": line.itm,
        "pdlitm": item.litm,
        "pdaitm": item.aitm or " ",
        "pduom": line.uom,
        "pduorg": implied_for("pduorg", Decimal(line.qty)),
        "pdurec": 0,
        "pduopn": implied_for("pduopn", Decimal(line.qty)),
        "pdprrc": implied_for("pdprrc", line.prrc, po.crcd),
        "pdaexp": implied_for("pdaexp", money(line.prrc * line.qty, po.crcd), po.crcd),
        "pdcrcd": po.crcd,
        "pdtrdj": at.julian_in(site, ordered_days),
        "pddrqj": at.julian_in(site, po.pddj_days),
        "pdpddj": at.julian_in(site, po.pddj_days),
        "pdlttr": "220",
        "pdnxtr": "280",
    } | audit("pd", "EP4310", site, at)


def pd_key(world: World, po: PurchaseOrder, line: PoLine) -> Row:
    return {
        "pdkcoo": world.company,
        "pddoco": po.doco,
        "pddcto": "OP",
        "pdsfxo": "000",
        "pdlnid": line.lnid,
    }


# --- WMS -------------------------------------------------------------------------------------


def loc(code: str, site: Site, zone: str, kind: str, level: int, at: Moment) -> Row:
    return {
        "Loc": code,
        "Facility": site.mcu,
        "PutawayZone": zone,
        "LocationType": kind,
        "LogicalLocation": code,
        "LocLevel": level,
        "Status": "OK",
    } | wms_audit(site, at)


def lotattribute(item: Item, lot: str, batch: str, site: Site, at: Moment) -> Row:
    received = at.local(site)
    expiry = received + timedelta(days=item.shelf_life) if item.lot_controlled else None
    return {
        "StorerKey": STORER,
        "Sku": item.litm,
        "Lot": lot,
        "Lottable01": " ",
        "Lottable02": batch,
        "Lottable03": " ",
        "Lottable04": expiry.replace(hour=0, minute=0, second=0) if expiry else None,
        "Lottable05": received.replace(hour=0, minute=0, second=0),
    } | wms_audit(site, at)


def lotxlocxid(world: World, stock: Stock, site: Site, at: Moment) -> Row:
    return {
        "Lot": stock.lot,
        "Loc": stock.loc,
        "Id": stock.id,
        "StorerKey": STORER,
        "Sku": world.items[stock.itm].litm,
        "Qty": stock.qty,
        "QtyAllocated": stock.alloc,
        "QtyPicked": stock.picked,
        "QtyExpected": 0,
        "Status": "OK",
        "TrafficCop": None,
        "ArchiveCop": None,
    } | wms_audit(site, at)


def stock_key(stock: Stock) -> Row:
    return {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}


def stock_values(stock: Stock, site: Site, at: Moment) -> Row:
    return {
        "Qty": stock.qty,
        "QtyAllocated": stock.alloc,
        "QtyPicked": stock.picked,
    } | wms_audit(site, at, add=False)


def itrn(
    world: World,
    key: str,
    tran: str,
    stock: Stock,
    qty: int,
    source_key: str,
    source_type: str,
    site: Site,
    at: Moment,
    *,
    from_loc: str = " ",
    to_loc: str = " ",
) -> Row:
    return {
        "ItrnKey": key,
        "TranType": tran,
        "StorerKey": STORER,
        "Sku": world.items[stock.itm].litm,
        "Lot": stock.lot,
        "FromLoc": from_loc,
        "FromID": stock.id if from_loc.strip() else " ",
        "ToLoc": to_loc,
        "ToID": stock.id if to_loc.strip() else " ",
        "SourceKey": source_key,
        "SourceType": source_type,
        "Status": "OK",
        "Qty": qty,
        "UOM": "EA",
        "Lottable02": " ",
        "Lottable04": None,
    } | wms_audit(site, at)
