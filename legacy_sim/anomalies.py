"""Named data-quality defects, injected as business transactions of their own.

Each defect writes rows a real legacy system lets through and records in the ledger the
canonical event it concerns and the verdict the quality gate must reach (``quarantine``). A
duplicate's first copy is the genuine entry: the ledger lists it as a clean event (``pass``),
and only the second copy as the defect.
Defective orders are left out of the simulator's picture: they never progress and touch no
balance, so the legacy invariants keep holding for everything else (reconciliation excludes
the ledger's anomaly keys).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.quirks import implied_for, julian
from legacy_sim.scenarios.context import Context, line_id, order_id
from legacy_sim.scenarios.sensors import stamp_reading
from legacy_sim.schemas import erp, wms
from legacy_sim.state import Order, OrderLine

UNKNOWN_ITEM: Final = 99999999


def _bad_order(ctx: Context, tx: TxPlan, defect: str, reason: str) -> None:
    """A one-line order carrying ``defect`` in one column."""
    w, rng = ctx.world, ctx.rng
    site = rng.choice(ctx.site_list)
    customer = rng.choice(w.customers)
    itm = ctx.pick_items(site, 1)[0]
    item = w.items[itm]
    w.counters.so += 1
    order = Order(
        doco=w.counters.so,
        mcu=site.mcu,
        an8=customer.an8,
        crcd=customer.currency,
        customer_po=f"PO{rng.randint(100000, 999999)}",
        lines=[],
    )
    qty = rng.randint(1, 12)
    uprc = rows.unit_price(item.price * rows.FX[order.crcd], order.crcd)
    line = OrderLine(lnid=1000, itm=itm, uom="EA", qty=qty, qty_base=qty, uprc=uprc)
    row = rows.f4211(w, order, line, site, tx.at, lttr="520", nxtr="540")
    if defect == "unknown_sku":
        row |= {"sditm": UNKNOWN_ITEM, "sdlitm": f"ZZ-UNKNOWN-{rng.randint(1000, 9999)}"}
    elif defect == "negative_quantity":
        row["sduorg"] = -row["sduorg"]
    elif defect == "fractional_count_quantity":
        row["sduorg"] = implied_for("sduorg", Decimal("1.5"))  # 1.50 EA of a count unit
    elif defect == "zero_julian_date":
        row["sdtrdj"] = 0
    elif defect == "impossible_julian_date":
        row["sdtrdj"] = julian(tx.at.today(site)) // 1000 * 1000 + 400  # day 400
    elif defect == "unknown_status":
        row |= {"sdlttr": "5X0", "sdnxtr": "QQQ"}
    elif defect == "duplicate_line":
        dup = dict(row)
        dup["sdlnid"] = 2000  # the same item, quantity and customer PO entered twice
        tx.db("erp").insert(erp.F4211, row)
        row = dup
    tx.db("erp").insert(erp.F4211, row)
    oid = order_id(w, order)
    tx.keys = {"order_id": oid, "sddoco": order.doco}
    if defect == "duplicate_line":
        # The first entry is the order line; the second entry is the defect.
        tx.event(
            "order.placed",
            oid,
            customer_id=order.an8,
            site_id=site.mcu,
            lines=[
                {
                    "line_id": f"{oid}/{line_id(1000)}",
                    "item_id": item.litm,
                    "qty": qty,
                    "uom": "EA",
                    "qty_base": qty,
                }
            ],
            verdict="pass",
        )
    tx.event(
        "order.placed",
        oid,
        line_id=f"{oid}/{line_id(2000 if defect == 'duplicate_line' else 1000)}",
        defect=defect,
        reason=reason,
        verdict="quarantine",
    )


def _bad_reading(ctx: Context, tx: TxPlan, defect: str) -> None:
    sensors = [(s, loc, site) for site in ctx.site_list for s, loc in sorted(site.sensors.items())]
    sensor, loc, site = ctx.rng.choice(sensors)
    # The probe's one reading of that second is the defect's (both copies carry it).
    epoch = stamp_reading(ctx, sensor, tx)
    temp = Decimal("-300.00") if defect == "temperature_out_of_range" else Decimal("5.10")
    copies = 2 if defect == "duplicate_reading" else 1
    serials = []
    for _ in range(copies):
        ctx.world.counters.temp += 1
        serials.append(ctx.world.counters.temp)
        tx.db("wms").insert(
            wms.ZzTempLog,
            {
                "SerialKey": ctx.world.counters.temp,
                "SensorId": sensor,
                "Loc": loc,
                "TrailerId": " ",
                "ReadingEpoch": epoch,
                "TempC": temp,
            },
        )
    tx.keys = {"SerialKey": serials}
    reason = "below absolute zero" if copies == 1 else "same sensor and epoch twice"
    if copies > 1:
        # The first reading written is the probe's reading; the second one is the defect.
        tx.event(
            "temperature.recorded",
            f"{site.mcu}|{loc}",
            sensor_id=sensor,
            serial_key=serials[0],
            temp_c=temp,
            verdict="pass",
        )
    tx.event(
        "temperature.recorded",
        f"{site.mcu}|{loc}",
        sensor_id=sensor,
        serial_key=serials[-1],
        defect=defect,
        reason=reason,
        verdict="quarantine",
    )


def _blank_location(ctx: Context, tx: TxPlan) -> None:
    """An adjustment journal row with no location (a ghost adjustment; stock untouched)."""
    site = ctx.rng.choice(ctx.site_list)
    stock = ctx.random_stock(site)
    if stock is None:
        raise LookupError("no stock")
    key = ctx.next_key("itrn")
    row = rows.itrn(
        ctx.world, key, "AJ", stock, 1, f"CC{tx.seq}", "ntrAdjustmentDetailAdd", site, tx.at
    )
    tx.db("wms").insert(wms.Itrn, row)
    tx.keys = {"ItrnKey": key}
    tx.event(
        "inventory.adjusted",
        ctx.inventory_key(stock.itm, site.mcu),
        itrn_key=key,
        defect="blank_location",
        reason="adjustment without a location",
        verdict="quarantine",
    )


_ORDER_DEFECTS: Final[dict[str, str]] = {
    "unknown_sku": "item not in the item master",
    "negative_quantity": "negative ordered quantity",
    "fractional_count_quantity": "fractional quantity for a count unit (EA)",
    "zero_julian_date": "order date 0 (no date)",
    "impossible_julian_date": "order date with day-of-year 400",
    "unknown_status": "status code not in UDC 40/AT",
    "duplicate_line": "the same line entered twice",
}

DEFECTS: Final[tuple[str, ...]] = (
    *_ORDER_DEFECTS,
    "blank_location",
    "temperature_out_of_range",
    "duplicate_reading",
)


def inject(ctx: Context, tx: TxPlan) -> TxPlan:
    """Plan one defective business transaction (defect chosen by the seeded generator)."""
    defect = ctx.rng.choice(DEFECTS)
    tx.kind = f"anomaly.{defect}"
    tx.anomaly = defect
    tx.verdict = "quarantine"
    if defect in _ORDER_DEFECTS:
        _bad_order(ctx, tx, defect, _ORDER_DEFECTS[defect])
    elif defect == "blank_location":
        _blank_location(ctx, tx)
    else:
        _bad_reading(ctx, tx, defect)
    return tx
