"""ERP ``f41002`` item UoM conversions → reference state and a refreshed ``item.upserted``.

``umconv`` is stored x10^7; a blank ``ummcu`` means the factor holds for every branch. Each
conversion is its own state key, so instances never overwrite each other's conversions.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms import quirks
from transforms.envelope import ChangeEvent, Op
from transforms.errors import MissingReference
from transforms.events import UomConversion
from transforms.mappers.erp_f4101 import item_event
from transforms.mapping import Output, changed_columns, jde_business, jde_columns, mapper
from transforms.reference import Reference, StateUpdate

COLUMNS = jde_columns("um", ["ummcu", "umitm", "umum", "umrum", "umconv", "umcnv1"])
BUSINESS = jde_business("um", COLUMNS)


@mapper("erp", "f41002", columns=COLUMNS, reference=True)
def uom_conversions(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    itm = str(row.required_integer("umitm"))
    branch = quirks.business_unit(row.raw_text("ummcu")) or ""
    from_uom = row.required_text("umum")
    to_uom = row.required_text("umrum")
    key = f"uom|{itm}|{branch}|{from_uom}|{to_uom}"
    if change.op is Op.UPDATE and not changed_columns(change, BUSINESS):
        return
    this = (branch, from_uom, to_uom)
    conversions = [
        c for c in ref.conversions(itm) if (c.branch or "", c.from_uom, c.to_uom) != this
    ]
    if change.op is Op.DELETE:
        yield StateUpdate(key, None)
    else:
        factor = quirks.tidy(quirks.implied(row.required_decimal("umconv"), 7))
        if factor <= 0:
            raise MissingReference("invalid_conversion", f"{key}: factor {factor}")
        yield StateUpdate(key, {"factor": str(factor)})
        conversions.append(
            UomConversion(from_uom=from_uom, to_uom=to_uom, factor=factor, branch=branch or None)
        )
    record = ref.state(f"item|{itm}")
    if record is None:
        # The item master row has not been seen yet: its own item.upserted will carry this
        # conversion, read from the state this update writes.
        return
    # Keyed by the conversion row: a snapshot reads every row at one log position, and an
    # item with two conversions would otherwise get one event id twice (the gate refuses
    # that, and with it the conversions' state: every order in that unit was quarantined).
    event = item_event(change, ref, itm, dict(record), pk=key.removeprefix("uom|"))
    yield event.model_copy(update={"conversions": tuple(conversions)})
