"""Inbound: PO issue (ERP ``F4311``, on order) → ASN (WMS ``RECEIPTDETAIL`` + ERP status 280)
→ receipt (WMS lot, pallet, ``ITRN`` deposit; ERP ``F43121`` match type 1, status 400/999), a
few reversed (the primary-key-changing ``F43121`` update), and promised-date changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.quirks import implied_for, mcu, wms_key
from legacy_sim.scenarios.context import Context, line_id, po_id
from legacy_sim.schemas import erp, wms
from legacy_sim.schemas.wms import STORER
from legacy_sim.state import PoLine, PurchaseOrder, Receipt, Stock, World

#: Receipt lines kept as candidates for a reversal; a PO leaves the picture with its last one.
RECENT_RECEIPTS = 300


def po_issue(ctx: Context, tx: TxPlan) -> bool:
    """A PO to a supplier for what runs lowest at a site, promised in 2 to 7 days."""
    return issue_po(ctx, tx, lambda rng: (0, rng.randint(2, 7)))


def issue_po(ctx: Context, tx: TxPlan, dates: Callable[[random.Random], tuple[int, int]]) -> bool:
    """A PO whose order and promised dates are ``dates`` (drawn): days from today at the site."""
    w, rng = ctx.world, ctx.rng
    site = rng.choice(ctx.site_list)
    supplier = rng.choice(w.suppliers)
    w.counters.po += 1
    ordered_days, promised_days = dates(rng)
    po = PurchaseOrder(
        doco=w.counters.po,
        mcu=site.mcu,
        an8=supplier.an8,
        crcd=supplier.currency,
        lines=[],
        pddj_days=promised_days,
    )
    # Replenish what runs lowest among a sample of popular items.
    sample = ctx.pick_items(site, 12)
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
    tx.journal.append(ctx.po_queues["issued"], po.doco)
    pid = po_id(w, po)
    tx.db("erp").insert(
        erp.F4311, *(rows.f4311(w, po, pl, site, tx.at, ordered_days) for pl in po.lines)
    )
    for pl in po.lines:
        ctx.touch(tx, pl.itm, site.mcu, preq=pl.qty_base)
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


def asn(ctx: Context, tx: TxPlan) -> bool:
    queue = ctx.po_queues["issued"]
    if not queue:
        return False
    w, po = ctx.world, ctx.world.pos[queue[0]]
    site = w.sites[po.mcu]
    pid = po_id(w, po)
    key = ctx.next_key("receipt_key")
    tx.journal.set(po, "receipt_key", key)
    tx.journal.set(po, "asn", f"ASN{ctx.rng.randint(10**7, 10**8 - 1)}")
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
            {"line_id": f"{pid}/{line_id(pl.lnid)}", "expected_qty": pl.qty_base} for pl in po.lines
        ],
    )
    tx.keys = {"po_id": pid, "ReceiptKey": key}
    ctx.move_po(tx, po, "advised")
    return True


def receipt(ctx: Context, tx: TxPlan) -> bool:
    """The oldest advised PO is received in full (a few lines short or over, then closed)."""
    return receive(ctx, tx, partial=False)


def receive(ctx: Context, tx: TxPlan, *, partial: bool) -> bool:
    """Receive the oldest advised PO. ``partial``: each line gets part of its quantity and
    stays open for the rest (ERP status 400 → 400, ``pduopn`` the rest, still on order)."""
    queue = ctx.po_queues["advised"]
    if not queue:
        return False
    w, rng, po = ctx.world, ctx.rng, ctx.world.pos[queue[0]]
    site = w.sites[po.mcu]
    pid = po_id(w, po)
    wms_work = tx.db("wms")
    staged: list[tuple[PoLine, Stock, int, int]] = []
    for pl in po.lines:
        item = w.items[pl.itm]
        per = item.ea_per("CA", site.mcu)
        if partial:
            got = rng.randint(1, pl.qty - 1)  # PO lines are of 5 to 40 cases
        else:
            roll = rng.random()
            got = (
                pl.qty - rng.randint(1, 2) if roll < 0.05 else pl.qty + 1 if roll < 0.07 else pl.qty
            )
        received = max(1, got) * per
        lot = ctx.next_key("lot")
        pallet = ctx.next_sscc()
        cold_locs = list(site.sensors.values())
        loc = rng.choice(cold_locs if item.cold and cold_locs else site.reserve_locs)
        stock = Stock(lot=lot, loc=loc, id=pallet, itm=pl.itm, mcu=site.mcu, qty=received)
        tx.journal.put(w.stock, stock.key, stock)
        tx.journal.append(ctx.index.setdefault((stock.itm, stock.mcu), []), stock.key)
        batch = f"SB{rng.randint(10**6, 10**7 - 1)}"
        wms_work.insert(wms.LotAttribute, rows.lotattribute(item, lot, batch, site, tx.at))
        wms_work.insert(wms.LotxLocxId, rows.lotxlocxid(w, stock, site, tx.at))
        wms_work.update(
            wms.ReceiptDetail,
            {"ReceiptKey": po.receipt_key, "ReceiptLineNumber": wms_key(pl.lnid // 1000, 5)},
            {
                "QtyReceived": received,
                "Status": "5" if partial else "9",
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
                ctx.next_key("itrn"),
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
        left = pl.qty - got if partial else 0  # cases still open on the line
        open_qty = implied_for("pruopn", Decimal(left)) if left else 0
        next_status = "400" if left else "999"
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
                "pruopn": open_qty,
                "prprrc": implied_for("prprrc", pl.prrc, po.crcd),
                "praexp": implied_for("praexp", rows.money(pl.prrc * got, po.crcd), po.crcd),
                "prcrcd": po.crcd,
                "prrcdj": tx.at.julian_in(site, 0),
                "prdgl": tx.at.julian_in(site, 0),
                "prlttr": "400",
                "prnxtr": next_status,
            }
            | rows.audit("pr", "EP4312", site, tx.at),
        )
        erp_work.update(
            erp.F4311,
            rows.pd_key(w, po, pl),
            {
                "pdurec": implied_for("pdurec", Decimal(got)),
                "pduopn": open_qty,
                "pdlttr": "400",
                "pdnxtr": next_status,
            }
            | rows.audit("pd", "EP4312", site, tx.at),
        )
        tx.journal.set(pl, "received", received)
        tx.journal.set(pl, "receipt", Receipt(nlin=1, doc=doc, stock=stock.key, qty_base=received))
        # What is still open stays on order; a closed line leaves it whole (short or over).
        on_order = received if left else pl.qty_base
        ctx.touch(tx, pl.itm, site.mcu, pqoh=received, preq=-on_order)
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
    ctx.move_po(tx, po, "received")
    for pl in po.lines:
        tx.journal.append(w.recent_receipts, (po.doco, pl.lnid))
    while len(w.recent_receipts) > RECENT_RECEIPTS:
        old_doco, _ = w.recent_receipts[0]
        tx.journal.remove(w.recent_receipts, w.recent_receipts[0])
        if all(d != old_doco for d, _ in w.recent_receipts) and old_doco in w.pos:
            tx.journal.remove(ctx.po_queues[w.pos[old_doco].stage], old_doco)
            tx.journal.pop(w.pos, old_doco)
    tx.keys = {"po_id": pid, "ReceiptKey": po.receipt_key, "prdoc": doc}
    return True


def receipt_reversal(ctx: Context, tx: TxPlan) -> bool:
    w = ctx.world
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
    po, pl, r, stock = ctx.rng.choice(eligible)
    site = w.sites[po.mcu]
    pid = po_id(w, po)
    wms_work = tx.db("wms")
    wms_work.delete(wms.LotxLocxId, rows.stock_key(stock))
    wms_work.insert(
        wms.Itrn,
        rows.itrn(
            w,
            ctx.next_key("itrn"),
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
    ctx.drop_stock(tx, stock)
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
        {"pdurec": 0, "pdlttr": "280", "pdnxtr": "400"} | rows.audit("pd", "EP4312", site, tx.at),
    )
    tx.journal.set(r, "reversed", True)
    ctx.touch(tx, pl.itm, site.mcu, pqoh=-r.qty_base)
    tx.event(
        "receipt.reversed",
        pid,
        line_id=f"{pid}/{line_id(pl.lnid)}",
        receipt_id=f"{r.doc}",
        qty=r.qty_base,
    )
    tx.keys = {"po_id": pid, "prdoc": r.doc, "lot": stock.lot}
    return True


def po_promise_change(ctx: Context, tx: TxPlan) -> bool:
    """A PO's promised date moves by -1 to +3 days (EP4310); the same date again is a touch."""
    queue = ctx.po_queues["issued"] or ctx.po_queues["advised"]
    if not queue:
        return False
    po = ctx.world.pos[ctx.rng.choice(queue)]
    site = ctx.world.sites[po.mcu]
    old_days = po.pddj_days
    days = old_days + ctx.rng.randint(-1, 3)
    tx.journal.set(po, "pddj_days", days)
    pid = po_id(ctx.world, po)
    for pl in po.lines:
        tx.db("erp").update(
            erp.F4311,
            rows.pd_key(ctx.world, po, pl),
            {"pdpddj": tx.at.julian_in(site, days)} | rows.audit("pd", "EP4310", site, tx.at),
        )
    if days != old_days:  # the same date again is an audit-only touch, no business change
        tx.event("po.changed", pid, changed=["promised_date"], lines=len(po.lines))
    tx.keys = {"po_id": pid}
    return True


def _projected(world: World, itm: int, site_mcu: str) -> int:
    b = world.balance(itm, site_mcu)
    return b.pqoh - b.pcom - b.hcom + b.preq
