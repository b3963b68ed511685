"""Document builders: canonical events → a document model → X12 segments → one interchange.

Each document is built in two pure steps, so a newcomer (and the parity report) can look at
the document before it is X12:

    856 ship notice      ``ship_notice(profile, ShippedOrder)``    → ``ShipNotice``
    945 shipping advice  ``shipping_advice(profile, ShippedOrder)`` → ``ShippingAdvice``
    944 receipt advice   ``receipt_advice(profile, GoodsReceived)`` → ``ReceiptAdvice``
    846 inventory advice ``inventory_advice(profile, positions, reference=...)``
                                                                 → ``InventoryAdvice`` per site

then ``segments(document, profile)`` gives its transaction set and ``interchange(profile,
sets, control=..., at=...)`` the bytes of the file. ``write_856`` & co. do the three at once.

What goes where (X12 4010):

    856  BSN (00, shipment id, date, time, 0004 = shipment/order/item), DTM 011 shipped;
         HL S: TD5 carrier, REF CN tracking, REF LO load, N1 SF site, N1 ST ship-to;
         HL O: PRF customer PO, REF VN our order; HL I per line x carton x lot: LIN (VN item,
         UK/EN/UP GTIN, LT lot), SN1 shipped quantity, MAN GM carton SSCC; CTT (HL count,
         hash total of SN102)
    945  W06 (F, order, ship date, shipment, WMS order key, customer PO), N1 WH/ST, N9 CN/LO,
         W27 carrier, LX + W12 per order line (status CC complete / PR partial, ordered,
         shipped, difference, unit, VN item, UK GTIN) + N9 LT per lot, W03 units shipped
    944  W17 (F, receipt date, receiver number, PO), N1 WH, N9 RV full receipt id,
         W07 (quantity, unit, VN item, UK GTIN) + N9 LT lot, W14 units received. In 4010 the
         944 detail loop starts at W07; the LX loop around it came with 4020.
    846  BIA (00, DD, reference, date, time), DTM 007 positions as of, N1 WH; per item LIN
         (VN, GTIN) and QTY 17 on hand / 33 available / 02 committed; CTT (LIN count).
         One transaction set per site.

A ``ShippedOrder`` is what ``scv edi run`` knows when an order leaves: its
``shipment.dispatched``, its lines (``order.placed``, with the quantity as last changed) and
its picks (``order.picked``: shipped = picked; carton SSCC in ``case_id``, from the pick's
``order.packed`` when the WMS wrote the carton after it). Anything the
profile cannot express raises ``DocumentRejected`` with a reason; no document is half built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from edi.errors import DocumentRejected, X12ValueError
from edi.profile import PartnerProfile
from edi.x12 import ControlNumbers, Segment, TransactionSet, number, seg, write_interchange
from transforms.events import GoodsReceived, OrderPicked, OrderPlaced, ShipmentDispatched

ZERO = Decimal(0)
_SCAC = re.compile(r"^[A-Z0-9]{2,4}$")


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippedOrder:
    """One dispatched warehouse order with its lines and picks (the 856 and 945 input)."""

    dispatched: ShipmentDispatched
    lines: tuple[OrderPlaced, ...]
    picks: tuple[OrderPicked, ...]


@dataclass(frozen=True, slots=True)
class InventoryPosition:
    """One site x item position at ``as_of`` (the 846 input), in the item's base unit.

    ``committed`` is what open sales-order lines hold (the views' ``allocated``);
    ``available`` is given, not derived, so the policy stays with whoever computed it.
    """

    site_id: str
    item_id: str
    base_uom: str
    on_hand: Decimal
    committed: Decimal
    available: Decimal
    as_of: datetime
    gtin: str | None = None


# --- document models -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShipNoticeItem:
    line_id: str
    item_id: str
    gtin: str | None
    lot: str | None
    sscc: str | None
    quantity: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class ShipNotice:
    """856: one shipment, one order, its items by line x carton x lot."""

    shipment_id: str
    order_id: str
    customer_po: str | None
    ship_to: str | None
    site_id: str
    site_name: str
    shipped_at: datetime
    carrier: str | None
    tracking_no: str | None
    load_id: str | None
    items: tuple[ShipNoticeItem, ...]


@dataclass(frozen=True, slots=True)
class ShippingAdviceLine:
    line_id: str
    item_id: str
    gtin: str | None
    unit: str
    ordered: Decimal
    shipped: Decimal
    lots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShippingAdvice:
    """945: one warehouse order as shipped, line by line against what was ordered."""

    order_id: str
    shipment_id: str
    wms_order_key: str
    customer_po: str | None
    ship_to: str | None
    site_id: str
    site_name: str
    shipped_at: datetime
    carrier: str | None
    tracking_no: str | None
    load_id: str | None
    lines: tuple[ShippingAdviceLine, ...]


@dataclass(frozen=True, slots=True)
class ReceiptAdvice:
    """944: one receipt of one purchase-order line."""

    receipt_id: str
    receiver_number: str
    po_id: str
    site_id: str
    site_name: str
    received_on: datetime
    item_id: str
    gtin: str | None
    lot: str | None
    quantity: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class InventoryAdviceLine:
    item_id: str
    gtin: str | None
    unit: str
    on_hand: Decimal
    committed: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class InventoryAdvice:
    """846: the positions of one site at ``as_of``."""

    reference: str
    site_id: str
    site_name: str
    as_of: datetime
    lines: tuple[InventoryAdviceLine, ...]


Document = ShipNotice | ShippingAdvice | ReceiptAdvice | InventoryAdvice


# --- builders: events → documents ------------------------------------------------------------


def ship_notice(profile: PartnerProfile, order: ShippedOrder) -> ShipNotice:
    """The 856 of one dispatched order: an item per line x carton x lot that was picked."""
    profile.require_document("856")
    dispatched = order.dispatched
    site = profile.require_site(dispatched.site_id)
    lines = _lines_by_id(order)
    groups: dict[tuple[str, str, str], Decimal] = {}
    for pick in order.picks:
        line = _line_of(pick, lines)
        key = (line.line_id, pick.case_id or "", pick.lot or "")
        groups[key] = groups.get(key, ZERO) + pick.quantity
    items = []
    for (line_id, sscc, lot), quantity in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        if not quantity:
            continue
        line = lines[line_id]
        profile.require_item(line.item_id)
        items.append(
            ShipNoticeItem(
                line_id=line_id,
                item_id=line.item_id,
                gtin=_gtin(profile, line.item_id, line.gtin),
                lot=lot or None,
                sscc=sscc or None,
                quantity=quantity,
                unit=profile.unit(line.base_uom),
            )
        )
    if not items:
        raise DocumentRejected("nothing_shipped", f"order {dispatched.order_id} has no picks")
    return ShipNotice(
        shipment_id=dispatched.shipment_id,
        order_id=dispatched.order_id,
        customer_po=_first(line.customer_po for line in order.lines),
        ship_to=_first(line.ship_to for line in order.lines),
        site_id=site,
        site_name=profile.sites[site],
        shipped_at=dispatched.occurred_at,
        carrier=dispatched.carrier,
        tracking_no=dispatched.tracking_no,
        load_id=dispatched.load_id,
        items=tuple(items),
    )


def shipping_advice(profile: PartnerProfile, order: ShippedOrder) -> ShippingAdvice:
    """The 945 of one dispatched order: every line, ordered against shipped (= picked)."""
    profile.require_document("945")
    dispatched = order.dispatched
    site = profile.require_site(dispatched.site_id)
    lines = _lines_by_id(order)
    shipped: dict[str, Decimal] = {}
    lots: dict[str, set[str]] = {}
    for pick in order.picks:
        line = _line_of(pick, lines)
        shipped[line.line_id] = shipped.get(line.line_id, ZERO) + pick.quantity
        if pick.lot:
            lots.setdefault(line.line_id, set()).add(pick.lot)
    advice_lines = []
    for line in sorted(order.lines, key=lambda ln: _order((ln.line_id,))):
        profile.require_item(line.item_id)
        advice_lines.append(
            ShippingAdviceLine(
                line_id=line.line_id,
                item_id=line.item_id,
                gtin=_gtin(profile, line.item_id, line.gtin),
                unit=profile.unit(line.base_uom),
                ordered=line.quantity,
                shipped=shipped.get(line.line_id, ZERO),
                lots=tuple(sorted(lots.get(line.line_id, ()))),
            )
        )
    if not any(line.shipped for line in advice_lines):
        raise DocumentRejected("nothing_shipped", f"order {dispatched.order_id} has no picks")
    return ShippingAdvice(
        order_id=dispatched.order_id,
        shipment_id=dispatched.shipment_id,
        wms_order_key=dispatched.wms_order_key,
        customer_po=_first(line.customer_po for line in order.lines),
        ship_to=_first(line.ship_to for line in order.lines),
        site_id=site,
        site_name=profile.sites[site],
        shipped_at=dispatched.occurred_at,
        carrier=dispatched.carrier,
        tracking_no=dispatched.tracking_no,
        load_id=dispatched.load_id,
        lines=tuple(advice_lines),
    )


def receipt_advice(
    profile: PartnerProfile, received: GoodsReceived, *, gtin: str | None = None
) -> ReceiptAdvice:
    """The 944 of one receipt. ``gtin``: the item's, from the item master (not on the event).

    The receiver number (W17, at most 12 characters) is the receipt document number: the
    last part of ``receipt_id`` (``<po>/<line>/<receipt line>/<document>``); the whole id
    goes in N9 RV.
    """
    profile.require_document("944")
    site = profile.require_site(received.site_id)
    profile.require_item(received.item_id)
    return ReceiptAdvice(
        receipt_id=received.receipt_id,
        receiver_number=received.receipt_id.rsplit("/", 1)[-1],
        po_id=received.po_id,
        site_id=site,
        site_name=profile.sites[site],
        received_on=received.occurred_at,
        item_id=received.item_id,
        gtin=_gtin(profile, received.item_id, gtin),
        lot=received.lot,
        quantity=received.quantity,
        unit=profile.unit(received.base_uom),
    )


def inventory_advice(
    profile: PartnerProfile, positions: Iterable[InventoryPosition], *, reference: str
) -> tuple[InventoryAdvice, ...]:
    """The 846s of a partner: one per site of its scope that has positions of its items.

    Positions of other sites or items are not the partner's business and are left out (the
    846 is a snapshot of its scope, not of the warehouse). ``reference`` is BIA03 (at most
    30 characters), the same for every site.
    """
    profile.require_document("846")
    by_site: dict[str, list[InventoryPosition]] = {}
    for position in positions:
        if profile.covers_site(position.site_id) and profile.covers_item(position.item_id):
            by_site.setdefault(position.site_id, []).append(position)
    if not by_site:
        raise DocumentRejected("nothing_to_advise", f"no position in {profile.partner_id}'s scope")
    advices = []
    for site in sorted(by_site):
        chosen = sorted(by_site[site], key=lambda p: p.item_id)
        lines = tuple(
            InventoryAdviceLine(
                item_id=p.item_id,
                gtin=_gtin(profile, p.item_id, p.gtin),
                unit=profile.unit(p.base_uom),
                on_hand=p.on_hand,
                committed=p.committed,
                available=p.available,
            )
            for p in chosen
        )
        advices.append(
            InventoryAdvice(
                reference=reference,
                site_id=site,
                site_name=profile.sites[site],
                as_of=max(p.as_of for p in chosen),
                lines=lines,
            )
        )
    return tuple(advices)


# --- documents → segments --------------------------------------------------------------------


def segments(document: Document, profile: PartnerProfile) -> TransactionSet:
    """The transaction set of a document, dates and times in the partner's zone and format."""
    if isinstance(document, ShipNotice):
        return _856(document, profile)
    if isinstance(document, ShippingAdvice):
        return _945(document, profile)
    if isinstance(document, ReceiptAdvice):
        return _944(document, profile)
    return _846(document, profile)


def interchange(
    profile: PartnerProfile,
    sets: Sequence[TransactionSet],
    *,
    control: ControlNumbers,
    at: datetime,
) -> bytes:
    """One interchange file for ``profile``; ``at`` is when it is created (aware, any zone).

    A data value the writer cannot write (one holding a separator) rejects the document.
    """
    try:
        return write_interchange(profile.envelope(), sets, control=control, at=profile.local(at))
    except X12ValueError as err:
        raise DocumentRejected("value_not_writable", str(err)) from None


def write_856(
    profile: PartnerProfile, order: ShippedOrder, *, control: ControlNumbers, at: datetime
) -> bytes:
    sets = [segments(ship_notice(profile, order), profile)]
    return interchange(profile, sets, control=control, at=at)


def write_945(
    profile: PartnerProfile, order: ShippedOrder, *, control: ControlNumbers, at: datetime
) -> bytes:
    sets = [segments(shipping_advice(profile, order), profile)]
    return interchange(profile, sets, control=control, at=at)


def write_944(
    profile: PartnerProfile,
    received: GoodsReceived,
    *,
    control: ControlNumbers,
    at: datetime,
    gtin: str | None = None,
) -> bytes:
    sets = [segments(receipt_advice(profile, received, gtin=gtin), profile)]
    return interchange(profile, sets, control=control, at=at)


def write_846(
    profile: PartnerProfile,
    positions: Iterable[InventoryPosition],
    *,
    reference: str,
    control: ControlNumbers,
    at: datetime,
) -> bytes:
    advices = inventory_advice(profile, positions, reference=reference)
    sets = [segments(advice, profile) for advice in advices]
    return interchange(profile, sets, control=control, at=at)


# --- the transaction sets --------------------------------------------------------------------


def _856(doc: ShipNotice, profile: PartnerProfile) -> TransactionSet:
    body: list[Segment] = [
        seg(
            "BSN",
            "00",
            _fit(doc.shipment_id, 30, "BSN02 shipment id"),
            *_shipped(doc, profile),
            "0004",
        ),
        _dtm("011", doc.shipped_at, profile),
        seg("HL", "1", None, "S"),
    ]
    if doc.carrier:
        body.append(_td5(doc.carrier))
    if doc.tracking_no:
        body.append(seg("REF", "CN", _fit(doc.tracking_no, 30, "REF02 tracking number")))
    if doc.load_id:
        body.append(seg("REF", "LO", _fit(doc.load_id, 30, "REF02 load id")))
    body.append(_n1("SF", doc.site_name, doc.site_id))
    if doc.ship_to:
        body.append(_n1("ST", None, doc.ship_to))
    body.append(seg("HL", "2", "1", "O"))
    if doc.customer_po:
        body.append(seg("PRF", _fit(doc.customer_po, 22, "PRF01 customer PO")))
    body.append(seg("REF", "VN", _fit(doc.order_id, 30, "REF02 order id")))
    hash_total = ZERO
    for offset, item in enumerate(doc.items):
        body.append(seg("HL", str(3 + offset), "2", "I"))
        body.append(seg("LIN", None, *_item_ids(item.item_id, item.gtin, item.lot)))
        body.append(seg("SN1", None, _qty(item.quantity, 10, "SN102"), item.unit))
        if item.sscc:
            body.append(seg("MAN", "GM", _sscc(item.sscc)))
        hash_total += item.quantity
    hl_count = 2 + len(doc.items)
    body.append(seg("CTT", str(hl_count), _qty(hash_total, 10, "CTT02 hash total")))
    return TransactionSet("856", tuple(body))


def _945(doc: ShippingAdvice, profile: PartnerProfile) -> TransactionSet:
    body: list[Segment] = [
        seg(
            "W06",
            "F",
            _fit(doc.order_id, 22, "W0602 order id"),
            profile.date(doc.shipped_at),
            _fit(doc.shipment_id, 30, "W0604 shipment id"),
            _fit(doc.wms_order_key, 12, "W0605 warehouse order key"),
            _fit(doc.customer_po, 22, "W0606 customer PO") if doc.customer_po else None,
        ),
        _n1("WH", doc.site_name, doc.site_id),
    ]
    if doc.ship_to:
        body.append(_n1("ST", None, doc.ship_to))
    if doc.tracking_no:
        body.append(seg("N9", "CN", _fit(doc.tracking_no, 30, "N902 tracking number")))
    if doc.load_id:
        body.append(seg("N9", "LO", _fit(doc.load_id, 30, "N902 load id")))
    if doc.carrier:
        body.append(_w27(doc.carrier))
    total = ZERO
    for number_, line in enumerate(doc.lines, start=1):
        body.append(seg("LX", str(number_)))
        w12 = [
            "CC" if line.shipped >= line.ordered else "PR",
            _qty(line.ordered, 15, "W1202"),
            _qty(line.shipped, 10, "W1203"),
            _qty(line.ordered - line.shipped, 9, "W1204"),
            line.unit,
            None,
            "VN",
            _fit(line.item_id, 48, "W1208 item id"),
        ]
        if line.gtin:
            w12 += [None] * 12 + [*_gtin_id(line.gtin)]  # W1221/W1222 after 12 empty elements
        body.append(seg("W12", *w12))
        body.extend(seg("N9", "LT", _fit(lot, 30, "N902 lot")) for lot in line.lots)
        total += line.shipped
    body.append(seg("W03", _qty(total, 10, "W0301 units shipped")))
    return TransactionSet("945", tuple(body))


def _944(doc: ReceiptAdvice, profile: PartnerProfile) -> TransactionSet:
    w07: list[str | None] = [
        _qty(doc.quantity, 7, "W0701"),
        doc.unit,
        None,
        "VN",
        _fit(doc.item_id, 48, "W0705 item id"),
    ]
    if doc.gtin:
        w07 += [*_gtin_id(doc.gtin)]
    body: list[Segment] = [
        seg(
            "W17",
            "F",
            profile.date(doc.received_on),
            _fit(doc.receiver_number, 12, "W1703 receiver number"),
            _fit(doc.po_id, 22, "W1704 purchase order"),
        ),
        _n1("WH", doc.site_name, doc.site_id),
        seg("N9", "RV", _fit(doc.receipt_id, 30, "N902 receipt id")),
        seg("W07", *w07),
    ]
    if doc.lot:
        body.append(seg("N9", "LT", _fit(doc.lot, 30, "N902 lot")))
    body.append(seg("W14", _qty(doc.quantity, 7, "W1401 units received")))
    return TransactionSet("944", tuple(body))


def _846(doc: InventoryAdvice, profile: PartnerProfile) -> TransactionSet:
    body: list[Segment] = [
        seg(
            "BIA",
            "00",
            "DD",
            _fit(doc.reference, 30, "BIA03 reference"),
            profile.date(doc.as_of),
            profile.time(doc.as_of),
        ),
        _dtm("007", doc.as_of, profile),
        _n1("WH", doc.site_name, doc.site_id),
    ]
    for line in doc.lines:
        body.append(seg("LIN", None, *_item_ids(line.item_id, line.gtin, None)))
        body.append(seg("QTY", "17", _qty(line.on_hand, 15, "QTY02 on hand"), line.unit))
        body.append(seg("QTY", "33", _qty(line.available, 15, "QTY02 available"), line.unit))
        body.append(seg("QTY", "02", _qty(line.committed, 15, "QTY02 committed"), line.unit))
    body.append(seg("CTT", str(len(doc.lines))))
    return TransactionSet("846", tuple(body))


# --- helpers ---------------------------------------------------------------------------------


def _lines_by_id(order: ShippedOrder) -> dict[str, OrderPlaced]:
    return {line.line_id: line for line in order.lines}


def _line_of(pick: OrderPicked, lines: dict[str, OrderPlaced]) -> OrderPlaced:
    line = lines.get(pick.line_id or "")
    if line is None:
        raise DocumentRejected(
            "pick_without_line",
            f"pick {pick.allocation_id} of order {pick.order_id} names line {pick.line_id!r}, "
            "which is not among the order's lines",
        )
    return line


def _order(key: tuple[str, ...]) -> tuple[object, ...]:
    # Line ids end in the JDE line number ("…/1.000", "…/10.000"): sort those as numbers.
    line_id, *rest = key
    tail = line_id.rsplit("/", 1)[-1]
    try:
        return (line_id.rsplit("/", 1)[0], Decimal(tail), *rest)
    except ArithmeticError:
        return (line_id, Decimal(0), *rest)


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _gtin(profile: PartnerProfile, item_id: str, gtin: str | None) -> str | None:
    gtin = profile.gtin(item_id, gtin)
    if gtin is not None and not (gtin.isdigit() and len(gtin) in (12, 13, 14)):
        raise DocumentRejected("invalid_gtin", f"item {item_id!r} has GTIN {gtin!r}")
    return gtin


def _gtin_id(gtin: str) -> tuple[str, str]:
    # Product id qualifier by length: UP = UPC-A (12), EN = EAN-13, UK = GTIN-14.
    return {12: "UP", 13: "EN", 14: "UK"}[len(gtin)], gtin


def _item_ids(item_id: str, gtin: str | None, lot: str | None) -> list[str]:
    ids = ["VN", _fit(item_id, 48, "LIN item id")]
    if gtin:
        ids += [*_gtin_id(gtin)]
    if lot:
        ids += ["LT", _fit(lot, 48, "LIN lot")]
    return ids


def _sscc(sscc: str) -> str:
    if not (sscc.isdigit() and len(sscc) == 18):
        raise DocumentRejected("invalid_sscc", f"carton id {sscc!r} is not an SSCC-18")
    return sscc


def _shipped(doc: ShipNotice, profile: PartnerProfile) -> tuple[str, str]:
    # BSN03/BSN04 carry the dispatch time, not the file's: the same events give the same
    # document whenever it is written (a replay, the parity report).
    return profile.date(doc.shipped_at), profile.time(doc.shipped_at)


def _dtm(qualifier: str, at: datetime, profile: PartnerProfile) -> Segment:
    return seg("DTM", qualifier, profile.date(at), profile.time(at), profile.formats.time_code)


def _n1(code: str, name: str | None, identifier: str) -> Segment:
    # 91 = code assigned by the seller (us): the ERP's site and address-book numbers.
    return seg(
        "N1",
        code,
        _fit(name, 60, "N102 name") if name else None,
        "91",
        _fit(identifier, 80, "N104 id"),
    )


def _td5(carrier: str) -> Segment:
    if _SCAC.match(carrier):
        return seg("TD5", None, "2", carrier)  # TD502 2 = Standard Carrier Alpha Code
    return seg("TD5", None, None, None, None, _fit(carrier, 35, "TD505 routing"))


def _w27(carrier: str) -> Segment:
    scac = carrier if _SCAC.match(carrier) else None
    return seg("W27", "M", scac, _fit(carrier, 35, "W2703 routing"))  # M = motor carrier


def _fit(value: str, size: int, what: str) -> str:
    if len(value) > size:
        raise DocumentRejected("value_too_long", f"{what} {value!r} is over {size} characters")
    return value


def _qty(value: Decimal, digits: int, what: str) -> str:
    text = number(value)
    if sum(c.isdigit() for c in text) > digits:
        raise DocumentRejected("value_too_long", f"{what} {text} is over {digits} digits")
    return text
