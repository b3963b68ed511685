"""The batch's documents, built from the rows its queries read: pure, no I/O, no clock.

``build(extract, partners, defects)`` gives one interchange per partner and document type and
the defects that fired. What goes where follows the partners' implementation guide, the same
one the stream writes to (so a partner's translator reads both):

    846  BIA (00, DD, reference, cut-off date, time), DTM 007 cut-off, N1 WH; per item LIN
         (VN item, UK/EN/UP GTIN), QTY 17 on hand, QTY 33 available, QTY 02 committed; CTT
    856  BSN (00, shipment, ship date, time, 0004), DTM 011; HL S: REF CN tracking, REF LO
         load, N1 SF site, N1 ST ship-to; HL O: PRF customer PO, REF VN order; HL I per
         line x carton x lot: LIN (VN, GTIN, LT lot), SN1 quantity, MAN GM carton; CTT
    945  W06 (F, order, ship date, shipment, WMS order key, customer PO), N1 WH, N1 ST, N9 CN,
         N9 LO; LX + W12 per order line (CC/PR, ordered, shipped, difference, unit, VN item,
         GTIN in W1221/W1222) + N9 LT per lot; W03 units shipped
    944  W17 (F, receipt date, receiver number, PO), N1 WH, N9 RV receipt id, W07 (quantity,
         unit, VN item, GTIN), N9 LT lot, W14 units received

Quantities are in the item's base unit (the partner's code for it) unless a defect says
otherwise; dates and times in the partner's zone. Control numbers come from the cut-off
(``YYDDD`` x 10000 + the file's number), so a rerun for the same cut-off numbers its files
the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from legacy_sim.batch.defects import Firing, Scope
from legacy_sim.batch.partners import DOCUMENTS, Partner
from legacy_sim.batch.x12 import Seg, clock, date8, interchange, qty

ZERO = Decimal(0)

# --- what the queries read -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemMaster:
    item_id: str
    gtin: str | None
    base_uom: str


@dataclass(frozen=True, slots=True)
class BookRow:
    """ERP F41021 summed per site x item, base unit: on hand and committed (soft + hard)."""

    on_hand: Decimal
    committed: Decimal


@dataclass(frozen=True, slots=True)
class BinRow:
    """WMS LOTxLOCxID summed per facility x SKU: quantity and picked (in the stage lanes)."""

    qty: Decimal
    picked: Decimal


@dataclass(frozen=True, slots=True)
class OrderLineRow:
    line_no: str  # "1.000"
    item_id: str
    ordered: Decimal  # in the order's unit
    uom: str
    factor: Decimal  # order unit → base unit

    @property
    def ordered_base(self) -> Decimal:
        return self.ordered * self.factor


@dataclass(frozen=True, slots=True)
class PickRow:
    line_no: str
    item_id: str
    lot: str | None
    case_id: str | None
    qty: Decimal


@dataclass(frozen=True, slots=True)
class ShipmentRow:
    """One shipped WMS order with its ERP lines and its shipped picks."""

    shipment_id: str
    order_id: str
    order_key: str
    site_id: str
    shipped_at: datetime
    ship_to: str | None
    customer_po: str | None
    load_id: str | None
    tracking_no: str | None
    lines: tuple[OrderLineRow, ...]
    picks: tuple[PickRow, ...]


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """One F43121 receipt line (``reversed``: its match type is 4 now)."""

    receipt_id: str  # <po>/<line>/<receipt line>/<document>
    receiver: str
    po_id: str
    site_id: str
    item_id: str
    lot: str | None
    quantity: Decimal  # base unit
    received_at: datetime
    reversed: bool = False


@dataclass(frozen=True, slots=True)
class Read:
    """When one query (one database transaction) started and finished."""

    started: datetime
    finished: datetime


@dataclass(frozen=True, slots=True)
class Extract:
    at: datetime
    since: datetime
    items: Mapping[str, ItemMaster]
    book: Mapping[tuple[str, str], BookRow]
    bins: Mapping[tuple[str, str], BinRow]
    shipments: tuple[ShipmentRow, ...] = ()
    #: Shipped orders the control re-query found and the first query did not see.
    late_shipments: tuple[ShipmentRow, ...] = ()
    receipts: tuple[ReceiptRow, ...] = ()
    reads: Mapping[str, Read] = field(default_factory=dict)


# --- what the job writes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchFile:
    partner: str
    document: str
    name: str
    data: bytes
    sets: int
    control: int


@dataclass(frozen=True, slots=True)
class Batch:
    files: tuple[BatchFile, ...]
    firings: tuple[Firing, ...]


def control_base(at: datetime) -> int:
    """``YYDDD`` of the cut-off (UTC) x 10000: the first file is base + 1."""
    return int(at.astimezone(UTC).strftime("%y%j")) * 10000


def build(extract: Extract, partners: Iterable[Partner], defects: frozenset[str]) -> Batch:
    files: list[BatchFile] = []
    firings: list[Firing] = []
    control = control_base(extract.at)
    stamp = extract.at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    for partner in sorted(partners, key=lambda p: p.partner_id):
        for code in DOCUMENTS:
            if code not in partner.documents:
                continue
            job = _Job(extract, partner, defects, firings)
            builders = {
                "846": job.inventory,
                "856": job.ship_notices,
                "944": job.receipt_advices,
                "945": job.shipping_advices,
            }
            bodies = builders[code]()
            if not bodies:
                continue
            control += 1
            data = interchange(partner, code, bodies, control=control, at=extract.at)
            files.append(
                BatchFile(
                    partner=partner.partner_id,
                    document=code,
                    name=f"{code}-{stamp}.x12",
                    data=data,
                    sets=len(bodies),
                    control=control,
                )
            )
    return Batch(tuple(files), tuple(firings))


class _Job:
    """The documents of one partner and one document type."""

    def __init__(
        self, extract: Extract, partner: Partner, defects: frozenset[str], firings: list[Firing]
    ) -> None:
        self.x = extract
        self.p = partner
        self.defects = defects
        self.firings = firings

    def _fire(
        self,
        defect: str,
        document: str,
        key: str,
        detail: str,
        *,
        line: tuple[str, ...] | None = None,
        scope: Scope = "presence",
        fields: tuple[str, ...] = (),
        effects: dict[str, Decimal] | None = None,
    ) -> None:
        self.firings.append(
            Firing(
                defect=defect,
                document=document,
                partner=self.p.partner_id,
                key=key,
                detail=detail,
                line=line,
                scope=scope,
                fields=fields,
                effects=effects or {},
            )
        )

    def _gtin(self, item_id: str) -> str | None:
        master = self.x.items.get(item_id)
        return master.gtin if master else None

    def _unit(self, item_id: str) -> str:
        master = self.x.items.get(item_id)
        return self.p.unit(master.base_uom if master else "EA")

    def _sendable(
        self, document: str, key: str, lines: Sequence[tuple[tuple[str, ...] | None, str]]
    ) -> bool:
        """False when the partner must not get this document (and the job knows it).

        ``lines``: (line key, item) of each line the document would carry (None: the header).
        """
        items = [item for _, item in lines]
        if not all(self.p.covers_item(i) for i in items):
            return False
        missing = sorted({i for i in items if self._gtin(i) is None})
        if not (missing and self.p.require_gtin):
            return True
        if "gtin_not_enforced" not in self.defects:
            return False
        why = f"without GTIN, sent to {self.p.partner_id}, which requires one"
        self._fire("gtin_not_enforced", document, key, f"{', '.join(missing)} {why}")
        for line, item in lines:
            if item in missing:
                self._fire(
                    "gtin_not_enforced",
                    document,
                    key,
                    f"{item} {why}",
                    line=line,
                    scope="fields",
                    fields=("gtin",),
                )
        return True

    # --- 846 ---------------------------------------------------------------------------------

    def inventory(self) -> list[list[Seg]]:
        x, p = self.x, self.p
        keys = sorted(set(x.book) | set(x.bins))
        sets: list[list[Seg]] = []
        reference = f"NIGHTLY-846-{x.at.astimezone(UTC):%Y%m%d%H%M}"
        for site in sorted(p.sites):
            items = [item for s, item in keys if s == site and p.covers_item(item)]
            if not items or not self._sendable("846", site, [((i,), i) for i in items]):
                continue
            body: list[Seg] = [
                ("BIA", "00", "DD", reference, date8(p, x.at), clock(p, x.at)),
                ("DTM", "007", date8(p, x.at), clock(p, x.at), p.time_code or ""),
                ("N1", "WH", p.sites[site], "91", site),
            ]
            for item in items:
                on_hand, committed = self._position(site, item)
                unit = self._unit(item)
                body.append(("LIN", "", *_ids(item, self._gtin(item), None)))
                body.append(("QTY", "17", qty(on_hand), unit))
                body.append(("QTY", "33", qty(on_hand - committed), unit))
                body.append(("QTY", "02", qty(committed), unit))
            body.append(("CTT", str(len(items))))
            sets.append(body)
        return sets

    def _position(self, site: str, item: str) -> tuple[Decimal, Decimal]:
        book = self.x.book.get((site, item), BookRow(ZERO, ZERO))
        bins = self.x.bins.get((site, item), BinRow(ZERO, ZERO))
        on_hand = book.on_hand
        if "bins_read_after_book" in self.defects:
            on_hand = bins.qty
            if bins.qty != book.on_hand:
                moved = bins.qty - book.on_hand
                self._fire(
                    "bins_read_after_book",
                    "846",
                    site,
                    f"bins on hand {qty(bins.qty)}, book {qty(book.on_hand)}: a change landed "
                    "between the book's read and the bins' read",
                    line=(item,),
                    scope="fields",
                    fields=("QTY17", "QTY33"),
                    effects={"QTY17": moved, "QTY33": moved},
                )
        if "stage_lanes_excluded" in self.defects and bins.picked:
            on_hand -= bins.picked
            self._fire(
                "stage_lanes_excluded",
                "846",
                site,
                f"{qty(bins.picked)} picked in the stage lanes left out of on hand",
                line=(item,),
                scope="fields",
                fields=("QTY17", "QTY33"),
                effects={"QTY17": -bins.picked, "QTY33": -bins.picked},
            )
        return on_hand, book.committed

    # --- 856 and 945 -------------------------------------------------------------------------

    def _shipments(self, document: str) -> list[ShipmentRow]:
        found = [s for s in self.x.shipments if self.p.covers(document, s.site_id)]
        for late in self.x.late_shipments:
            if not self.p.covers(document, late.site_id):
                continue
            if "missed_late_commit" not in self.defects:
                found.append(late)  # read again and sent, as a fixed job would
            else:
                self._fire(
                    "missed_late_commit",
                    document,
                    late.shipment_id,
                    f"order {late.order_id} ({late.order_key}) shipped at "
                    f"{late.shipped_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}, before the "
                    "cut-off, but committed after the extract's query started: never sent",
                )
        return sorted(found, key=lambda s: (s.shipped_at, s.shipment_id))

    def ship_notices(self) -> list[list[Seg]]:
        p = self.p
        sets: list[list[Seg]] = []
        for s in self._shipments("856"):
            groups: dict[tuple[str, str, str], Decimal] = {}
            items: dict[str, str] = {}
            for pick in s.picks:
                key = (pick.line_no, pick.case_id or "", pick.lot or "")
                groups[key] = groups.get(key, ZERO) + pick.qty
                items[pick.line_no] = pick.item_id
            shipped = sorted((k, v) for k, v in groups.items() if v)
            keyed = [((items[line], lot, case), items[line]) for (line, case, lot), _ in shipped]
            if not shipped or not self._sendable("856", s.shipment_id, keyed):
                continue
            body: list[Seg] = [
                (
                    "BSN",
                    "00",
                    s.shipment_id,
                    date8(p, s.shipped_at),
                    clock(p, s.shipped_at),
                    "0004",
                ),
                ("DTM", "011", date8(p, s.shipped_at), clock(p, s.shipped_at), p.time_code or ""),
                ("HL", "1", "", "S"),
            ]
            if s.tracking_no:
                body.append(("REF", "CN", s.tracking_no))
            if s.load_id:
                body.append(("REF", "LO", s.load_id))
            body.append(("N1", "SF", p.sites[s.site_id], "91", s.site_id))
            if s.ship_to:
                body.append(("N1", "ST", "", "91", s.ship_to))
            body.append(("HL", "2", "1", "O"))
            if s.customer_po:
                body.append(("PRF", s.customer_po))
            body.append(("REF", "VN", s.order_id))
            total = ZERO
            for n, ((line_no, case, lot), quantity) in enumerate(
                sorted(shipped, key=lambda kv: (_line_order(kv[0][0]), kv[0][1], kv[0][2])),
                start=3,
            ):
                item = items[line_no]
                body.append(("HL", str(n), "2", "I"))
                body.append(("LIN", "", *_ids(item, self._gtin(item), lot or None)))
                body.append(("SN1", "", qty(quantity), self._unit(item)))
                if case:
                    body.append(("MAN", "GM", case))
                total += quantity
            body.append(("CTT", str(2 + len(shipped)), qty(total)))
            sets.append(body)
        return sets

    def shipping_advices(self) -> list[list[Seg]]:
        p = self.p
        sets: list[list[Seg]] = []
        for s in self._shipments("945"):
            lines = sorted(s.lines, key=lambda ln: _line_order(ln.line_no))
            shipped: dict[str, Decimal] = {}
            lots: dict[str, set[str]] = {}
            for pick in s.picks:
                shipped[pick.line_no] = shipped.get(pick.line_no, ZERO) + pick.qty
                if pick.lot:
                    lots.setdefault(pick.line_no, set()).add(pick.lot)
            if not any(shipped.values()):
                continue
            if not self._sendable("945", s.shipment_id, _line_keys(lines)):
                continue
            body: list[Seg] = [
                (
                    "W06",
                    "F",
                    s.order_id,
                    date8(p, s.shipped_at),
                    s.shipment_id,
                    s.order_key,
                    s.customer_po or "",
                ),
                ("N1", "WH", p.sites[s.site_id], "91", s.site_id),
            ]
            if s.ship_to:
                body.append(("N1", "ST", "", "91", s.ship_to))
            if s.tracking_no:
                body.append(("N9", "CN", s.tracking_no))
            if s.load_id:
                body.append(("N9", "LO", s.load_id))
            total = ZERO
            seen: dict[str, int] = {}
            for n, line in enumerate(lines, start=1):
                seen[line.item_id] = seen.get(line.item_id, 0) + 1
                done = shipped.get(line.line_no, ZERO)
                ordered = line.ordered_base
                if "ordered_in_order_unit" in self.defects and line.factor != 1:
                    ordered = line.ordered
                    moved = line.ordered - line.ordered_base
                    self._fire(
                        "ordered_in_order_unit",
                        "945",
                        s.shipment_id,
                        f"line {line.line_no}: ordered {qty(line.ordered)} {line.uom} written "
                        f"as is ({qty(line.ordered_base)} in the base unit)",
                        line=_line_key(line.item_id, seen[line.item_id]),
                        scope="fields",
                        fields=("ordered", "difference", "status"),
                        effects={"ordered": moved, "difference": moved},
                    )
                gtin = self._gtin(line.item_id)
                w12: list[str] = [
                    "CC" if done >= ordered else "PR",
                    qty(ordered),
                    qty(done),
                    qty(ordered - done),
                    self._unit(line.item_id),
                    "",
                    "VN",
                    line.item_id,
                ]
                if gtin:
                    w12 += [""] * 12 + [_gtin_qualifier(gtin), gtin]
                body.append(("LX", str(n)))
                body.append(("W12", *w12))
                body.extend(("N9", "LT", lot) for lot in sorted(lots.get(line.line_no, ())))
                total += done
            body.append(("W03", qty(total)))
            sets.append(body)
        return sets

    # --- 944 ---------------------------------------------------------------------------------

    def receipt_advices(self) -> list[list[Seg]]:
        p = self.p
        sets: list[list[Seg]] = []
        for r in sorted(self.x.receipts, key=lambda r: (r.received_at, r.receipt_id)):
            if not p.covers("944", r.site_id):
                continue
            if r.reversed and "reversed_receipt_dropped" in self.defects:
                self._fire(
                    "reversed_receipt_dropped",
                    "944",
                    r.receipt_id,
                    f"receipt {r.receiver} of {r.po_id} was reversed (match type 4) before the "
                    "job ran: the extract selects match type 1 only",
                )
                continue
            if not self._sendable("944", r.receipt_id, [(None, r.item_id)]):
                continue
            gtin = self._gtin(r.item_id)
            w07: list[str] = [qty(r.quantity), self._unit(r.item_id), "", "VN", r.item_id]
            if gtin:
                w07 += [_gtin_qualifier(gtin), gtin]
            body: list[Seg] = [
                ("W17", "F", date8(p, r.received_at), r.receiver, r.po_id),
                ("N1", "WH", p.sites[r.site_id], "91", r.site_id),
                ("N9", "RV", r.receipt_id),
                ("W07", *w07),
            ]
            if r.lot:
                body.append(("N9", "LT", r.lot))
            body.append(("W14", qty(r.quantity)))
            sets.append(body)
        return sets


def _line_keys(lines: Sequence[OrderLineRow]) -> list[tuple[tuple[str, ...] | None, str]]:
    seen: dict[str, int] = {}
    keys: list[tuple[tuple[str, ...] | None, str]] = []
    for line in lines:
        seen[line.item_id] = seen.get(line.item_id, 0) + 1
        keys.append((_line_key(line.item_id, seen[line.item_id]), line.item_id))
    return keys


def _line_key(item_id: str, occurrence: int) -> tuple[str, ...]:
    """A 945 line's key in the parity report: the item, and its occurrence if repeated."""
    return (item_id,) if occurrence == 1 else (item_id, f"#{occurrence}")


def _line_order(line_no: str) -> Decimal:
    try:
        return Decimal(line_no)
    except ArithmeticError:
        return ZERO


def _gtin_qualifier(gtin: str) -> str:
    return {12: "UP", 13: "EN"}.get(len(gtin), "UK")


def _ids(item: str, gtin: str | None, lot: str | None) -> list[str]:
    ids = ["VN", item]
    if gtin:
        ids += [_gtin_qualifier(gtin), gtin]
    if lot:
        ids += ["LT", lot]
    return ids
