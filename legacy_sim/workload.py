"""The business processes, as steps that plan one business transaction each.

Outbound: order entry (ERP) → release / pick slip (ERP + WMS ``ORDERS``) → allocation (WMS)
→ pick + pack (WMS) → ship + ship confirm with on-hand relief (WMS + ERP) → sales update
(ERP batch) → purge to ``f42119`` (ERP batch). Inbound: PO issue (ERP) → ASN (WMS + ERP) →
receipt (WMS + ERP), ~1% reversed (the ``f43121`` key change). Plus cycle counts, cold-room
readings, promised-date changes, line cancellations, item edits and housekeeping no-ops.

Every choice is drawn from the seeded ``random.Random`` and the in-memory picture, in a fixed
order, so a seed and a starting state fix the whole sequence.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Executable, Table, and_, bindparam, delete, insert, select

from legacy_sim import gs1, rows
from legacy_sim.engine import TxPlan
from legacy_sim.quirks import implied_for, mcu, order_ref, wms_key
from legacy_sim.schemas import erp, wms
from legacy_sim.schemas.wms import STORER
from legacy_sim.state import (
    ORDER_STAGES,
    PO_STAGES,
    Order,
    OrderLine,
    OrderStage,
    Pick,
    PoLine,
    PoStage,
    PurchaseOrder,
    Receipt,
    Site,
    Stock,
    World,
)

Step = Callable[[TxPlan], bool]

#: Relative weights of the steps. Outbound steps are equal so orders flow through; batch
#: steps are rare but touch many rows (the CDC bursts of §1.3 item 8).
WEIGHTS: dict[str, float] = {
    "order_entry": 10,
    "release": 10,
    "allocate": 10,
    "pick": 10,
    "ship": 10,
    "sales_update": 0.4,
    "purge": 0.4,
    "cancel_line": 0.4,
    "promise_change": 1.5,
    "po_issue": 2.4,
    "asn": 2.4,
    "receipt": 2.4,
    "receipt_reversal": 0.03,
    "cycle_count": 2.5,
    "temperature": 1.5,
    "item_edit": 0.3,
    "housekeeping": 1.0,
}
BATCH_ORDERS = 40
RECENT_RECEIPTS = 300


def order_id(world: World, order: Order) -> str:
    return order_ref(world.company, "SO", order.doco)


def po_id(world: World, po: PurchaseOrder) -> str:
    return order_ref(world.company, "OP", po.doco)


def line_id(lnid: int) -> str:
    return f"{Decimal(lnid).scaleb(-3):.3f}"


class Workload:
    """Plans the next business transaction from the world picture and a seeded generator."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.w = world
        self.rng = rng
        #: Probe → schedule time of its last reading in this run (see ``probe_due``).
        self.probe_scheduled: dict[str, float] = {}
        self.queues: dict[OrderStage, list[int]] = {s: [] for s in ORDER_STAGES}
        for order in world.orders.values():
            self.queues[order.stage].append(order.doco)
        self.po_queues: dict[PoStage, list[int]] = {s: [] for s in PO_STAGES}
        for po in world.pos.values():
            self.po_queues[po.stage].append(po.doco)
        self.index: dict[tuple[int, str], list[str]] = {}
        for stock in world.stock.values():
            self.index.setdefault((stock.itm, stock.mcu), []).append(stock.key)
        # Zipf popularity (s = 1.1) over each site's items, as cumulative weights.
        self.popularity: dict[str, list[float]] = {
            site: list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(items))))
            for site, items in world.site_items.items()
        }
        self.site_list = list(world.sites.values())
        self.customers = {party.an8: party for party in world.customers}
        self.steps: dict[str, Step] = {
            "order_entry": self.order_entry,
            "release": self.release,
            "allocate": self.allocate,
            "pick": self.pick,
            "ship": self.ship,
            "sales_update": self.sales_update,
            "purge": self.purge,
            "cancel_line": self.cancel_line,
            "promise_change": self.promise_change,
            "po_issue": self.po_issue,
            "asn": self.asn,
            "receipt": self.receipt,
            "receipt_reversal": self.receipt_reversal,
            "cycle_count": self.cycle_count,
            "temperature": self.temperature,
            "item_edit": self.item_edit,
            "housekeeping": self.housekeeping,
        }
        self._names = list(WEIGHTS)
        self._cum = list(itertools.accumulate(WEIGHTS.values()))

    # --- driver ------------------------------------------------------------------------------

    def plan(self, tx: TxPlan) -> TxPlan:
        kind = self.rng.choices(self._names, cum_weights=self._cum)[0]
        for candidate in (kind, "order_entry"):
            tx.kind = candidate
            if self.steps[candidate](tx):
                break
        self._finish(tx)
        return tx

    def _finish(self, tx: TxPlan) -> None:
        """One F41021 update and one ``inventory.level_changed`` per balance touched."""
        for itm, site_mcu in tx.touched:
            site = self.w.sites[site_mcu]
            b = self.w.balance(itm, site_mcu)
            pid = {"ship": "EP4205", "receipt": "EP4312", "receipt_reversal": "EP4312"}.get(
                tx.kind, "EP4210" if tx.kind in ("order_entry", "cancel_line") else "EP4310"
            )
            if tx.kind == "release":
                pid = "R42520"
            if tx.kind == "cycle_count":
                pid = "EP4112"
            tx.db("erp").update(
                erp.F41021,
                rows.f41021_key(itm, site),
                rows.f41021_values(self.w, itm, site, tx.at, pid),
            )
            tx.event(
                "inventory.level_changed",
                self.inventory_key(itm, site_mcu),
                on_hand=b.pqoh,
                allocated=b.pcom + b.hcom,
                on_order=b.preq,
                available=b.pqoh - b.pcom - b.hcom,
            )

    def inventory_key(self, itm: int, site_mcu: str) -> str:
        return f"{site_mcu}|{self.w.items[itm].litm}"

    def _touch(self, tx: TxPlan, itm: int, site_mcu: str, **deltas: int) -> None:
        b = self.w.balance(itm, site_mcu)
        for attr, delta in deltas.items():
            tx.journal.add(b, attr, delta)
        tx.touched[(itm, site_mcu)] = None

    def _move(self, tx: TxPlan, order: Order, stage: OrderStage) -> None:
        tx.journal.remove(self.queues[order.stage], order.doco)
        tx.journal.append(self.queues[stage], order.doco)
        tx.journal.set(order, "stage", stage)

    def _move_po(self, tx: TxPlan, po: PurchaseOrder, stage: PoStage) -> None:
        tx.journal.remove(self.po_queues[po.stage], po.doco)
        tx.journal.append(self.po_queues[stage], po.doco)
        tx.journal.set(po, "stage", stage)

    def _next_key(self, counter: str, width: int = 10) -> str:
        value = getattr(self.w.counters, counter) + 1
        setattr(self.w.counters, counter, value)  # next numbers are never given back
        return wms_key(value, width)

    def _sscc(self) -> str:
        self.w.counters.sscc += 1
        return gs1.sscc(self.w.counters.sscc)

    def pick_items(self, site: Site, count: int) -> list[int]:
        items = self.w.site_items[site.mcu]
        drawn = self.rng.choices(items, cum_weights=self.popularity[site.mcu], k=count)
        return list(dict.fromkeys(drawn))

    # --- outbound ----------------------------------------------------------------------------

    def order_entry(self, tx: TxPlan) -> bool:
        w, rng = self.w, self.rng
        site = rng.choice(self.site_list)
        customer = rng.choice(w.customers)
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
        for n, itm in enumerate(self.pick_items(site, n_lines), start=1):
            item = w.items[itm]
            uom = "CA" if rng.random() < 0.3 else "EA"
            qty = rng.randint(1, 4) if uom == "CA" else rng.randint(1, 24)
            per = item.ea_per(uom, site.mcu)
            uprc = rows.unit_price(item.price * per * rows.FX[order.crcd], order.crcd)
            order.lines.append(
                OrderLine(lnid=n * 1000, itm=itm, uom=uom, qty=qty, qty_base=qty * per, uprc=uprc)
            )
        tx.journal.put(w.orders, order.doco, order)
        tx.journal.append(self.queues["entered"], order.doco)
        oid = order_id(w, order)
        tx.keys = {"order_id": oid, "sddoco": order.doco}
        tx.db("erp").insert(
            erp.F4211,
            *(rows.f4211(w, order, ln, site, tx.at, lttr="520", nxtr="540") for ln in order.lines),
        )
        for ln in order.lines:
            self._touch(tx, ln.itm, site.mcu, pcom=ln.qty_base)
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

    def _first(self, stage: OrderStage) -> Order | None:
        queue = self.queues[stage]
        return self.w.orders[queue[0]] if queue else None

    def release(self, tx: TxPlan) -> bool:
        order = self._first("entered")
        if order is None:
            return False
        w, site = self.w, self.w.sites[order.mcu]
        oid = order_id(w, order)
        erp_work = tx.db("erp")
        for ln in order.open_lines:
            erp_work.update(
                erp.F4211,
                rows.sd_key(w, order, ln),
                {"sdlttr": "540", "sdnxtr": "560"} | rows.audit("sd", "R42520", site, tx.at),
            )
            self._touch(tx, ln.itm, site.mcu, pcom=-ln.qty_base, hcom=ln.qty_base)
        key = self._next_key("order_key")
        tx.journal.set(order, "order_key", key)
        wall = tx.at.local(site)
        consignee = self.customers[order.an8]
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
        self._move(tx, order, "released")
        return True

    def allocate(self, tx: TxPlan) -> bool:
        order = self._first("released")
        if order is None:
            return False
        w, site = self.w, self.w.sites[order.mcu]
        oid = order_id(w, order)
        work = tx.db("wms")
        touched: dict[str, Stock] = {}
        short = False
        for ln in order.open_lines:
            per = w.items[ln.itm].ea_per(ln.uom, site.mcu)
            rows_free = [w.stock[k] for k in self.index.get((ln.itm, site.mcu), [])]
            available = sum(max(0, s.free) for s in rows_free)
            # Whole transaction units only: a case line is allocated in whole cases.
            want = min(ln.qty_base, available) // per * per
            allocated = 0
            for stock in rows_free:
                take = min(stock.free, want - allocated)
                if take <= 0:
                    continue
                key = self._next_key("pick")
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
            work.update(
                wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at)
            )
        work.update(
            wms.Orders,
            {"OrderKey": order.order_key},
            {"Status": "1" if short else "2"} | rows.wms_audit(site, tx.at, add=False),
        )
        tx.keys = {"order_id": oid, "OrderKey": order.order_key}
        self._move(tx, order, "allocated")
        return True

    def pick(self, tx: TxPlan) -> bool:
        order = self._first("allocated")
        if order is None:
            return False
        w, site = self.w, self.w.sites[order.mcu]
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
            work.update(
                wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at)
            )
        carton = self._sscc() if picks else ""
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
        self._move(tx, order, "picked")
        return True

    def ship(self, tx: TxPlan) -> bool:
        order = self._first("picked")
        if order is None:
            return False
        w, site = self.w, self.w.sites[order.mcu]
        oid = order_id(w, order)
        work = tx.db("wms")
        edit = rows.wms_audit(site, tx.at, add=False)
        touched: dict[str, Stock] = {}
        door = self.rng.choice(site.doors)
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
                        self._next_key("itrn"),
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
                self._drop_stock(tx, stock)
            else:
                work.update(
                    wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at)
                )
        mbol = self._next_key("mbol")
        tracking = f"1Z{self.rng.randint(10**15, 10**16 - 1)}"
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
            self._touch(tx, ln.itm, site.mcu, hcom=-ln.qty_base, pqoh=-shipped)
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
        self._move(tx, order, "shipped")
        return True

    def _drop_stock(self, tx: TxPlan, stock: Stock) -> None:
        tx.journal.pop(self.w.stock, stock.key)
        tx.journal.remove(self.index[(stock.itm, stock.mcu)], stock.key)

    def sales_update(self, tx: TxPlan) -> bool:
        """R42800: every shipped line of up to ``BATCH_ORDERS`` orders in one transaction."""
        batch = [self.w.orders[d] for d in self.queues["shipped"][:BATCH_ORDERS]]
        if not batch:
            return False
        work = tx.db("erp")
        for order in batch:
            site = self.w.sites[order.mcu]
            for ln in order.open_lines:
                work.update(
                    erp.F4211,
                    rows.sd_key(self.w, order, ln),
                    {"sdlttr": "620", "sdnxtr": "999", "sdivd": tx.at.julian_in(site, 0)}
                    | rows.audit("sd", "R42800", site, tx.at),
                )
            self._move(tx, order, "invoiced")
        tx.keys = {"order_ids": [order_id(self.w, o) for o in batch]}
        return True

    def purge(self, tx: TxPlan) -> bool:
        """R42996: closed lines move to f42119 (INSERT there, DELETE here): not cancellations."""
        batch = [self.w.orders[d] for d in self.queues["invoiced"][:BATCH_ORDERS]]
        if not batch:
            return False
        work = tx.db("erp")
        for order in batch:
            params = {"kcoo": self.w.company, "doco": order.doco}
            work.raw(erp.F42119, _ARCHIVE, params, "c", len(order.lines))
            work.raw(erp.F4211, _PURGE, params, "d", len(order.lines))
            tx.journal.remove(self.queues["invoiced"], order.doco)
            tx.journal.pop(self.w.orders, order.doco)
        tx.keys = {"order_ids": [order_id(self.w, o) for o in batch]}
        return True

    def cancel_line(self, tx: TxPlan) -> bool:
        queue = self.queues["entered"]
        if not queue:
            return False
        order = self.w.orders[self.rng.choice(queue)]
        open_lines = order.open_lines
        if not open_lines:
            return False
        ln = self.rng.choice(open_lines)
        site = self.w.sites[order.mcu]
        oid = order_id(self.w, order)
        tx.db("erp").update(
            erp.F4211,
            rows.sd_key(self.w, order, ln),
            {
                "sdlttr": "980",
                "sdnxtr": "999",
                "sdsocn": implied_for("sdsocn", Decimal(ln.qty)),
            }
            | rows.audit("sd", "EP4210", site, tx.at),
        )
        tx.journal.set(ln, "cancelled", True)
        self._touch(tx, ln.itm, site.mcu, pcom=-ln.qty_base)
        tx.event(
            "order.cancelled",
            oid,
            line_id=f"{oid}/{line_id(ln.lnid)}",
            cancel_qty=ln.qty_base,
        )
        if len(open_lines) == 1:
            self._move(tx, order, "invoiced")  # nothing left to ship: straight to the purge
        tx.keys = {"order_id": oid}
        return True

    def promise_change(self, tx: TxPlan) -> bool:
        if self.rng.random() < 0.5:
            queue = self.queues["entered"] or self.queues["released"]
            if not queue:
                return False
            order = self.w.orders[self.rng.choice(queue)]
            site = self.w.sites[order.mcu]
            days = order.ppdj_days + self.rng.randint(1, 3)
            tx.journal.set(order, "ppdj_days", days)
            oid = order_id(self.w, order)
            for ln in order.open_lines:
                tx.db("erp").update(
                    erp.F4211,
                    rows.sd_key(self.w, order, ln),
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
            return bool(order.open_lines)
        queue = self.po_queues["issued"] or self.po_queues["advised"]
        if not queue:
            return False
        po = self.w.pos[self.rng.choice(queue)]
        site = self.w.sites[po.mcu]
        old_days = po.pddj_days
        days = old_days + self.rng.randint(-1, 3)
        tx.journal.set(po, "pddj_days", days)
        pid = po_id(self.w, po)
        for pl in po.lines:
            tx.db("erp").update(
                erp.F4311,
                rows.pd_key(self.w, po, pl),
                {"pdpddj": tx.at.julian_in(site, days)} | rows.audit("pd", "EP4310", site, tx.at),
            )
        if days != old_days:  # the same date again is an audit-only touch, no business change
            tx.event("po.changed", pid, changed=["promised_date"], lines=len(po.lines))
        tx.keys = {"po_id": pid}
        return True

    # --- inbound -----------------------------------------------------------------------------

    def po_issue(self, tx: TxPlan) -> bool:
        w, rng = self.w, self.rng
        site = rng.choice(self.site_list)
        supplier = rng.choice(w.suppliers)
        w.counters.po += 1
        po = PurchaseOrder(
            doco=w.counters.po,
            mcu=site.mcu,
            an8=supplier.an8,
            crcd=supplier.currency,
            lines=[],
            pddj_days=rng.randint(2, 7),
        )
        # Replenish what runs lowest among a sample of popular items.
        sample = self.pick_items(site, 12)
        sample.sort(key=lambda i: _projected(w, i, site.mcu))
        for n, itm in enumerate(sample[: rng.randint(1, 5)], start=1):
            item = w.items[itm]
            per = item.ea_per("CA", site.mcu)
            qty = rng.randint(5, 40)
            prrc = rows.unit_price(item.cost * per * rows.FX[po.crcd], po.crcd)
            po.lines.append(
                PoLine(lnid=n * 1000, itm=itm, uom="CA", qty=qty, qty_base=qty * per, prrc=prrc)
            )
        tx.journal.put(w.pos, po.doco, po)
        tx.journal.append(self.po_queues["issued"], po.doco)
        pid = po_id(w, po)
        tx.db("erp").insert(erp.F4311, *(rows.f4311(w, po, pl, site, tx.at) for pl in po.lines))
        for pl in po.lines:
            self._touch(tx, pl.itm, site.mcu, preq=pl.qty_base)
        tx.event(
            "po.issued",
            pid,
            supplier_id=po.an8,
            lines=[
                {
                    "line_id": f"{pid}/{line_id(pl.lnid)}",
                    "item_id": w.items[pl.itm].litm,
                    "qty": pl.qty,
                    "uom": pl.uom,
                    "qty_base": pl.qty_base,
                }
                for pl in po.lines
            ],
        )
        tx.keys = {"po_id": pid, "pddoco": po.doco}
        return True

    def asn(self, tx: TxPlan) -> bool:
        queue = self.po_queues["issued"]
        if not queue:
            return False
        w, po = self.w, self.w.pos[queue[0]]
        site = w.sites[po.mcu]
        pid = po_id(w, po)
        key = self._next_key("receipt_key")
        tx.journal.set(po, "receipt_key", key)
        tx.journal.set(po, "asn", f"ASN{self.rng.randint(10**7, 10**8 - 1)}")
        work = tx.db("wms")
        for pl in po.lines:
            item = w.items[pl.itm]
            work.insert(
                wms.ReceiptDetail,
                {
                    "ReceiptKey": key,
                    "ReceiptLineNumber": wms_key(pl.lnid // 1000, 5),
                    "ExternReceiptKey": po.asn,
                    "ExternPOKey": pid,
                    "ExternLineNo": wms_key(pl.lnid // 1000, 5),
                    "StorerKey": STORER,
                    "Sku": item.litm,
                    "Status": "0",
                    "QtyExpected": pl.qty_base,
                    "QtyReceived": 0,
                    "UOM": "EA",
                    "ToLoc": " ",
                    "ToLot": " ",
                    "ToId": " ",
                    "Lottable02": " ",
                    "Lottable04": None,
                    "TrafficCop": None,
                    "ArchiveCop": None,
                }
                | rows.wms_audit(site, tx.at),
            )
        for pl in po.lines:
            tx.db("erp").update(
                erp.F4311,
                rows.pd_key(w, po, pl),
                {"pdlttr": "280", "pdnxtr": "400"} | rows.audit("pd", "EP4310", site, tx.at),
            )
        tx.event(
            "inbound.advised",
            pid,
            asn_id=po.asn,
            lines=[
                {"line_id": f"{pid}/{line_id(pl.lnid)}", "expected_qty": pl.qty_base}
                for pl in po.lines
            ],
        )
        tx.keys = {"po_id": pid, "ReceiptKey": key}
        self._move_po(tx, po, "advised")
        return True

    def receipt(self, tx: TxPlan) -> bool:
        queue = self.po_queues["advised"]
        if not queue:
            return False
        w, rng, po = self.w, self.rng, self.w.pos[queue[0]]
        site = w.sites[po.mcu]
        pid = po_id(w, po)
        wms_work = tx.db("wms")
        staged: list[tuple[PoLine, Stock, int, int]] = []
        for pl in po.lines:
            item = w.items[pl.itm]
            per = item.ea_per("CA", site.mcu)
            roll = rng.random()
            got = (
                pl.qty - rng.randint(1, 2) if roll < 0.05 else pl.qty + 1 if roll < 0.07 else pl.qty
            )
            received = max(1, got) * per
            lot = self._next_key("lot")
            pallet = self._sscc()
            cold_locs = list(site.sensors.values())
            loc = rng.choice(cold_locs if item.cold and cold_locs else site.reserve_locs)
            stock = Stock(lot=lot, loc=loc, id=pallet, itm=pl.itm, mcu=site.mcu, qty=received)
            tx.journal.put(w.stock, stock.key, stock)
            tx.journal.append(self.index.setdefault((stock.itm, stock.mcu), []), stock.key)
            batch = f"SB{rng.randint(10**6, 10**7 - 1)}"
            wms_work.insert(wms.LotAttribute, rows.lotattribute(item, lot, batch, site, tx.at))
            wms_work.insert(wms.LotxLocxId, rows.lotxlocxid(w, stock, site, tx.at))
            wms_work.update(
                wms.ReceiptDetail,
                {"ReceiptKey": po.receipt_key, "ReceiptLineNumber": wms_key(pl.lnid // 1000, 5)},
                {
                    "QtyReceived": received,
                    "Status": "9",
                    "ToLoc": loc,
                    "ToLot": lot,
                    "ToId": pallet,
                    "Lottable02": batch,
                    "DateReceived": tx.at.local(site),
                }
                | rows.wms_audit(site, tx.at, add=False),
            )
            wms_work.insert(
                wms.Itrn,
                rows.itrn(
                    w,
                    self._next_key("itrn"),
                    "DP",
                    stock,
                    received,
                    f"{po.receipt_key}{wms_key(pl.lnid // 1000, 5)}",
                    "ntrReceiptDetailAdd",
                    site,
                    tx.at,
                    to_loc=loc,
                ),
            )
            staged.append((pl, stock, received, max(1, got)))
        erp_work = tx.db("erp")
        w.counters.rec_doc += 1
        doc = w.counters.rec_doc
        for pl, stock, received, got in staged:
            item = w.items[pl.itm]
            erp_work.insert(
                erp.F43121,
                {
                    "prmatc": "1",
                    "prkcoo": w.company,
                    "prdoco": po.doco,
                    "prdcto": "OP",
                    "prsfxo": "000",
                    "prlnid": pl.lnid,
                    "prnlin": 1,
                    "prdoc": doc,
                    "prdct": "OV",
                    "pran8": po.an8,
                    "pritm": pl.itm,
                    "prlitm": item.litm,
                    "prmcu": mcu(site.mcu),
                    "prlocn": " ",
                    "prlotn": stock.lot,
                    "pruom": pl.uom,
                    "pruorg": implied_for("pruorg", Decimal(pl.qty)),
                    "prurec": implied_for("prurec", Decimal(got)),
                    "pruopn": 0,
                    "prprrc": implied_for("prprrc", pl.prrc, po.crcd),
                    "praexp": implied_for("praexp", rows.money(pl.prrc * got, po.crcd), po.crcd),
                    "prcrcd": po.crcd,
                    "prrcdj": tx.at.julian_in(site, 0),
                    "prdgl": tx.at.julian_in(site, 0),
                    "prlttr": "400",
                    "prnxtr": "999",
                }
                | rows.audit("pr", "EP4312", site, tx.at),
            )
            erp_work.update(
                erp.F4311,
                rows.pd_key(w, po, pl),
                {
                    "pdurec": implied_for("pdurec", Decimal(got)),
                    "pduopn": 0,
                    "pdlttr": "400",
                    "pdnxtr": "999",
                }
                | rows.audit("pd", "EP4312", site, tx.at),
            )
            tx.journal.set(pl, "received", received)
            tx.journal.set(
                pl, "receipt", Receipt(nlin=1, doc=doc, stock=stock.key, qty_base=received)
            )
            self._touch(tx, pl.itm, site.mcu, pqoh=received, preq=-pl.qty_base)
            tx.event(
                "goods.received",
                pid,
                line_id=f"{pid}/{line_id(pl.lnid)}",
                item_id=item.litm,
                qty_received_base=received,
                lot=stock.lot,
                lpn=stock.id,
                variance=received - pl.qty_base,
            )
        self._move_po(tx, po, "received")
        for pl in po.lines:
            tx.journal.append(w.recent_receipts, (po.doco, pl.lnid))
        while len(w.recent_receipts) > RECENT_RECEIPTS:
            old_doco, _ = w.recent_receipts[0]
            tx.journal.remove(w.recent_receipts, w.recent_receipts[0])
            if all(d != old_doco for d, _ in w.recent_receipts) and old_doco in w.pos:
                tx.journal.remove(self.po_queues[w.pos[old_doco].stage], old_doco)
                tx.journal.pop(w.pos, old_doco)
        tx.keys = {"po_id": pid, "ReceiptKey": po.receipt_key, "prdoc": doc}
        return True

    def receipt_reversal(self, tx: TxPlan) -> bool:
        w = self.w
        eligible = []
        for doco, lnid in w.recent_receipts:
            po = w.pos.get(doco)
            if po is None:
                continue
            pl = next(p for p in po.lines if p.lnid == lnid)
            r = pl.receipt
            stock = w.stock.get(r.stock) if r else None
            if r and not r.reversed and stock and stock.free == stock.qty == r.qty_base:
                eligible.append((po, pl, r, stock))
        if not eligible:
            return False
        po, pl, r, stock = self.rng.choice(eligible)
        site = w.sites[po.mcu]
        pid = po_id(w, po)
        wms_work = tx.db("wms")
        wms_work.delete(wms.LotxLocxId, rows.stock_key(stock))
        wms_work.insert(
            wms.Itrn,
            rows.itrn(
                w,
                self._next_key("itrn"),
                "AJ",
                stock,
                -r.qty_base,
                f"{po.receipt_key}{wms_key(pl.lnid // 1000, 5)}",
                "ntrReceiptReversal",
                site,
                tx.at,
                from_loc=stock.loc,
            ),
        )
        wms_work.update(
            wms.ReceiptDetail,
            {"ReceiptKey": po.receipt_key, "ReceiptLineNumber": wms_key(pl.lnid // 1000, 5)},
            {"QtyReceived": 0, "Status": "0"} | rows.wms_audit(site, tx.at, add=False),
        )
        self._drop_stock(tx, stock)
        key = {
            "prmatc": "1",
            "prkcoo": w.company,
            "prdoco": po.doco,
            "prdcto": "OP",
            "prsfxo": "000",
            "prlnid": pl.lnid,
            "prnlin": r.nlin,
            "prdoc": r.doc,
        }
        erp_work = tx.db("erp")
        # The primary-key-changing update: match type 1 (receipt) becomes 4 (reversal).
        erp_work.update(erp.F43121, key, {"prmatc": "4"} | rows.audit("pr", "EP4312", site, tx.at))
        erp_work.update(
            erp.F4311,
            rows.pd_key(w, po, pl),
            {"pdurec": 0, "pdlttr": "280", "pdnxtr": "400"}
            | rows.audit("pd", "EP4312", site, tx.at),
        )
        tx.journal.set(r, "reversed", True)
        self._touch(tx, pl.itm, site.mcu, pqoh=-r.qty_base)
        tx.event(
            "receipt.reversed",
            pid,
            line_id=f"{pid}/{line_id(pl.lnid)}",
            receipt_id=f"{r.doc}",
            qty=r.qty_base,
        )
        tx.keys = {"po_id": pid, "prdoc": r.doc, "lot": stock.lot}
        return True

    # --- inventory and sensors ---------------------------------------------------------------

    def _random_stock(self, site: Site) -> Stock | None:
        items = self.w.site_items[site.mcu]
        itm = items[self.rng.randrange(len(items))]
        keys = self.index.get((itm, site.mcu))
        return self.w.stock[keys[0]] if keys else None

    def cycle_count(self, tx: TxPlan) -> bool:
        site = self.rng.choice(self.site_list)
        stock = self._random_stock(site)
        if stock is None:
            return False
        work = tx.db("wms")
        if self.rng.random() < 0.7:
            # Counted, no variance: only the audit columns change (a no-op for the pipeline).
            work.update(
                wms.LotxLocxId,
                rows.stock_key(stock),
                {"EditWho": f"CC{tx.seq % 10**6}"} | {"EditDate": tx.at.local(site)},
            )
            tx.keys = {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}
            return True
        delta = self.rng.choice((-3, -2, -1, 1, 2, 3))
        if delta < 0 and stock.free < -delta:
            delta = -delta
        tx.journal.add(stock, "qty", delta)
        work.update(wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at))
        work.insert(
            wms.Itrn,
            rows.itrn(
                self.w,
                self._next_key("itrn"),
                "AJ",
                stock,
                delta,
                f"CC{tx.seq}",
                "ntrCycleCount",
                site,
                tx.at,
                from_loc=stock.loc,
                to_loc=stock.loc,
            ),
        )
        self._touch(tx, stock.itm, site.mcu, pqoh=delta)
        tx.event(
            "inventory.adjusted",
            self.inventory_key(stock.itm, site.mcu),
            delta_qty=delta,
            reason="CYCLE_COUNT",
            lot=stock.lot,
            loc=stock.loc,
        )
        tx.keys = {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}
        return True

    def probe_due(self, sensor: str, tx: TxPlan) -> bool:
        """A probe logs at most once per second (its log's resolution; two readings of one probe
        in one second are the duplicate-reading defect). Whether it is due is decided on the
        run's schedule, not the wall clock, so a seed gives the same readings every time."""
        last = self.probe_scheduled.get(sensor)
        return last is None or tx.scheduled - last >= 1.0

    def stamp_reading(self, sensor: str, tx: TxPlan) -> int:
        """The epoch second a reading is logged with: now, or the probe's next free second when
        the run fell behind its schedule and caught up within one wall-clock second."""
        self.probe_scheduled[sensor] = tx.scheduled
        now = int(tx.at.utc.timestamp())
        epoch = max(now, self.w.probe_epochs.get(sensor, now - 1) + 1)
        tx.journal.put(self.w.probe_epochs, sensor, epoch)
        return epoch

    def temperature(self, tx: TxPlan) -> bool:
        readings = [(s, site) for site in self.site_list for s in sorted(site.sensors.items())]
        if not readings:
            return False
        readings = [r for r in readings if self.probe_due(r[0][0], tx)]
        if not readings:
            return False
        serials = []
        for (sensor, loc), site in readings:
            epoch = self.stamp_reading(sensor, tx)
            roll = self.rng.random()
            if roll < 0.01:
                temp = Decimal(self.rng.randint(850, 1100)).scaleb(-2)
            elif roll < 0.015:
                temp = Decimal(self.rng.randint(-150, 0)).scaleb(-2)
            else:
                temp = Decimal(round(self.rng.gauss(500, 80))).scaleb(-2)
                temp = min(max(temp, Decimal("2.50")), Decimal("7.50"))
            self.w.counters.temp += 1
            serials.append(self.w.counters.temp)
            tx.db("wms").insert(
                wms.ZzTempLog,
                {
                    "SerialKey": self.w.counters.temp,
                    "SensorId": sensor,
                    "Loc": loc,
                    "TrailerId": " ",
                    "ReadingEpoch": epoch,
                    "TempC": temp,
                },
            )
            tx.event(
                "temperature.recorded",
                f"{site.mcu}|{loc}",
                sensor_id=sensor,
                serial_key=self.w.counters.temp,
                temp_c=temp,
            )
            if not Decimal(2) <= temp <= Decimal(8):
                tx.event(
                    "shipment.exception",
                    f"{site.mcu}|{loc}",
                    kind="TEMP_EXCURSION",
                    sensor_id=sensor,
                    temp_c=temp,
                    derived=True,
                )
        tx.keys = {"SerialKey": serials}
        return True

    def item_edit(self, tx: TxPlan) -> bool:
        item = self.w.items[self.rng.choice(self.w.site_items[self.site_list[0].mcu])]
        site = self.site_list[0]
        dsc = item.dsc[:26] + " REV" if not item.dsc.endswith(" REV") else item.dsc[:-4]
        tx.journal.set(item, "dsc", dsc)
        tx.db("erp").update(
            erp.F4101,
            {"imitm": item.itm},
            {"imdsc1": dsc} | rows.audit("im", "EP4101", site, tx.at),
        )
        tx.event("item.upserted", item.litm, changed=["description"])
        tx.keys = {"item_id": item.litm}
        return True

    def housekeeping(self, tx: TxPlan) -> bool:
        """Exceed's TrafficCop touch: the row changes, nothing of business value does."""
        site = self.rng.choice(self.site_list)
        stock = self._random_stock(site)
        if stock is None:
            return False
        tx.db("wms").update(
            wms.LotxLocxId,
            rows.stock_key(stock),
            {"TrafficCop": "9", "EditWho": f"TC{tx.seq % 10**6}", "EditDate": tx.at.local(site)},
        )
        tx.keys = {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}
        return True


def _projected(world: World, itm: int, site_mcu: str) -> int:
    b = world.balance(itm, site_mcu)
    return b.pqoh - b.pcom - b.hcom + b.preq


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
