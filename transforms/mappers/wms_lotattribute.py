"""WMS ``LOTATTRIBUTE`` lot attributes: not yet needed by any event (mapped to nothing)."""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent
from transforms.mapping import WMS_HOUSEKEEPING, Output, mapper
from transforms.reference import Reference

COLUMNS = WMS_HOUSEKEEPING | set(
    [
        "StorerKey",
        "Sku",
        "Lot",
        "Lottable01",
        "Lottable02",
        "Lottable03",
        "Lottable04",
        "Lottable05",
    ]
)


@mapper("wms", "LOTATTRIBUTE", columns=COLUMNS)
def lot_attributes(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    change.row.required_text("Lot")
    return iter(())
