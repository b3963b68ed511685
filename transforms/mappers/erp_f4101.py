"""ERP ``f4101`` item master → ``item.upserted`` and the item reference state.

Trims the CHAR padding, keeps the GTIN (``imaitm``, blank for some items → None), reads the
cold-chain flag from category code ``imsrp5 = 'CC'`` and lot control from ``imsrce``. Updates
that only touch the audit block are suppressed.
"""

from __future__ import annotations

from collections.abc import Iterator

from transforms.envelope import ChangeEvent, Op, Row
from transforms.events import ItemUpserted
from transforms.mapping import Output, changed_columns, header, jde_business, jde_columns, mapper
from transforms.reference import Reference, StateUpdate, StateValue

COLUMNS = jde_columns(
    "im",
    [
        "imitm",
        "imlitm",
        "imaitm",
        "imdsc1",
        "imstkt",
        "imuom1",
        "imuom3",
        "imuom4",
        "imsrp1",
        "imsrp2",
        "imsrp3",
        "imsrp4",
        "imsrp5",
        "imsrce",
        "imsld",
    ],
)
BUSINESS = jde_business("im", COLUMNS)


def item_record(row: Row) -> StateValue:
    shelf_life = row.integer("imsld")
    return {
        "item_id": row.required_text("imlitm"),
        "base_uom": row.required_text("imuom1"),
        "gtin": row.text("imaitm"),
        "description": row.text("imdsc1"),
        "purchasing_uom": row.text("imuom3"),
        "pricing_uom": row.text("imuom4"),
        "lot_controlled": row.text("imsrce") == "1",
        "shelf_life_days": shelf_life or None,
        "temp_class": "COLD_CHAIN" if row.text("imsrp5") == "CC" else None,
        "stocking_type": row.text("imstkt"),
    }


def item_event(
    change: ChangeEvent,
    ref: Reference,
    itm: str,
    record: StateValue,
    ordinal: int = 0,
    *,
    pk: str | None = None,
) -> ItemUpserted:
    """The item's current master data; ``pk`` is the source row's key when the row is not
    the item master's (a conversion), so that two rows of one snapshot give two events."""
    return ItemUpserted(
        **header(change, pk=pk or itm, event_type="item.upserted", ordinal=ordinal),
        item_short=itm,
        conversions=ref.conversions(itm),
        **record,
    )


@mapper("erp", "f4101", columns=COLUMNS, reference=True)
def items(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
    row = change.row
    itm = str(row.required_integer("imitm"))
    if change.op is Op.DELETE:
        record = ref.state(f"item|{itm}")
        yield StateUpdate(f"item|{itm}", None)
        if record is not None:
            yield StateUpdate(f"sku|{record['item_id']}", None)
        return
    if change.op is Op.UPDATE and not changed_columns(change, BUSINESS):
        return
    record = item_record(row)
    if change.before is not None:
        old_sku = change.before.text("imlitm")
        if old_sku and old_sku != record["item_id"]:
            yield StateUpdate(f"sku|{old_sku}", None)
    yield StateUpdate(f"item|{itm}", record)
    yield StateUpdate(f"sku|{record['item_id']}", {"itm": itm})
    yield item_event(change, ref, itm, record)
