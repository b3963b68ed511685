"""Both sides of a parity test for the same facts: the stream's files written by ``edi``'s
builders from canonical events, the batch's by ``legacy_sim.batch`` from the rows its queries
would read, and the batch's manifest as its job writes it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from edi.documents import ShippedOrder, write_846, write_856, write_944, write_945
from edi.parity import Manifest, Record, records_of
from edi.profile import PARTNERS_DIR, load_partners
from edi.x12read import read_interchanges
from legacy_sim.batch import partners as batch_partners
from legacy_sim.batch.documents import (
    BinRow,
    BookRow,
    Extract,
    ItemMaster,
    OrderLineRow,
    PickRow,
    Read,
    ReceiptRow,
    ShipmentRow,
    build,
)
from legacy_sim.batch.job import manifest_of

from . import events as ev

PROFILES = load_partners()
ACME = PROFILES["acme-retail"]
NORTHWIND = PROFILES["northwind-depositor"]
BATCH_PARTNERS = batch_partners.load_partners(PARTNERS_DIR)
ZONES = {pid: ZoneInfo(p.formats.time_zone) for pid, p in PROFILES.items()}

#: The batch's cut-off and reads: 20 minutes after the events (ev.T0, 14:05:09 UTC).
AT = ev.T0 + timedelta(minutes=20)
SINCE = AT - timedelta(hours=24)
READ = Read(AT + timedelta(seconds=1), AT + timedelta(seconds=2))
#: The stream's 846 advice, 14:15 UTC.
ADVICE_AT = datetime(2026, 3, 2, 14, 15, tzinfo=UTC)
RECEIPT_ID = "00020-OP-4711/1.000/1/99123"
NONE: frozenset[str] = frozenset()


def records(data: bytes, partner: str, file: str) -> list[Record]:
    found: list[Record] = []
    for interchange in read_interchanges(data):
        more, problems = records_of(interchange, partner=partner, file=file, zone=ZONES[partner])
        assert not problems
        found += more
    return found


# --- the stream ---------------------------------------------------------------------------------


def shipped(site: str = ev.SITE) -> ShippedOrder:
    order = ev.shipped_order(site=site)
    return replace(order, dispatched=ev.dispatched(site=site, carrier=None))


def positions(as_of: datetime = ADVICE_AT) -> list[Any]:
    found = [
        ev.position("BOLT-1001-RED", 120, 36, site="20001"),
        ev.position("NUT-2002-BLU", 40, 0, site="20002", gtin=ev.GTIN_2),
        ev.position("FISH-3003-ICE", 48, 0, site="30001"),
    ]
    return [replace(p, as_of=as_of) for p in found]


def stream_files(*, as_of: datetime = ADVICE_AT) -> dict[str, bytes]:
    """The stream's outbox: ``<partner>/<file>`` → bytes."""
    control = ev.CONTROL
    created = ev.CREATED
    return {
        "acme-retail/856-1.x12": write_856(ACME, shipped(), control=control, at=created),
        "acme-retail/846-1.x12": write_846(
            ACME, positions(as_of), reference="ACME-846-1", control=control, at=as_of
        ),
        "northwind-depositor/945-1.x12": write_945(
            NORTHWIND, shipped(ev.COLD_SITE), control=control, at=created
        ),
        "northwind-depositor/944-1.x12": write_944(
            NORTHWIND, ev.received(), control=control, at=created, gtin=ev.GTIN
        ),
        "northwind-depositor/846-1.x12": write_846(
            NORTHWIND, positions(as_of), reference="NW-846-1", control=control, at=as_of
        ),
    }


# --- the batch ----------------------------------------------------------------------------------


def shipment_row(site: str = ev.SITE) -> ShipmentRow:
    return ShipmentRow(
        shipment_id=ev.SHIPMENT,
        order_id=ev.ORDER,
        order_key="0000123456",
        site_id=site,
        shipped_at=ev.T0,
        ship_to="4712",
        customer_po="PO-778812",
        load_id="LD00042",
        tracking_no="1Z999AA10123456784",
        lines=(
            OrderLineRow("1.000", "BOLT-1001-RED", Decimal(2), "CA", Decimal(12)),
            OrderLineRow("2.000", "NUT-2002-BLU", Decimal(10), "EA", Decimal(1)),
        ),
        picks=(
            PickRow("1.000", "BOLT-1001-RED", "L2405A", ev.SSCC, Decimal(12)),
            PickRow("1.000", "BOLT-1001-RED", "L2405B", ev.SSCC_2, Decimal(12)),
            PickRow("2.000", "NUT-2002-BLU", None, ev.SSCC_2, Decimal(6)),
        ),
    )


def extract(**changes: Any) -> Extract:
    found = Extract(
        at=AT,
        since=SINCE,
        items={
            "BOLT-1001-RED": ItemMaster("BOLT-1001-RED", ev.GTIN, "EA"),
            "NUT-2002-BLU": ItemMaster("NUT-2002-BLU", ev.GTIN_2, "EA"),
            "FISH-3003-ICE": ItemMaster("FISH-3003-ICE", ev.GTIN, "EA"),
        },
        book={
            ("20001", "BOLT-1001-RED"): BookRow(Decimal(120), Decimal(36)),
            ("20002", "NUT-2002-BLU"): BookRow(Decimal(40), Decimal(0)),
            ("30001", "FISH-3003-ICE"): BookRow(Decimal(48), Decimal(0)),
        },
        bins={
            ("20001", "BOLT-1001-RED"): BinRow(Decimal(120), Decimal(0)),
            ("20002", "NUT-2002-BLU"): BinRow(Decimal(40), Decimal(0)),
            ("30001", "FISH-3003-ICE"): BinRow(Decimal(48), Decimal(0)),
        },
        shipments=(shipment_row(), shipment_row(ev.COLD_SITE)),
        receipts=(
            ReceiptRow(
                receipt_id=RECEIPT_ID,
                receiver="99123",
                po_id="00020-OP-4711",
                site_id=ev.COLD_SITE,
                item_id="FISH-3003-ICE",
                lot="B20260301",
                quantity=Decimal(48),
                received_at=ev.T0,
            ),
        ),
        reads={"erp_book": READ, "wms_bins": READ, "wms_orders": READ, "erp_receipts": READ},
    )
    return replace(found, **changes)


def batch_side(
    defects: frozenset[str] = NONE, **changes: Any
) -> tuple[dict[str, bytes], Manifest, dict[str, Any]]:
    """The batch's files, its manifest parsed as the report parses it, and the raw manifest."""
    found = extract(**changes)
    batch = build(found, BATCH_PARTNERS, defects)
    raw = manifest_of(batch, found, defects, started=AT, finished=READ.finished)
    raw = json.loads(json.dumps(raw))  # as written and read back
    files = {f"{f.partner}/{f.name}": f.data for f in batch.files}
    return files, Manifest.model_validate(raw), raw


def to_records(files: Mapping[str, bytes]) -> list[Record]:
    return [r for path, data in files.items() for r in records(data, path.split("/")[0], path)]


def without(files: Mapping[str, bytes], *paths: str) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k not in paths}


def only(found: Iterable[Any], **match: Any) -> list[Any]:
    return [x for x in found if all(getattr(x, k) == v for k, v in match.items())]
