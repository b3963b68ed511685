"""Outbound exceptions (``scv sim run --visibility``): the order side of issue 19.

- ``backdated_promise``: an entered (else released) order's promised ship date is moved to
  3-5 days ago, its promised delivery two days after (still past): the order will miss its
  promise, whatever happens next.
- ``cut_pick``: the oldest allocated order is picked with a cut: the picker finds less than
  one allocation asks for (at least one transaction unit less, at least one left), the pick
  detail's quantity is lowered before it is picked, the rest goes back to free stock. The
  order ships less than ordered.

Marks: ``late_delivery`` per order, due at the commit (the promise is already past);
``short_shipment`` per dispatch that ships any line short, due at the dispatch's commit, by
whatever cause (a cut, or allocation short of stock in the default traffic): the observer
``short_shipments`` looks at every planned transaction of a ``--visibility`` run.
"""

from __future__ import annotations

from datetime import timedelta

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.scenarios import outbound
from legacy_sim.scenarios.context import Context, day_end, order_id
from legacy_sim.schemas import wms

LATE_DELIVERY = "late_delivery"
SHORT_SHIPMENT = "short_shipment"


def backdated_promise(ctx: Context, tx: TxPlan) -> bool:
    order = outbound.change_order_promise(ctx, tx, lambda rng, _order: -rng.randint(3, 5))
    if order is None:
        return False
    site = ctx.world.sites[order.mcu]
    delivery = order.ppdj_days + 2
    tx.mark(
        LATE_DELIVERY,
        order_id(ctx.world, order),
        day_end(site, tx.at, delivery),
        site_id=site.mcu,
        promised_delivery=(tx.at.today(site) + timedelta(days=delivery)).isoformat(),
    )
    return True


def cut_pick(ctx: Context, tx: TxPlan) -> bool:
    order = ctx.first("allocated")
    if order is None:
        return False
    w, site = ctx.world, ctx.world.sites[order.mcu]
    per_of = {ln.lnid: w.items[ln.itm].ea_per(ln.uom, site.mcu) for ln in order.open_lines}
    cuttable = [
        (ln, p) for ln in order.open_lines for p in ln.picks if p.qty // per_of[ln.lnid] >= 2
    ]
    if not cuttable:
        return False
    ln, pick = ctx.rng.choice(cuttable)
    per = per_of[ln.lnid]
    cut = ctx.rng.randint(1, pick.qty // per - 1) * per
    tx.journal.add(w.stock[pick.stock], "alloc", -cut)
    tx.journal.add(pick, "qty", -cut)
    tx.db("wms").update(
        wms.PickDetail,
        {"PickDetailKey": pick.key},
        {"Qty": pick.qty, "UOMQty": pick.qty // per} | rows.wms_audit(site, tx.at, add=False),
    )
    tx.journal.put(ctx.cut_orders, order_id(w, order), None)
    outbound.pick(ctx, tx)
    tx.keys["cut"] = {"PickDetailKey": pick.key, "qty": cut}
    return True


def short_shipments(ctx: Context, tx: TxPlan) -> None:
    """Mark every dispatch that ships a line short (``shipment.exception`` ``SHORT_SHIP``)."""
    for event in tx.events:
        if event["type"] == "shipment.exception" and event.get("kind") == "SHORT_SHIP":
            oid = str(event["order_id"])
            tx.mark(
                SHORT_SHIPMENT,
                oid,
                shipment_id=event["key"],
                cause="cut" if oid in ctx.cut_orders else "stock",
            )
