"""WMS bolt-on ``ZZ_TEMP_LOG`` probe readings → ``temperature.recorded``.

Unlike every other WMS time, ``ReadingEpoch`` is Unix seconds (already UTC). ``TempC`` is an
exact DECIMAL(5,2). The site is the facility of the probe's location, if it has one (a reefer
trailer has none).
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms import quirks
from transforms.envelope import ChangeEvent, Op
from transforms.errors import MappingError
from transforms.events import TemperatureRecorded
from transforms.mappers._common import header, loc_site
from transforms.reference import Reference
from transforms.registry import Output, mapper

COLUMNS = frozenset(["SerialKey", "SensorId", "Loc", "TrailerId", "ReadingEpoch", "TempC"])


@mapper("wms", "ZZ_TEMP_LOG", columns=COLUMNS)
def probe_readings(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    if change.op not in (Op.CREATE, Op.READ):
        return
    key = str(row.required_integer("SerialKey"))
    reading_at = quirks.epoch_seconds(row.required_integer("ReadingEpoch"))
    if reading_at is None:
        raise MappingError("missing_value", f"reading {key} has no time")
    loc = row.text("Loc")
    site = loc_site(ref, loc)
    offset = quirks.format_offset(reading_at.astimezone(ref.site_zone(site))) if site else None
    yield TemperatureRecorded(
        **header(
            change,
            pk=key,
            event_type="temperature.recorded",
            occurred=(reading_at, offset) if offset else None,
            site_id=site,
        ),
        sensor_id=row.required_text("SensorId"),
        location=loc,
        trailer_id=row.text("TrailerId"),
        temperature_c=row.required_decimal("TempC"),
    )
