"""ERP ``f42119`` sales order history: the target of the purge of closed ``f4211`` lines.

An insert here pairs with the DELETE on ``f4211`` of the same line: an archive move, which is
not a business event. Mapped (to nothing) so it is not quarantined as an unknown table.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent
from transforms.mappers.erp_f4211 import COLUMNS
from transforms.mapping import Output, mapper
from transforms.reference import Reference


@mapper("erp", "f42119", columns=COLUMNS)
def sales_order_history(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    change.row.required_integer("sddoco")  # still a well-formed sales line
    return iter(())
