"""The simulator's picture of the legacy world: master data, stock and work in flight.

The scenarios decide what to do next from this picture, never by querying the databases, so a
seed alone fixes the sequence of business transactions. It is saved in the store database after
``init`` and after every ``run`` (``ledger.save_state``) and loaded at the start of the next run.
Quantities are in the item's primary UoM (EA), as integers; money is ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

OrderStage = Literal["entered", "released", "allocated", "picked", "shipped", "invoiced"]
PoStage = Literal["issued", "advised", "received"]
ORDER_STAGES: tuple[OrderStage, ...] = (
    "entered",
    "released",
    "allocated",
    "picked",
    "shipped",
    "invoiced",
)
PO_STAGES: tuple[PoStage, ...] = ("issued", "advised", "received")


class Site(BaseModel):
    mcu: str  # trimmed business unit, also the WMS Facility
    name: str
    tz: str
    cold: bool
    stage_loc: str
    doors: list[str]
    reserve_locs: list[str]
    sensors: dict[str, str] = Field(default_factory=dict)  # SensorId -> Loc


class Item(BaseModel):
    itm: int
    litm: str
    aitm: str  # GTIN-14 or '' (no GTIN)
    dsc: str
    cold: bool
    lot_controlled: bool
    shelf_life: int
    ca: int  # EA per CA (all branches)
    pl_ca: int  # CA per PL
    branch_ca: dict[str, int] = Field(default_factory=dict)  # mcu -> EA per CA override
    price: Decimal  # USD per EA
    cost: Decimal  # USD per EA

    def ea_per(self, uom: str, mcu: str) -> int:
        """Conversion to the primary UoM with F41002 precedence: item+branch, then item."""
        if uom == "EA":
            return 1
        ca = self.branch_ca.get(mcu, self.ca)
        if uom == "CA":
            return ca
        if uom == "PL":
            return ca * self.pl_ca
        raise ValueError(f"unknown UoM {uom}")


class Party(BaseModel):
    an8: int
    name: str
    currency: str
    #: Ship-to (consignee) name and address as the WMS stores them on ``ORDERS`` (``C_Company``,
    #: ``C_Address1``, ``C_City``): personal data the WMS connector hashes. Blank in a world
    #: saved before they existed, as on a legacy row nobody filled in.
    company: str = " "
    address1: str = " "
    city: str = " "


class Stock(BaseModel):
    """One ``LOTxLOCxID`` row."""

    lot: str
    loc: str
    id: str
    itm: int
    mcu: str
    qty: int
    alloc: int = 0
    picked: int = 0

    @property
    def key(self) -> str:
        return f"{self.lot}|{self.loc}|{self.id}"

    @property
    def free(self) -> int:
        return self.qty - self.alloc - self.picked


class Balance(BaseModel):
    """One ``F41021`` row (blank location and lot), in EA."""

    itm: int
    mcu: str
    pqoh: int = 0
    pcom: int = 0
    hcom: int = 0
    preq: int = 0


class Pick(BaseModel):
    key: str  # PickDetailKey
    stock: str  # Stock.key
    qty: int
    status: str = "0"


class OrderLine(BaseModel):
    lnid: int  # x1000
    itm: int
    uom: str
    qty: int  # transaction UoM
    qty_base: int
    uprc: Decimal  # per transaction UoM, order currency
    picks: list[Pick] = Field(default_factory=list)
    shipped: int = 0  # EA
    cancelled: bool = False


class Order(BaseModel):
    doco: int
    mcu: str
    an8: int
    crcd: str
    customer_po: str
    lines: list[OrderLine]
    stage: OrderStage = "entered"
    order_key: str = ""
    ppdj_days: int = 2

    @property
    def open_lines(self) -> list[OrderLine]:
        return [ln for ln in self.lines if not ln.cancelled]


class Receipt(BaseModel):
    nlin: int
    doc: int
    stock: str  # Stock.key of the pallet it created
    qty_base: int
    reversed: bool = False


class PoLine(BaseModel):
    lnid: int
    itm: int
    uom: str
    qty: int
    qty_base: int
    prrc: Decimal  # per transaction UoM, PO currency
    received: int = 0  # EA
    receipt: Receipt | None = None


class PurchaseOrder(BaseModel):
    doco: int
    mcu: str
    an8: int
    crcd: str
    lines: list[PoLine]
    stage: PoStage = "issued"
    receipt_key: str = ""
    asn: str = ""
    pddj_days: int = 5


class Counters(BaseModel):
    so: int = 10000
    po: int = 4700
    order_key: int = 0
    pick: int = 0
    itrn: int = 0
    receipt_key: int = 0
    lot: int = 45000
    sscc: int = 0
    mbol: int = 0
    temp: int = 0
    rec_doc: int = 80000


class World(BaseModel):
    seed: int
    profile: str
    company: str = "00020"
    sites: dict[str, Site]
    items: dict[int, Item]
    customers: list[Party]
    suppliers: list[Party]
    stock: dict[str, Stock]  # Stock.key -> row
    balances: dict[str, Balance]  # f"{itm}|{mcu}" -> row
    orders: dict[int, Order] = Field(default_factory=dict)  # open (not yet archived)
    pos: dict[int, PurchaseOrder] = Field(default_factory=dict)  # not yet closed
    counters: Counters = Field(default_factory=Counters)
    site_items: dict[str, list[int]]  # mcu -> stocked items, popularity order
    recent_receipts: list[tuple[int, int]] = Field(default_factory=list)  # (po doco, lnid)
    #: Probe → epoch second of its last reading: a probe logs at most once per second, across
    #: runs too (each ``scv sim run`` starts from the saved world).
    probe_epochs: dict[str, int] = Field(default_factory=dict)
    runs: int = 0

    def balance(self, itm: int, mcu: str) -> Balance:
        return self.balances[f"{itm}|{mcu}"]
