"""WMS ``LOTxLOCxID`` bin balances: state, not events (positions are a later issue).

The physical facts that change these rows arrive as ITRN journal rows and pick details; the
housekeeping deletes of zero rows are no-ops. Mapped to nothing so they are not quarantined.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent, Op
from transforms.mapping import WMS_HOUSEKEEPING, Output, mapper
from transforms.reference import Reference

COLUMNS = WMS_HOUSEKEEPING | set(
    [
        "Lot",
        "Loc",
        "Id",
        "StorerKey",
        "Sku",
        "Qty",
        "QtyAllocated",
        "QtyPicked",
        "QtyExpected",
        "QtyPickInProcess",
        "PendingMoveIN",
        "QtyReplen",
        "Status",
        "ArchiveDate",
    ]
)


# Updates and deletes are skipped before their rows are decoded (nearly all of its traffic);
# a created row is still checked (its columns, its lot).
@mapper("wms", "LOTxLOCxID", columns=COLUMNS, ignores=(Op.UPDATE, Op.DELETE))
def bin_balances(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    change.row.required_text("Lot")
    return iter(())
