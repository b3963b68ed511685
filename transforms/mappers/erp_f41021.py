"""ERP ``f41021`` item location balances: book quantities (state, not events).

Balances feed the ``inventory.level_changed`` state topic of a later issue; the physical facts
(adjustments, moves) come from the WMS journal. Mapped to nothing for now, so balance updates
are neither quarantined nor double-counted as adjustments.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent
from transforms.mappers._common import jde_columns
from transforms.reference import Reference
from transforms.registry import Output, mapper

COLUMNS = jde_columns(
    "li",
    [
        "liitm",
        "limcu",
        "lilocn",
        "lilotn",
        "lipbin",
        "lilots",
        "lipqoh",
        "lipcom",
        "lihcom",
        "lifcom",
        "lipreq",
        "liqttr",
        "liqtin",
        "lilrcj",
    ],
)


@mapper("erp", "f41021", columns=COLUMNS)
def item_balances(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    change.row.required_integer("liitm")
    return iter(())
