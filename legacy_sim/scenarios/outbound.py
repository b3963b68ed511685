"""Outbound: order entry to purge, one business transaction per step.

Order entry (ERP ``F4211``, soft commit) → release / pick slip (ERP status 540, hard commit,
WMS ``ORDERS``) → allocation (WMS ``PICKDETAIL`` against free stock, short lines backordered)
→ pick + pack (WMS, one carton SSCC per order) → ship + ship confirm with on-hand relief (WMS
``ITRN`` withdrawals, ERP status 560) → sales update (R42800, batch) → purge to ``F42119``
(R42996, batch). Beside the flow: line cancellations and promised-date changes. Each stage
works the oldest order of its queue, so orders flow through in entry order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Executable, Table, and_, bindparam, delete, insert, select

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.quirks import implied_for, wms_key
from legacy_sim.scenarios.context import Context, line_id, order_id
from legacy_sim.schemas import erp, wms
from legacy_sim.schemas.wms import STORER
from legacy_sim.state import Order, OrderLine, Party, Pick, Site, Stock

#: Orders per sales-update or purge batch: a batch touches many rows at once (the CDC bursts
#: of DESIGN §1.3 item 8).
BATCH_ORDERS = 40


def order_entry(ctx: Context, tx: TxPlan) -> bool:
    site = ctx.rng.choice(ctx.site_list)
    customer = ctx.rng.choice(ctx.world.customers)
    return enter_order(ctx, tx, site, customer)


def enter_order(ctx: Context, tx: TxPlan, site: Site, customer: Party) -> bool:
    """A customer's order at a site: 1 to 40 lines of popular items, promised in 1-3 days."""
    w, rng = ctx.world, ctx.rng
    n_lines = min(40, max(1, round(rng.lognormvariate(1.6, 0.7))))
    w.counters.so += 1
    order = Order(
        doco=w.counters.so,
        mcu=site.mcu,
        an8=customer.an8,
        crcd=customer.currency,
        customer_po=f"PO{rng.randint(100000, 999999)}",
        lines=[],
        ppdj_days=rng.randint(1, 3),
    )
    for n, itm in enumerate(ctx.pick_items(site, n_lines), start=1):
        item = w.items[itm]
        uom = "CA" if rng.random() < 0.3 else "EA"
        qty = rng.randint(1, 4) if uom == "CA" else rng.randint(1, 24)
        per = item.ea_per(uom, site.mcu)
        uprc = rows.unit_price(item.price * per * rows.FX[order.crcd], order.crcd)
        order.lines.append(
            OrderLine(lnid=n * 1000, itm=itm, uom=uom, qty=qty, qty_base=qty * per, uprc=uprc)
        )
    tx.journal.put(w.orders, order.doco, order)
    tx.journal.append(ctx.queues["entered"], order.doco)
    oid = order_id(w, order)
    tx.keys = {"order_id": oid, "sddoco": order.doco}
    tx.db("erp").insert(
        erp.F4211,
        *(rows.f4211(w, order, ln, site, tx.at, lttr="520", nxtr="540") for ln in order.lines),
    )
    for ln in order.lines:
        ctx.touch(tx, ln.itm, site.mcu, pcom=ln.qty_base)
    tx.event(
        "order.placed",
        oid,
        customer_id=order.an8,
        site_id=site.mcu,
        lines=[
            {
                "line_id": f"{oid}/{line_id(ln.lnid)}",
                "item_id": w.items[ln.itm].litm,
                "qty": ln.qty,
                "uom": ln.uom,
                "qty_base": ln.qty_base,
            }
            for ln in order.lines
        ],
    )
    return True


def release(ctx: Context, tx: TxPlan) -> bool:
    order = ctx.first("entered")
    if order is None:
        return False
    w, site = ctx.world, ctx.world.sites[order.mcu]
    oid = order_id(w, order)
    erp_work = tx.db("erp")
    for ln in order.open_lines:
        erp_work.update(
            erp.F4211,
            rows.sd_key(w, order, ln),
            {"sdlttr": "540", "sdnxtr": "560"} | rows.audit("sd", "R42520", site, tx.at),
        )
        ctx.touch(tx, ln.itm, site.mcu, pcom=-ln.qty_base, hcom=ln.qty_base)
    key = ctx.next_key("order_key")
    tx.journal.set(order, "order_key", key)
    wall = tx.at.local(site)
    consignee = ctx.customers[order.an8]
    tx.db("wms").insert(
        wms.Orders,
        {
            "OrderKey": key,
            "StorerKey": STORER,
            "ExternOrderKey": oid,
            "Facility": site.mcu,
            "Type": "0",
            "ConsigneeKey": str(order.an8),
            "C_Company": consignee.company,
            "C_Address1": consignee.address1,
            "C_City": consignee.city,
            "ExternPOKey": order.customer_po,
            "OrderDate": wall,
            "DeliveryDate": tx.at.local(site).replace(hour=0, minute=0, second=0)
            + _days(order.ppdj_days + 2),
            "Status": "0",
            "SOStatus": "0",
            "LoadKey": " ",
            "MBOLKey": " ",
            "TrackingNo": " ",
            "TrafficCop": None,
            "ArchiveCop": None,
        }
        | rows.wms_audit(site, tx.at),
    )
    tx.keys = {"order_id": oid, "OrderKey": key}
    ctx.move(tx, order, "released")
    return True


def allocate(ctx: Context, tx: TxPlan) -> bool:
    order = ctx.first("released")
    if order is None:
        return False
    w, site = ctx.world, ctx.world.sites[order.mcu]
    oid = order_id(w, order)
    work = tx.db("wms")
    touched: dict[str, Stock] = {}
    short = False
    for ln in order.open_lines:
        per = w.items[ln.itm].ea_per(ln.uom, site.mcu)
        rows_free = [w.stock[k] for k in ctx.index.get((ln.itm, site.mcu), [])]
        available = sum(max(0, s.free) for s in rows_free)
        # Whole transaction units only: a case line is allocated in whole cases.
        want = min(ln.qty_base, available) // per * per
        allocated = 0
        for stock in rows_free:
            take = min(stock.free, want - allocated)
            if take <= 0:
                continue
            key = ctx.next_key("pick")
            tx.journal.append(ln.picks, Pick(key=key, stock=stock.key, qty=take))
            tx.journal.add(stock, "alloc", take)
            touched[stock.key] = stock
            allocated += take
            work.insert(
                wms.PickDetail,
                {
                    "PickDetailKey": key,
                    "CaseID": " ",
                    "OrderKey": order.order_key,
                    "OrderLineNumber": wms_key(ln.lnid // 1000, 5),
                    "Lot": stock.lot,
                    "StorerKey": STORER,
                    "Sku": w.items[ln.itm].litm,
                    "Loc": stock.loc,
                    "ID": stock.id,
                    "UOM": ln.uom,
                    "UOMQty": take // per,
                    "Qty": take,
                    "Status": "0",
                    "DropID": " ",
                    "WaveKey": " ",
                    "PickSlipNo": " ",
                    "ToLoc": site.stage_loc,
                    "TrafficCop": None,
                    "ArchiveCop": None,
                }
                | rows.wms_audit(site, tx.at),
            )
            if allocated >= want:
                break
        line_ref = f"{oid}/{line_id(ln.lnid)}"
        if allocated:
            tx.event("order.allocated", oid, line_id=line_ref, allocated_qty=allocated)
        if allocated < ln.qty_base:
            short = True
            tx.event(
                "order.backordered",
                oid,
                line_id=line_ref,
                backordered_qty=ln.qty_base - allocated,
            )
    for stock in touched.values():
        work.update(wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at))
    work.update(
        wms.Orders,
        {"OrderKey": order.order_key},
        {"Status": "1" if short else "2"} | rows.wms_audit(site, tx.at, add=False),
    )
    tx.keys = {"order_id": oid, "OrderKey": order.order_key}
    ctx.move(tx, order, "allocated")
    return True


def pick(ctx: Context, tx: TxPlan) -> bool:
    order = ctx.first("allocated")
    if order is None:
        return False
    w, site = ctx.world, ctx.world.sites[order.mcu]
    oid = order_id(w, order)
    work = tx.db("wms")
    edit = rows.wms_audit(site, tx.at, add=False)
    work.update(wms.Orders, {"OrderKey": order.order_key}, {"Status": "3"} | edit)
    picks = [(ln, p) for ln in order.open_lines for p in ln.picks]
    for _, p in picks:
        work.update(wms.PickDetail, {"PickDetailKey": p.key}, {"Status": "3"} | edit)
    touched: dict[str, Stock] = {}
    for _, p in picks:
        stock = w.stock[p.stock]
        tx.journal.add(stock, "alloc", -p.qty)
        tx.journal.add(stock, "picked", p.qty)
        tx.journal.set(p, "status", "5")
        touched[stock.key] = stock
        work.update(wms.PickDetail, {"PickDetailKey": p.key}, {"Status": "5"} | edit)
    for stock in touched.values():
        work.update(wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at))
    carton = ctx.next_sscc() if picks else ""
    for _, p in picks:
        work.update(
            wms.PickDetail,
            {"PickDetailKey": p.key},
            {"CaseID": carton, "DropID": f"D{carton[-9:]}"} | edit,
        )
    work.update(wms.Orders, {"OrderKey": order.order_key}, {"Status": "5"} | edit)
    for ln in order.open_lines:
        qty = sum(p.qty for p in ln.picks)
        if qty:
            tx.event(
                "order.picked",
                oid,
                line_id=f"{oid}/{line_id(ln.lnid)}",
                picked_qty=qty,
            )
    if picks:
        contents: dict[str, int] = {}
        for ln, p in picks:
            litm = w.items[ln.itm].litm
            contents[litm] = contents.get(litm, 0) + p.qty
        tx.event(
            "order.packed",
            oid,
            carton_sscc=carton,
            contents=[{"item_id": k, "qty": v} for k, v in contents.items()],
        )
    tx.keys = {"order_id": oid, "OrderKey": order.order_key, "CaseID": carton}
    ctx.move(tx, order, "picked")
    return True


def ship(ctx: Context, tx: TxPlan) -> bool:
    order = ctx.first("picked")
    if order is None:
        return False
    w, site = ctx.world, ctx.world.sites[order.mcu]
    oid = order_id(w, order)
    work = tx.db("wms")
    edit = rows.wms_audit(site, tx.at, add=False)
    touched: dict[str, Stock] = {}
    door = ctx.rng.choice(site.doors)
    for ln in order.open_lines:
        for p in ln.picks:
            stock = w.stock[p.stock]
            tx.journal.add(stock, "picked", -p.qty)
            tx.journal.add(stock, "qty", -p.qty)
            tx.journal.set(p, "status", "9")
            touched[stock.key] = stock
            work.update(wms.PickDetail, {"PickDetailKey": p.key}, {"Status": "9"} | edit)
            work.insert(
                wms.Itrn,
                rows.itrn(
                    w,
                    ctx.next_key("itrn"),
                    "WD",
                    stock,
                    -p.qty,
                    p.key,
                    "ntrPickDetailUpdate",
                    site,
                    tx.at,
                    from_loc=stock.loc,
                    to_loc=door,
                ),
            )
    for stock in touched.values():
        if stock.qty == 0 and stock.id.strip() and stock.alloc == 0 and stock.picked == 0:
            # Housekeeping deletes an emptied pallet row: a delete that is no business event.
            work.delete(wms.LotxLocxId, rows.stock_key(stock))
            ctx.drop_stock(tx, stock)
        else:
            work.update(
                wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at)
            )
    mbol = ctx.next_key("mbol")
    tracking = f"1Z{ctx.rng.randint(10**15, 10**16 - 1)}"
    work.update(
        wms.Orders,
        {"OrderKey": order.order_key},
        {"Status": "9", "MBOLKey": mbol, "LoadKey": mbol, "TrackingNo": tracking} | edit,
    )
    erp_work = tx.db("erp")
    shipped_lines: list[dict[str, Any]] = []
    for ln in order.open_lines:
        per = w.items[ln.itm].ea_per(ln.uom, site.mcu)
        shipped = sum(p.qty for p in ln.picks)
        tx.journal.set(ln, "shipped", shipped)
        shipped_trans = shipped // per
        erp_work.update(
            erp.F4211,
            rows.sd_key(w, order, ln),
            {
                "sdlttr": "560",
                "sdnxtr": "620",
                "sdsoqs": implied_for("sdsoqs", Decimal(shipped_trans)),
                "sdsocn": implied_for("sdsocn", Decimal(ln.qty - shipped_trans)),
                "sdaddj": tx.at.julian_in(site, 0),
            }
            | rows.audit("sd", "EP4205", site, tx.at),
        )
        ctx.touch(tx, ln.itm, site.mcu, hcom=-ln.qty_base, pqoh=-shipped)
        shipped_lines.append(
            {
                "line_id": f"{oid}/{line_id(ln.lnid)}",
                "item_id": w.items[ln.itm].litm,
                "ordered_qty": ln.qty_base,
                "shipped_qty": shipped,
            }
        )
    tx.event("shipment.dispatched", mbol, order_id=oid, lines=shipped_lines)
    if any(sl["shipped_qty"] < sl["ordered_qty"] for sl in shipped_lines):
        tx.event("shipment.exception", mbol, order_id=oid, kind="SHORT_SHIP", derived=True)
    tx.keys = {"order_id": oid, "OrderKey": order.order_key, "shipment_id": mbol}
    ctx.move(tx, order, "shipped")
    return True


def sales_update(ctx: Context, tx: TxPlan) -> bool:
    """R42800: every shipped line of up to ``BATCH_ORDERS`` orders in one transaction."""
    batch = [ctx.world.orders[d] for d in ctx.queues["shipped"][:BATCH_ORDERS]]
    if not batch:
        return False
    work = tx.db("erp")
    for order in batch:
        site = ctx.world.sites[order.mcu]
        for ln in order.open_lines:
            work.update(
                erp.F4211,
                rows.sd_key(ctx.world, order, ln),
                {"sdlttr": "620", "sdnxtr": "999", "sdivd": tx.at.julian_in(site, 0)}
                | rows.audit("sd", "R42800", site, tx.at),
            )
        ctx.move(tx, order, "invoiced")
    tx.keys = {"order_ids": [order_id(ctx.world, o) for o in batch]}
    return True


def purge(ctx: Context, tx: TxPlan) -> bool:
    """R42996: closed lines move to f42119 (INSERT there, DELETE here): not cancellations."""
    batch = [ctx.world.orders[d] for d in ctx.queues["invoiced"][:BATCH_ORDERS]]
    if not batch:
        return False
    work = tx.db("erp")
    for order in batch:
        params = {"kcoo": ctx.world.company, "doco": order.doco}
        work.raw(erp.F42119, _ARCHIVE, params, "c", len(order.lines))
        work.raw(erp.F4211, _PURGE, params, "d", len(order.lines))
        tx.journal.remove(ctx.queues["invoiced"], order.doco)
        tx.journal.pop(ctx.world.orders, order.doco)
    tx.keys = {"order_ids": [order_id(ctx.world, o) for o in batch]}
    return True


def cancel_line(ctx: Context, tx: TxPlan) -> bool:
    queue = ctx.queues["entered"]
    if not queue:
        return False
    order = ctx.world.orders[ctx.rng.choice(queue)]
    open_lines = order.open_lines
    if not open_lines:
        return False
    ln = ctx.rng.choice(open_lines)
    site = ctx.world.sites[order.mcu]
    oid = order_id(ctx.world, order)
    tx.db("erp").update(
        erp.F4211,
        rows.sd_key(ctx.world, order, ln),
        {
            "sdlttr": "980",
            "sdnxtr": "999",
            "sdsocn": implied_for("sdsocn", Decimal(ln.qty)),
        }
        | rows.audit("sd", "EP4210", site, tx.at),
    )
    tx.journal.set(ln, "cancelled", True)
    ctx.touch(tx, ln.itm, site.mcu, pcom=-ln.qty_base)
    tx.event(
        "order.cancelled",
        oid,
        line_id=f"{oid}/{line_id(ln.lnid)}",
        cancel_qty=ln.qty_base,
    )
    if len(open_lines) == 1:
        ctx.move(tx, order, "invoiced")  # nothing left to ship: straight to the purge
    tx.keys = {"order_id": oid}
    return True


def order_promise_change(ctx: Context, tx: TxPlan) -> bool:
    """An order's promised ship and delivery dates move out by 1 to 3 days (EP4210)."""
    shift = change_order_promise(ctx, tx, lambda rng, order: order.ppdj_days + rng.randint(1, 3))
    return shift is not None


def change_order_promise(
    ctx: Context, tx: TxPlan, promise: Callable[[random.Random, Order], int]
) -> Order | None:
    """An entered (else released) order's promised ship date becomes ``promise`` days from
    today (drawn), its promised delivery two days after; the order (None: none to change)."""
    queue = ctx.queues["entered"] or ctx.queues["released"]
    if not queue:
        return None
    order = ctx.world.orders[ctx.rng.choice(queue)]
    site = ctx.world.sites[order.mcu]
    days = promise(ctx.rng, order)
    tx.journal.set(order, "ppdj_days", days)
    oid = order_id(ctx.world, order)
    for ln in order.open_lines:
        tx.db("erp").update(
            erp.F4211,
            rows.sd_key(ctx.world, order, ln),
            {
                "sdppdj": tx.at.julian_in(site, days),
                "sdrsdj": tx.at.julian_in(site, days + 2),
            }
            | rows.audit("sd", "EP4210", site, tx.at),
        )
        tx.event(
            "order.line_changed",
            oid,
            line_id=f"{oid}/{line_id(ln.lnid)}",
            changed=["promised_ship", "promised_delivery"],
        )
    tx.keys = {"order_id": oid}
    return order if order.open_lines else None


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _archive_statements() -> tuple[Executable, Executable]:
    src: Table = erp.F4211.__table__  # type: ignore[assignment]
    dst: Table = erp.F42119.__table__  # type: ignore[assignment]
    where = and_(
        src.c.sdkcoo == bindparam("kcoo"),
        src.c.sddoco == bindparam("doco"),
        src.c.sddcto == "SO",
    )
    archive = insert(dst).from_select([c.name for c in src.c], select(src).where(where))
    return archive, delete(src).where(where)


_ARCHIVE, _PURGE = _archive_statements()
