"""WMS ``LOC`` locations → reference state (location → facility, zone, type).

The facility is the ERP branch, which is how WMS rows that only name a location (the ITRN
journal, probe readings) find their site and time zone.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent, Op
from transforms.mapping import WMS_HOUSEKEEPING, Output, mapper
from transforms.reference import Reference, StateUpdate

COLUMNS = WMS_HOUSEKEEPING | set(
    ["Loc", "Facility", "PutawayZone", "LocationType", "LogicalLocation", "LocLevel", "Status"]
)


@mapper("wms", "LOC", columns=COLUMNS, reference=True)
def locations(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    key = f"loc|{row.required_text('Loc')}"
    if change.op is Op.DELETE:
        yield StateUpdate(key, None)
        return
    yield StateUpdate(
        key,
        {
            "facility": row.text("Facility"),
            "zone": row.text("PutawayZone"),
            "type": row.text("LocationType"),
            "status": row.text("Status"),
        },
    )
