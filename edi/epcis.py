"""GS1 EPCIS 2.0 JSON-LD export: ObjectEvents for receiving, shipping and picking.

Which canonical event becomes which EPCIS event:

    goods.received        bizStep receiving, disposition sellable_not_accessible,
                          quantityList (GTIN + lot), readPoint = receiving location,
                          bizLocation = site, bizTransactionList: po
    shipment.dispatched   bizStep shipping, disposition in_transit, epcList (carton SSCCs)
                          and quantityList (GTIN + lot of the picks), readPoint = site,
                          no bizLocation (the goods leave it), bizTransactionList: poc (our
                          sales order, the confirmation of the customer's PO), desadv
                          (the shipment, as in the 856)
    order.picked          bizStep picking, disposition in_progress, quantityList,
                          readPoint = pick location, bizLocation = site, bizTransactionList: poc
    temperature.recorded  bizStep sensor_reporting, no disposition, an empty epcList (the
                          probe watches a place, not listed goods), readPoint = the probe's
                          location (the site when it has none), bizLocation = site (none for
                          a reefer trailer without a site), sensorElementList: one element,
                          sensorMetadata time and deviceID (the probe as a GIAI), one
                          sensorReport of type Temperature in CEL

Identifiers (``Gs1Identity``):

- A site's GLN is the company prefix followed by the site's location reference, zero-padded
  to 12 digits, and the GS1 check digit. The location reference is the site id itself
  (site ``20001`` with prefix ``0614141`` → ``061414120001`` and its check digit) unless
  ``site_locations`` names another; a site id that is not digits, or too long, has no GLN
  (``EpcisRejected``: ``site_without_gln``). readPoint/bizLocation are SGLN URNs:
  ``urn:epc:id:sgln:<prefix>.<location reference>.<extension>``, extension ``0`` for the
  site and the warehouse location code (``[A-Za-z0-9-]``, up to 20) for a place in it.
- Goods classes and cartons are GS1 Digital Link URIs: ``https://id.gs1.org/01/<GTIN-14>``
  (``/10/<lot>`` when there is a lot), ``https://id.gs1.org/00/<SSCC>``. An item without a
  GTIN uses ``item_class_fallback`` + its id when set, else the event is rejected
  (``missing_gtin``). Quantities are in the item's base unit; ``uom`` is written only for
  units listed in ``measure_units`` (UN/ECE Rec 20, e.g. ``KG`` → ``KGM``): a count of
  trade items has none.
- A temperature probe is a GIAI of the company prefix: ``https://id.gs1.org/8004/<prefix><probe
  id>`` (a probe id that is not ``[A-Za-z0-9-]``, or too long for the 30 characters of a
  GIAI, is rejected: ``sensor_not_encodable``).
- Business transactions are ``urn:epcglobal:cbv:bt:<company GLN>:<id>`` (the CBV form for
  an id assigned by the party with that GLN), the id percent-encoded.

``eventID`` is the CBV 2.0 event hash (``ni:///sha-256;<hex>?ver=CBV2.0``, ``event_hash``),
implemented for the subset of EPCIS this export writes (and checked against the reference
implementation's published vectors in the tests):

- fields, in the canonical order: eventType, eventTime, eventTimeZoneOffset, epcList,
  quantityList, action, bizStep, disposition, readPoint, bizLocation, bizTransactionList,
  sourceList, destinationList, sensorElementList; then top-level user extensions with simple
  values;
- ``sensorElementList``: each element ``sensorElement`` then its ``sensorMetadata`` (time,
  startTime, endTime, deviceID, deviceMetadata, rawData, dataProcessingMethod, bizRules) and
  its ``sensorReport`` members (type, exception, deviceID, ..., value, ..., uom, in the
  reference implementation's order), the reports of an element and the elements sorted like
  any list; a bare measurement type is a term of the GS1 Web vocabulary
  (``Temperature`` → ``https://gs1.org/voc/Temperature``);
- each value ``key=value``, nothing between parts; list members (``epc=…``,
  ``quantityElement…``, ``type=…bizTransaction=…``) sorted by their UTF-8 code points, the
  list's name once before them, a ``type`` before its id;
- times in UTC with milliseconds and ``Z`` (a 4th decimal rounds half up); numbers without
  trailing zeros; bare CBV terms expanded (``shipping`` →
  ``https://ref.gs1.org/cbv/BizStep-shipping``; ``BTT-`` and ``SDT-`` for types);
- EPC URNs (``sgtin``, ``sscc``, ``sgln``, ``giai``, class ``lgtin``, pattern ``sgtin``)
  converted to canonical Digital Link URIs on ``id.gs1.org``; a Digital Link URI on another
  domain is moved to ``id.gs1.org`` and its query string dropped;
- ``eventID``, ``recordTime`` and ``@context`` are left out; any other field (ILMD, error
  declarations, nested extensions, sensor fields outside the list above) raises
  ``EpcisError`` rather than hashing it wrongly.

Two events of the same content hash to the same eventID (two picks of the same lot from the
same bin for the same order at the same instant, recorded as two allocations). The export
keeps them distinct (``distinguished``): the later one carries the user extension
``scv:sourceEventID`` (namespace ``SCV_NAMESPACE``, declared in the ``@context`` of every
document and standalone event), the ``urn:uuid:`` of the canonical event it came from, which
enters its hash like any top-level extension.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from edi.documents import ShippedOrder
from edi.errors import EpcisError, EpcisRejected
from transforms.events import CanonicalEvent, GoodsReceived, OrderPicked, TemperatureRecorded

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DIGITAL_LINK = "https://id.gs1.org"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
#: Namespace of the export's one user extension (``scv:sourceEventID``).
SCV_NAMESPACE = "https://scv.example/epcis/"
SCV_PREFIX = "scv"
SOURCE_EVENT_ID = f"{SCV_PREFIX}:sourceEventID"
NAMESPACES = {SCV_PREFIX: SCV_NAMESPACE}
CONTEXT: list[Any] = [EPCIS_CONTEXT, dict(NAMESPACES)]

_LOCATION_CODE = re.compile(r"^[A-Za-z0-9-]{1,20}$")
_ASSET_REFERENCE = re.compile(r"^[A-Za-z0-9-]+$")


# --- identifiers -----------------------------------------------------------------------------


def check_digit(body: str) -> str:
    """GS1 mod-10 check digit of ``body`` (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class Gs1Identity:
    """How sites, items and documents become GS1 identifiers (module docstring)."""

    company_prefix: str
    site_locations: Mapping[str, str] = field(default_factory=dict)
    item_class_fallback: str | None = None
    measure_units: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.company_prefix.isdigit() and 6 <= len(self.company_prefix) <= 11):
            raise EpcisError(f"GS1 company prefix {self.company_prefix!r} is not 6-11 digits")

    def location_reference(self, site_id: str | None) -> str:
        reference = self.site_locations.get(site_id or "", site_id or "")
        width = 12 - len(self.company_prefix)
        if not (reference.isdigit() and len(reference) <= width):
            raise EpcisRejected(
                "site_without_gln",
                f"site {site_id!r} gives no {width}-digit location reference for a GLN",
            )
        return reference.zfill(width)

    def gln(self, site_id: str | None) -> str:
        body = self.company_prefix + self.location_reference(site_id)
        return body + check_digit(body)

    def sgln(self, site_id: str | None, location: str | None = None) -> str:
        """SGLN URN of a site (extension 0) or of a location code inside it."""
        extension = "0"
        if location is not None:
            if not _LOCATION_CODE.match(location):
                raise EpcisRejected(
                    "location_not_encodable", f"location {location!r} is not [A-Za-z0-9-]{{1,20}}"
                )
            extension = location
        reference = self.location_reference(site_id)
        return f"urn:epc:id:sgln:{self.company_prefix}.{reference}.{extension}"

    def company_gln(self) -> str:
        body = self.company_prefix.ljust(12, "0")
        return body + check_digit(body)

    def business_transaction(self, identifier: str) -> str:
        return f"urn:epcglobal:cbv:bt:{self.company_gln()}:{quote(identifier, safe='-._~')}"

    def item_class(self, item_id: str, gtin: str | None, lot: str | None) -> str:
        if gtin is None:
            if self.item_class_fallback is None:
                raise EpcisRejected("missing_gtin", f"item {item_id!r} has no GTIN")
            return self.item_class_fallback + quote(item_id, safe="-._~")
        if not (gtin.isdigit() and len(gtin) in (8, 12, 13, 14)):
            raise EpcisRejected("invalid_gtin", f"item {item_id!r} has GTIN {gtin!r}")
        uri = f"{DIGITAL_LINK}/01/{gtin.zfill(14)}"
        return uri + f"/10/{quote(lot, safe='-._~')}" if lot else uri

    def giai(self, asset: str) -> str:
        """An individual asset (a probe) of the company as a GIAI Digital Link URI."""
        if not (_ASSET_REFERENCE.match(asset) and len(self.company_prefix) + len(asset) <= 30):
            raise EpcisRejected(
                "sensor_not_encodable", f"probe {asset!r} gives no GIAI (up to 30, [A-Za-z0-9-])"
            )
        return f"{DIGITAL_LINK}/8004/{self.company_prefix}{asset}"

    def uom(self, base_uom: str | None) -> str | None:
        return self.measure_units.get(base_uom or "")


def sscc_uri(sscc: str) -> str:
    if not (sscc.isdigit() and len(sscc) == 18):
        raise EpcisRejected("invalid_sscc", f"carton id {sscc!r} is not an SSCC-18")
    return f"{DIGITAL_LINK}/00/{sscc}"


# --- events ----------------------------------------------------------------------------------


def receiving_event(
    received: GoodsReceived, identity: Gs1Identity, *, gtin: str | None
) -> dict[str, Any]:
    """``goods.received`` → ObjectEvent receiving. ``gtin``: the item's, from the item master."""
    quantity = _quantity(
        identity.item_class(received.item_id, gtin, received.lot),
        received.quantity,
        identity.uom(received.base_uom),
    )
    return _event(
        received,
        epcs=(),
        quantities=(quantity,),
        biz_step="receiving",
        disposition="sellable_not_accessible",
        read_point=identity.sgln(received.site_id, received.location),
        biz_location=identity.sgln(received.site_id),
        transactions=(("po", identity.business_transaction(received.po_id)),),
    )


def shipping_event(order: ShippedOrder, identity: Gs1Identity) -> dict[str, Any]:
    """``shipment.dispatched`` (with its order's lines and picks) → ObjectEvent shipping."""
    dispatched = order.dispatched
    lines = {line.line_id: line for line in order.lines}
    cartons = sorted({pick.case_id for pick in order.picks if pick.case_id})
    classes: dict[tuple[str, str | None], Decimal] = {}
    for pick in order.picks:
        line = lines.get(pick.line_id or "")
        if line is None:
            raise EpcisRejected(
                "pick_without_line", f"pick {pick.allocation_id} names line {pick.line_id!r}"
            )
        key = (identity.item_class(pick.item_id, line.gtin, pick.lot), identity.uom(pick.base_uom))
        classes[key] = classes.get(key, Decimal(0)) + pick.quantity
    quantities = tuple(_quantity(c, q, uom) for (c, uom), q in sorted(classes.items()) if q)
    if not cartons and not quantities:
        raise EpcisRejected("nothing_shipped", f"order {dispatched.order_id} has no picks")
    return _event(
        dispatched,
        epcs=tuple(sscc_uri(c) for c in cartons),
        quantities=quantities,
        biz_step="shipping",
        disposition="in_transit",
        read_point=identity.sgln(dispatched.site_id),
        biz_location=None,
        transactions=(
            ("poc", identity.business_transaction(dispatched.order_id)),
            ("desadv", identity.business_transaction(dispatched.shipment_id)),
        ),
    )


def picking_event(
    picked: OrderPicked, identity: Gs1Identity, *, gtin: str | None
) -> dict[str, Any]:
    """``order.picked`` → ObjectEvent picking. ``gtin``: the item's, from the item master."""
    quantity = _quantity(
        identity.item_class(picked.item_id, gtin, picked.lot),
        picked.quantity,
        identity.uom(picked.base_uom),
    )
    return _event(
        picked,
        epcs=(),
        quantities=(quantity,),
        biz_step="picking",
        disposition="in_progress",
        read_point=identity.sgln(picked.site_id, picked.from_location),
        biz_location=identity.sgln(picked.site_id),
        transactions=(("poc", identity.business_transaction(picked.order_id)),),
    )


def temperature_event(recorded: TemperatureRecorded, identity: Gs1Identity) -> dict[str, Any]:
    """``temperature.recorded`` → ObjectEvent sensor_reporting with one sensor element."""
    has_site = recorded.site_id is not None
    read_point = None
    if has_site:
        read_point = identity.sgln(recorded.site_id, recorded.location)
    report = {"type": "Temperature", "value": recorded.temperature_c, "uom": "CEL"}
    metadata = {
        "time": utc_millis(recorded.occurred_at),
        "deviceID": identity.giai(recorded.sensor_id),
    }
    return _event(
        recorded,
        epcs=(),
        quantities=(),
        biz_step="sensor_reporting",
        disposition=None,
        read_point=read_point,
        biz_location=identity.sgln(recorded.site_id) if has_site else None,
        transactions=(),
        sensors=({"sensorMetadata": metadata, "sensorReport": [report]},),
    )


def distinguished(event: Mapping[str, Any], source_event_id: str) -> dict[str, Any]:
    """``event`` with ``scv:sourceEventID`` (its canonical event's id) and the eventID that
    gives: for an event whose content hashes like another's (module docstring)."""
    marked = {k: v for k, v in event.items() if k != "eventID"}
    marked[SOURCE_EVENT_ID] = f"urn:uuid:{source_event_id}"
    return {"type": marked["type"], "eventID": event_hash(marked, namespaces=NAMESPACES), **marked}


def epcis_document(events: Iterable[Mapping[str, Any]], *, created_at: datetime) -> dict[str, Any]:
    """The ``EPCISDocument`` around ``events`` (``created_at``: when the export was made)."""
    return {
        "@context": list(CONTEXT),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_millis(created_at),
        "epcisBody": {"eventList": [dict(e) for e in events]},
    }


def standalone(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event on its own (a ``scv.epcis.v1`` record): it must carry its ``@context``."""
    return {"@context": list(CONTEXT), **event}


def to_json(value: Any) -> bytes:
    """Compact JSON with ``Decimal`` written as an exact JSON number (never through float)."""
    return _encode(value).encode("utf-8")


def _event(
    source: CanonicalEvent,
    *,
    epcs: tuple[str, ...],
    quantities: tuple[dict[str, Any], ...],
    biz_step: str,
    disposition: str | None,
    read_point: str | None,
    biz_location: str | None,
    transactions: tuple[tuple[str, str], ...],
    sensors: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": utc_millis(source.occurred_at),
        "eventTimeZoneOffset": source.occurred_tz_offset or "+00:00",
    }
    if epcs or not quantities:
        # An ObjectEvent names its objects: an empty epcList says "none listed" (a probe).
        event["epcList"] = list(epcs)
    if quantities:
        event["quantityList"] = list(quantities)
    event |= {"action": "OBSERVE", "bizStep": biz_step}
    if disposition is not None:
        event["disposition"] = disposition
    if read_point is not None:
        event["readPoint"] = {"id": read_point}
    if biz_location is not None:
        event["bizLocation"] = {"id": biz_location}
    if transactions:
        event["bizTransactionList"] = [{"type": t, "bizTransaction": bt} for t, bt in transactions]
    if sensors:
        event["sensorElementList"] = list(sensors)
    # eventID second in the output for readers; the hash leaves it out anyway.
    return {"type": event["type"], "eventID": event_hash(event), **event}


def _quantity(epc_class: str, quantity: Decimal, uom: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": epc_class, "quantity": quantity}
    if uom is not None:
        element["uom"] = uom
    return element


# --- the CBV 2.0 event hash ------------------------------------------------------------------

_VOCABULARY = {"bizStep": "BizStep-", "disposition": "Disp-"}
_LISTS = {"bizTransactionList": ("bizTransaction", "BTT-")} | {
    "sourceList": ("source", "SDT-"),
    "destinationList": ("destination", "SDT-"),
}
_ORDER = (
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "quantityList",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
)
_SENSOR_METADATA = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
_SENSOR_REPORT = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
_SENSOR_TIMES = frozenset({"time", "startTime", "endTime"})
_SENSOR_IDS = frozenset(
    {"deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules", "uriValue"}
    | {"microorganism", "chemicalSubstance", "coordinateReferenceSystem"}
)
_LEFT_OUT = frozenset({"type", "eventID", "recordTime", "@context"})


def event_hash(event: Mapping[str, Any], *, namespaces: Mapping[str, str] | None = None) -> str:
    """The CBV 2.0 event hash ID of ``event`` (the subset in the module docstring).

    ``namespaces``: the CURIE prefixes of the document's ``@context`` (for user extensions).
    """
    digest = hashlib.sha256(pre_hash(event, namespaces).encode()).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def pre_hash(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The canonical pre-hash string of ``event`` (what ``event_hash`` digests)."""
    parts = [f"eventType={event['type']}"]
    for key in _ORDER:
        if key in event:
            parts.append(_hashed_field(key, event[key]))
    extensions = []
    for key, value in event.items():
        if key in _ORDER or key in _LEFT_OUT:
            continue
        prefix, colon, local = key.partition(":")
        if not colon or isinstance(value, dict | list):
            raise EpcisError(f"field {key!r} is outside the hashed subset")
        namespace = (namespaces or {}).get(prefix)
        if namespace is None:
            raise EpcisError(f"extension {key!r} has no namespace in the @context")
        extensions.append(f"{{{namespace}}}{local}={_scalar(value)}")
    return "".join(parts) + "".join(sorted(extensions))


def _hashed_field(key: str, value: Any) -> str:
    if key == "eventTime":
        return f"eventTime={utc_millis(_parse_time(value))}"
    if key == "eventTimeZoneOffset" or key == "action":
        return f"{key}={value}"
    if key in _VOCABULARY:
        return f"{key}={_vocabulary(value, _VOCABULARY[key])}"
    if key == "epcList":
        return _list(key, sorted(f"epc={canonical_id(v)}" for v in value))
    if key == "quantityList":
        return _list(key, sorted(_quantity_element(q) for q in value))
    if key == "sensorElementList":
        return _list(key, sorted(_sensor_element(e) for e in value))
    if key in ("readPoint", "bizLocation"):
        if set(value) != {"id"}:
            raise EpcisError(f"{key} with fields other than id is outside the hashed subset")
        return f"{key}id={canonical_id(value['id'])}"
    member, vocabulary = _LISTS[key]
    entries = []
    for entry in value:
        if not set(entry) <= {"type", member}:
            raise EpcisError(f"{key} entry {entry!r} is outside the hashed subset")
        typed = f"type={_vocabulary(entry['type'], vocabulary)}" if "type" in entry else ""
        entries.append(f"{typed}{member}={canonical_id(entry[member])}")
    return _list(key, sorted(entries))


def _sensor_element(element: Mapping[str, Any]) -> str:
    if not set(element) <= {"sensorMetadata", "sensorReport"}:
        raise EpcisError(f"sensor element {element!r} is outside the hashed subset")
    text = "sensorElement"
    if "sensorMetadata" in element:
        text += "sensorMetadata" + _sensor_fields(element["sensorMetadata"], _SENSOR_METADATA)
    reports = sorted(
        "sensorReport" + _sensor_fields(r, _SENSOR_REPORT) for r in element["sensorReport"]
    )
    return text + "".join(reports)


def _sensor_fields(values: Mapping[str, Any], order: tuple[str, ...]) -> str:
    if not set(values) <= set(order):
        raise EpcisError(f"sensor fields {sorted(set(values) - set(order))} outside the subset")
    parts = []
    for name in order:
        if name not in values:
            continue
        value = values[name]
        if name in _SENSOR_TIMES:
            text = utc_millis(_parse_time(value))
        elif name in _SENSOR_IDS:
            text = canonical_id(value)
        elif name == "type" or name == "exception":
            text = _term(value, "gs1:", GS1_VOC, "")
        elif name == "component":
            text = _term(value, "cbv:", CBV, "Comp-")
        else:
            text = _scalar(value)
        parts.append(f"{name}={text}")
    return "".join(parts)


def _term(value: str, curie: str, namespace: str, kind: str) -> str:
    """A vocabulary term as a full URI: bare, or with the context's usual CURIE prefix."""
    if value.startswith(curie):
        return namespace + value.removeprefix(curie)
    return value if ":" in value else namespace + kind + value


def _list(name: str, members: list[str]) -> str:
    return name + "".join(members) if members else ""


def _quantity_element(element: Mapping[str, Any]) -> str:
    text = f"quantityElementepcClass={canonical_id(element['epcClass'])}"
    if "quantity" in element:
        text += f"quantity={_scalar(element['quantity'])}"
    if "uom" in element:
        text += f"uom={element['uom']}"
    return text


def _vocabulary(value: str, kind: str) -> str:
    old = {
        "BizStep-": "urn:epcglobal:cbv:bizstep:",
        "Disp-": "urn:epcglobal:cbv:disp:",
        "BTT-": "urn:epcglobal:cbv:btt:",
        "SDT-": "urn:epcglobal:cbv:sdt:",
    }[kind]
    if value.startswith(old):
        return CBV + kind + value.removeprefix(old)
    if ":" not in value:
        return CBV + kind + value  # a bare CBV term
    return value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        text = format(number.normalize(), "f")
        return "0" if text == "-0" else text
    return str(value).strip()


def canonical_id(value: str) -> str:
    """An identifier as the hash wants it: EPC URNs and Digital Link URIs on ``id.gs1.org``."""
    value = value.strip()
    if value.startswith("urn:epc:"):
        return _urn_to_digital_link(value)
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and _DL_PATH.match(parts.path):
        return DIGITAL_LINK + parts.path
    return value


_DL_PATH = re.compile(r"^/(00|01|253|255|401|402|414|417|8003|8004|8006|8010|8017|8018)/")


def _urn_to_digital_link(urn: str) -> str:
    scheme, _, body = urn.rpartition(":")
    fields = body.split(".")
    if scheme == "urn:epc:id:sgtin" and len(fields) == 3:
        prefix, item, serial = fields
        return f"{DIGITAL_LINK}/01/{_gtin14(prefix, item)}/21/{_dl(serial)}"
    if scheme == "urn:epc:class:lgtin" and len(fields) == 3:
        prefix, item, lot = fields
        return f"{DIGITAL_LINK}/01/{_gtin14(prefix, item)}/10/{_dl(lot)}"
    if scheme == "urn:epc:idpat:sgtin" and len(fields) == 3 and fields[2] == "*":
        return f"{DIGITAL_LINK}/01/{_gtin14(fields[0], fields[1])}"
    if scheme == "urn:epc:id:sscc" and len(fields) == 2:
        prefix, serial = fields
        body_ = serial[:1] + prefix + serial[1:]
        return f"{DIGITAL_LINK}/00/{body_}{check_digit(body_)}"
    if scheme == "urn:epc:id:giai" and len(fields) == 2:
        return f"{DIGITAL_LINK}/8004/{fields[0]}{_dl(fields[1])}"
    if scheme == "urn:epc:id:sgln" and len(fields) == 3:
        prefix, reference, extension = fields
        gln = prefix + reference + check_digit(prefix + reference)
        uri = f"{DIGITAL_LINK}/414/{gln}"
        return uri if extension == "0" else f"{uri}/254/{_dl(extension)}"
    raise EpcisError(f"EPC URN {urn!r} is outside the hashed subset")


def _gtin14(prefix: str, item_reference: str) -> str:
    # The indicator digit leads the item reference in the URN and the GTIN in Digital Link.
    body = item_reference[:1] + prefix + item_reference[1:]
    return body + check_digit(body)


def _dl(text: str) -> str:
    return quote(unquote(text), safe="-._~")


# --- times and JSON --------------------------------------------------------------------------


def utc_millis(at: datetime) -> str:
    """``at`` in UTC with milliseconds and ``Z``, the 4th decimal rounding half up."""
    if at.tzinfo is None:
        raise EpcisError("EPCIS times must be timezone-aware")
    at = at.astimezone(UTC)
    micro = at.microsecond
    at = at.replace(microsecond=0) + timedelta(milliseconds=(micro + 500) // 1000)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _encode(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _scalar(value)
    return json.dumps(value, ensure_ascii=False)
