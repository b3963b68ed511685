"""The legacy WMS: Infor/Exceed-lineage tables in MariaDB database ``wmwhse1``.

Quirks are deliberate (research §2, §3.2): upper-case table names and CamelCase columns,
VARCHAR keys zero-padded (``OrderKey '0000123456'``, ``OrderLineNumber '00001'``), ``' '``
defaults instead of NULL, 1901-01-01 sentinel dates, ``DATETIME`` in the facility's local time
with no offset, string status codes, integer quantities in base units, ``TrafficCop`` /
``EditDate`` housekeeping updates that change nothing of business value, an append-only ``ITRN``
journal, and a bolt-on probe table (``ZZ_TEMP_LOG``) that stores epoch seconds (UTC).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CHAR, CheckConstraint, DateTime, Integer, MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

from legacy_sim.schemas._columns import wchar, wdec, wint

WMS_DATABASE = "wmwhse1"
STORER = "ACME"


class WmsBase(DeclarativeBase):
    # No schema: the DSN selects the database, as the Exceed application does.
    metadata = MetaData()


def _when(*, sentinel: bool = False) -> MappedColumn[Any]:
    if sentinel:
        return mapped_column(DateTime, nullable=False, server_default=text("'1901-01-01 00:00:00'"))
    return mapped_column(DateTime, nullable=False)


def _cop() -> MappedColumn[Any]:
    return mapped_column(CHAR(1), nullable=True)


class Loc(WmsBase):
    """Locations. ``Loc`` packs the hierarchy: ``'11A0203'`` = zone 11, aisle A, bay 02,
    level 03. Zones are per facility (1x, 2x, 3x), so the code is unique in the database."""

    __tablename__ = "LOC"

    Loc: Mapped[str] = wchar(10, pk=True)
    Facility: Mapped[str] = wchar(5)  # = the ERP branch (trimmed MCU)
    PutawayZone: Mapped[str] = wchar(10)  # 'AMB-A', 'COLD-1', 'STAGE', 'DOOR'
    LocationType: Mapped[str] = wchar(10)  # PICK, CASE, RACK, STAGE, DOOR
    LogicalLocation: Mapped[str] = wchar(18)  # pick sequence
    LocLevel: Mapped[int] = wint()
    Status: Mapped[str] = wchar(10, default="OK")  # OK / HOLD
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)


class LotAttribute(WmsBase):
    """Lot attributes. ``Lottable02`` supplier batch, ``Lottable04`` expiry, ``Lottable05``
    received date (the meaning is per storer configuration). Missing expiry: NULL, or
    1900-01-01 on old rows."""

    __tablename__ = "LOTATTRIBUTE"

    StorerKey: Mapped[str] = wchar(15, pk=True)
    Sku: Mapped[str] = wchar(20, pk=True)
    Lot: Mapped[str] = wchar(10, pk=True)
    Lottable01: Mapped[str] = wchar(18)
    Lottable02: Mapped[str] = wchar(18)
    Lottable03: Mapped[str] = wchar(18)
    Lottable04: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    Lottable05: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)


class LotxLocxId(WmsBase):
    """Inventory by lot x location x pallet (``Id`` = SSCC, ``' '`` on loose pick faces).
    Allocated and picked are subsets of ``Qty``; the CHECK is Exceed's own."""

    __tablename__ = "LOTxLOCxID"
    __table_args__ = (
        CheckConstraint("Qty + QtyExpected >= QtyAllocated + QtyPicked", name="CK_LOTxLOCxID_Qty"),
    )

    Lot: Mapped[str] = wchar(10, pk=True)
    Loc: Mapped[str] = mapped_column(String(10), primary_key=True, server_default="UNKNOWN")
    Id: Mapped[str] = mapped_column(String(18), primary_key=True, server_default=" ")
    StorerKey: Mapped[str] = wchar(15)
    Sku: Mapped[str] = wchar(20)
    Qty: Mapped[int] = wint()
    QtyAllocated: Mapped[int] = wint()
    QtyPicked: Mapped[int] = wint()
    QtyExpected: Mapped[int] = wint()
    QtyPickInProcess: Mapped[int] = wint()
    PendingMoveIN: Mapped[int] = wint()
    QtyReplen: Mapped[int] = wint()
    Status: Mapped[str] = wchar(10, default="OK")
    ArchiveDate: Mapped[datetime] = _when(sentinel=True)
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)
    TrafficCop: Mapped[str | None] = _cop()
    ArchiveCop: Mapped[str | None] = _cop()


class Orders(WmsBase):
    """Outbound orders released by the host. ``ExternOrderKey`` = ERP ``00020-SO-12345``.
    Status ``0`` open, ``1`` part-allocated, ``2`` allocated, ``3`` picking, ``5`` picked,
    ``9`` shipped, ``CANC``. Ship time shows only in ``EditDate`` when Status goes to 9."""

    __tablename__ = "ORDERS"
    __table_args__ = (
        CheckConstraint(
            "Status IN ('0','1','2','3','4','5','6','7','8','9','W','CANC')",
            name="CK_ORDERS_Status",
        ),
    )

    OrderKey: Mapped[str] = wchar(10, pk=True)
    StorerKey: Mapped[str] = wchar(15)
    ExternOrderKey: Mapped[str] = wchar(30)
    Facility: Mapped[str] = wchar(5)
    Type: Mapped[str] = wchar(10, default="0")
    ConsigneeKey: Mapped[str] = wchar(15)  # ERP ship-to (an8)
    # The consignee's name and address, copied onto every order (personal data: the connector
    # hashes them, see connectors/specs/wms.yaml ``pii``).
    C_Company: Mapped[str] = wchar(45)
    C_Address1: Mapped[str] = wchar(45)
    C_City: Mapped[str] = wchar(45)
    ExternPOKey: Mapped[str] = wchar(20)  # customer PO
    OrderDate: Mapped[datetime] = _when()
    DeliveryDate: Mapped[datetime] = _when(sentinel=True)
    Status: Mapped[str] = wchar(10, default="0")
    SOStatus: Mapped[str] = wchar(10, default="0")
    LoadKey: Mapped[str] = wchar(10)
    MBOLKey: Mapped[str] = wchar(10)  # the shipment
    TrackingNo: Mapped[str] = wchar(30)
    PODArrive: Mapped[datetime] = _when(sentinel=True)
    UserDefine01: Mapped[str] = wchar(30)
    UserDefine02: Mapped[str] = wchar(30)
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)
    TrafficCop: Mapped[str | None] = _cop()
    ArchiveCop: Mapped[str | None] = _cop()


class PickDetail(WmsBase):
    """Allocation/pick tasks, one per order line x lot x loc x id. Status ``0`` allocated,
    ``3`` in progress, ``5`` picked, ``9`` shipped. ``CaseID`` = carton SSCC once packed."""

    __tablename__ = "PICKDETAIL"
    __table_args__ = (CheckConstraint("Status REGEXP '^[0-9] *$'", name="CK_PICKDETAIL_Status"),)

    PickDetailKey: Mapped[str] = wchar(10, pk=True)
    CaseID: Mapped[str] = wchar(20)
    OrderKey: Mapped[str] = wchar(10)
    OrderLineNumber: Mapped[str] = wchar(5)
    Lot: Mapped[str] = wchar(10)
    StorerKey: Mapped[str] = wchar(15)
    Sku: Mapped[str] = wchar(20)
    Loc: Mapped[str] = wchar(10)
    ID: Mapped[str] = wchar(18)
    UOM: Mapped[str] = wchar(10)
    UOMQty: Mapped[int] = wint()
    Qty: Mapped[int] = wint()
    Status: Mapped[str] = wchar(10, default="0")
    DropID: Mapped[str] = wchar(18)
    WaveKey: Mapped[str] = wchar(10)
    PickSlipNo: Mapped[str] = wchar(10)
    ToLoc: Mapped[str] = wchar(10)
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)
    TrafficCop: Mapped[str | None] = _cop()
    ArchiveCop: Mapped[str | None] = _cop()


class Itrn(WmsBase):
    """The append-only inventory journal. ``TranType`` DP deposit, WD withdrawal, AJ
    adjustment (signed ``Qty``), MV move; the reason is in ``SourceType``."""

    __tablename__ = "ITRN"

    ItrnKey: Mapped[str] = wchar(10, pk=True)
    TranType: Mapped[str] = wchar(10)
    StorerKey: Mapped[str] = wchar(15)
    Sku: Mapped[str] = wchar(20)
    Lot: Mapped[str] = wchar(10)
    FromLoc: Mapped[str] = wchar(10)
    FromID: Mapped[str] = wchar(18)
    ToLoc: Mapped[str] = wchar(10)
    ToID: Mapped[str] = wchar(18)
    SourceKey: Mapped[str] = wchar(20)
    SourceType: Mapped[str] = wchar(30)
    Status: Mapped[str] = wchar(10, default="OK")
    Qty: Mapped[int] = wint()
    UOM: Mapped[str] = wchar(10)
    Lottable02: Mapped[str] = wchar(18)
    Lottable04: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)


class ReceiptDetail(WmsBase):
    """ASN/receipt lines (inbound 856/943 land here). Status ``0`` expected, ``9`` received.
    ``ExternPOKey`` = ERP ``00020-OP-4711``, ``ExternLineNo`` ``'00001'`` = ``pdlnid`` 1000."""

    __tablename__ = "RECEIPTDETAIL"

    ReceiptKey: Mapped[str] = wchar(10, pk=True)
    ReceiptLineNumber: Mapped[str] = wchar(5, pk=True)
    ExternReceiptKey: Mapped[str] = wchar(20)  # the supplier's ASN number
    ExternPOKey: Mapped[str] = wchar(20)
    ExternLineNo: Mapped[str] = wchar(5)
    StorerKey: Mapped[str] = wchar(15)
    Sku: Mapped[str] = wchar(20)
    Status: Mapped[str] = wchar(10, default="0")
    QtyExpected: Mapped[int] = wint()
    QtyReceived: Mapped[int] = wint()
    UOM: Mapped[str] = wchar(10)
    ToLoc: Mapped[str] = wchar(10)
    ToLot: Mapped[str] = wchar(10)
    ToId: Mapped[str] = wchar(18)
    Lottable02: Mapped[str] = wchar(18)
    Lottable04: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    DateReceived: Mapped[datetime] = _when(sentinel=True)
    AddDate: Mapped[datetime] = _when()
    AddWho: Mapped[str] = wchar(18)
    EditDate: Mapped[datetime] = _when()
    EditWho: Mapped[str] = wchar(18)
    TrafficCop: Mapped[str | None] = _cop()
    ArchiveCop: Mapped[str | None] = _cop()


class ZzTempLog(WmsBase):
    """Bolt-on probe gateway table written by a separate logger service: ``ReadingEpoch`` is
    Unix seconds (UTC), unlike every other WMS time."""

    __tablename__ = "ZZ_TEMP_LOG"

    SerialKey: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    SensorId: Mapped[str] = wchar(20)
    Loc: Mapped[str] = wchar(10)
    TrailerId: Mapped[str] = wchar(20)
    ReadingEpoch: Mapped[int] = mapped_column(Integer, nullable=False)
    TempC: Mapped[Decimal] = wdec(5, 2)
