"""Sensors: cold-room temperature readings (``ZZ_TEMP_LOG``), each probe at most once a second,
a few out of the 2-8 °C band (a derived ``shipment.exception``)."""

from __future__ import annotations

from decimal import Decimal

from legacy_sim.engine import TxPlan
from legacy_sim.scenarios.context import Context
from legacy_sim.schemas import wms


def probe_due(ctx: Context, sensor: str, tx: TxPlan) -> bool:
    """A probe logs at most once per second (its log's resolution; two readings of one probe
    in one second are the duplicate-reading defect). Whether it is due is decided on the
    run's schedule, not the wall clock, so a seed gives the same readings every time."""
    last = ctx.probe_scheduled.get(sensor)
    return last is None or tx.scheduled - last >= 1.0


def stamp_reading(ctx: Context, sensor: str, tx: TxPlan) -> int:
    """The epoch second a reading is logged with: now, or the probe's next free second when
    the run fell behind its schedule and caught up within one wall-clock second."""
    ctx.probe_scheduled[sensor] = tx.scheduled
    now = int(tx.at.utc.timestamp())
    epoch = max(now, ctx.world.probe_epochs.get(sensor, now - 1) + 1)
    tx.journal.put(ctx.world.probe_epochs, sensor, epoch)
    return epoch


def temperature(ctx: Context, tx: TxPlan) -> bool:
    readings = [(s, site) for site in ctx.site_list for s in sorted(site.sensors.items())]
    if not readings:
        return False
    readings = [r for r in readings if probe_due(ctx, r[0][0], tx)]
    if not readings:
        return False
    serials = []
    for (sensor, loc), site in readings:
        epoch = stamp_reading(ctx, sensor, tx)
        roll = ctx.rng.random()
        if roll < 0.01:
            temp = Decimal(ctx.rng.randint(850, 1100)).scaleb(-2)
        elif roll < 0.015:
            temp = Decimal(ctx.rng.randint(-150, 0)).scaleb(-2)
        else:
            temp = Decimal(round(ctx.rng.gauss(500, 80))).scaleb(-2)
            temp = min(max(temp, Decimal("2.50")), Decimal("7.50"))
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
        tx.event(
            "temperature.recorded",
            f"{site.mcu}|{loc}",
            sensor_id=sensor,
            serial_key=ctx.world.counters.temp,
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
