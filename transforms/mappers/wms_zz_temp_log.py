"""WMS bolt-on ``ZZ_TEMP_LOG`` probe readings → ``temperature.recorded``.

Unlike every other WMS time, ``ReadingEpoch`` is Unix seconds (already UTC). ``TempC`` is an
exact DECIMAL(5,2). The site is the facility of the probe's location, if it has one (a reefer
trailer has none).

A probe's recent readings (epoch, serial) are kept as reference state (``probe|<sensor>``), so
a second reading of the same probe at the same instant is marked ``duplicate`` whichever batch
or restart it comes in: the raw topic is keyed by probe, so its readings arrive in log order
and the first one written is the one that passes.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms import quirks
from transforms.envelope import ChangeEvent, Op
from transforms.errors import MappingError
from transforms.events import TemperatureRecorded
from transforms.mapping import Output, header, loc_site, mapper
from transforms.reference import Reference, StateUpdate

COLUMNS = frozenset(["SerialKey", "SensorId", "Loc", "TrailerId", "ReadingEpoch", "TempC"])
#: Readings remembered per probe (duplicates are written together, never far apart).
RECENT_READINGS = 32


def _recent(ref: Reference, sensor: str) -> list[list[int]]:
    state = ref.state(f"probe|{sensor}")
    return [] if state is None else [list(map(int, r)) for r in state.get("recent", [])]


@mapper("wms", "ZZ_TEMP_LOG", columns=COLUMNS)
def probe_readings(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    if change.op not in (Op.CREATE, Op.READ):
        return
    serial = row.required_integer("SerialKey")
    key = str(serial)
    epoch = row.required_integer("ReadingEpoch")
    reading_at = quirks.epoch_seconds(epoch)
    if reading_at is None:
        raise MappingError("missing_value", f"reading {key} has no time")
    loc = row.text("Loc")
    site = loc_site(ref, loc)
    offset = quirks.format_offset(reading_at.astimezone(ref.site_zone(site))) if site else None
    sensor = row.required_text("SensorId")
    recent = _recent(ref, sensor)
    duplicate = any(e == epoch and s != serial for e, s in recent)
    if not duplicate and [epoch, serial] not in recent:
        recent = [*recent, [epoch, serial]][-RECENT_READINGS:]
        yield StateUpdate(f"probe|{sensor}", {"recent": recent})
    yield TemperatureRecorded(
        **header(
            change,
            pk=key,
            event_type="temperature.recorded",
            occurred=(reading_at, offset) if offset else None,
            site_id=site,
        ),
        sensor_id=sensor,
        location=loc,
        trailer_id=row.text("TrailerId"),
        temperature_c=row.required_decimal("TempC"),
        duplicate=duplicate,
    )
