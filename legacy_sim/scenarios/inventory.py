"""Inventory: cycle counts (most without a variance: an audit-only touch), item master edits
and Exceed's housekeeping touches (the row changes, nothing of business value does)."""

from __future__ import annotations

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.scenarios.context import Context
from legacy_sim.schemas import erp, wms


def cycle_count(ctx: Context, tx: TxPlan) -> bool:
    site = ctx.rng.choice(ctx.site_list)
    stock = ctx.random_stock(site)
    if stock is None:
        return False
    work = tx.db("wms")
    if ctx.rng.random() < 0.7:
        # Counted, no variance: only the audit columns change (a no-op for the pipeline).
        work.update(
            wms.LotxLocxId,
            rows.stock_key(stock),
            {"EditWho": f"CC{tx.seq % 10**6}"} | {"EditDate": tx.at.local(site)},
        )
        tx.keys = {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}
        return True
    delta = ctx.rng.choice((-3, -2, -1, 1, 2, 3))
    if delta < 0 and stock.free < -delta:
        delta = -delta
    tx.journal.add(stock, "qty", delta)
    work.update(wms.LotxLocxId, rows.stock_key(stock), rows.stock_values(stock, site, tx.at))
    work.insert(
        wms.Itrn,
        rows.itrn(
            ctx.world,
            ctx.next_key("itrn"),
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
    ctx.touch(tx, stock.itm, site.mcu, pqoh=delta)
    tx.event(
        "inventory.adjusted",
        ctx.inventory_key(stock.itm, site.mcu),
        delta_qty=delta,
        reason="CYCLE_COUNT",
        lot=stock.lot,
        loc=stock.loc,
    )
    tx.keys = {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}
    return True


def item_edit(ctx: Context, tx: TxPlan) -> bool:
    item = ctx.world.items[ctx.rng.choice(ctx.world.site_items[ctx.site_list[0].mcu])]
    site = ctx.site_list[0]
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


def housekeeping(ctx: Context, tx: TxPlan) -> bool:
    """Exceed's TrafficCop touch: the row changes, nothing of business value does."""
    site = ctx.rng.choice(ctx.site_list)
    stock = ctx.random_stock(site)
    if stock is None:
        return False
    tx.db("wms").update(
        wms.LotxLocxId,
        rows.stock_key(stock),
        {"TrafficCop": "9", "EditWho": f"TC{tx.seq % 10**6}", "EditDate": tx.at.local(site)},
    )
    tx.keys = {"Lot": stock.lot, "Loc": stock.loc, "Id": stock.id}
    return True
