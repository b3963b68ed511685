"""EPCIS 2.0 export: every document validates against GS1's schema; eventID is the CBV hash."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edi.epcis import (
    SOURCE_EVENT_ID,
    Gs1Identity,
    check_digit,
    distinguished,
    epcis_document,
    event_hash,
    picking_event,
    pre_hash,
    receiving_event,
    shipping_event,
    standalone,
    temperature_event,
    to_json,
    utc_millis,
)
from edi.errors import EpcisError, EpcisRejected
from edi.settings import EdiSettings

from . import events as ev

FIXTURES = Path(__file__).parents[2] / "fixtures" / "epcis"
IDENTITY = EdiSettings().gs1()


@cache
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((FIXTURES / "EPCIS-JSON-Schema.json").read_text())
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # Without these, "uri" and "date-time" pass unchecked: make sure the test can fail.
    assert {"uri", "date-time"} <= set(checker.checkers)
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def _valid(document: dict[str, Any]) -> dict[str, Any]:
    # Validate what is written (bytes), read back with exact decimals.
    parsed: dict[str, Any] = json.loads(to_json(document), parse_float=Decimal)
    errors = [f"{list(e.path)}: {e.message}" for e in _validator().iter_errors(parsed)]
    assert not errors, errors
    return parsed


def _events() -> list[dict[str, Any]]:
    return [
        receiving_event(ev.received(), IDENTITY, gtin=ev.GTIN),
        shipping_event(ev.shipped_order(), IDENTITY),
        picking_event(ev.picked("1.000", "12.5", lot="L2405A"), IDENTITY, gtin=ev.GTIN),
        temperature_event(ev.temperature(), IDENTITY),
    ]


def test_the_validator_checks_formats_even_in_gs1s_own_example() -> None:
    # GS1's example names its document with a JSON-LD blank node ("_:document1"), which is
    # not an RFC 3986 URI: with format checking on, that is the one thing refused in it.
    example = json.loads((FIXTURES / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    errors = [(list(e.path), e.message) for e in _validator().iter_errors(example)]
    assert errors == [(["id"], "'_:document1' is not a 'uri'")]
    assert not list(_validator().iter_errors(example | {"id": "urn:uuid:" + "0" * 32}))


def test_receiving_shipping_and_picking_documents_validate_against_the_gs1_schema() -> None:
    document = _valid(epcis_document(_events(), created_at=ev.CREATED))
    steps = [e["bizStep"] for e in document["epcisBody"]["eventList"]]
    assert steps == ["receiving", "shipping", "picking", "sensor_reporting"]
    assert document["creationDate"] == "2026-03-02T14:06:30.000Z"


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_each_event_validates_standalone_with_its_context(index: int) -> None:
    _valid(standalone(_events()[index]))
    bare = _events()[index]
    assert list(_validator().iter_errors(bare))  # a standalone event needs its @context


def test_receiving_event_fields() -> None:
    event = receiving_event(ev.received(), IDENTITY, gtin=ev.GTIN)
    assert event["eventTime"] == "2026-03-02T14:05:09.000Z"
    assert event["eventTimeZoneOffset"] == "-06:00"
    assert event["disposition"] == "sellable_not_accessible"
    assert event["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/{ev.GTIN}/10/B20260301", "quantity": Decimal(48)}
    ]
    assert event["readPoint"] == {"id": "urn:epc:id:sgln:0614141.30001.3DOOR02"}
    assert event["bizLocation"] == {"id": "urn:epc:id:sgln:0614141.30001.0"}
    gln = "0614141000005"  # company prefix, zero location reference, check digit
    assert event["bizTransactionList"] == [
        {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{gln}:00020-OP-4711"}
    ]


def test_shipping_event_lists_cartons_and_goods_by_gtin_and_lot() -> None:
    event = shipping_event(ev.shipped_order(), IDENTITY)
    assert event["epcList"] == [f"https://id.gs1.org/00/{s}" for s in (ev.SSCC, ev.SSCC_2)]
    assert event["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/{ev.GTIN}/10/L2405A", "quantity": Decimal(12)},
        {"epcClass": f"https://id.gs1.org/01/{ev.GTIN}/10/L2405B", "quantity": Decimal(12)},
        {"epcClass": f"https://id.gs1.org/01/{ev.GTIN_2}", "quantity": Decimal(6)},
    ]
    assert "bizLocation" not in event
    assert [t["type"] for t in event["bizTransactionList"]] == ["poc", "desadv"]


def test_a_shipping_event_without_picks_or_with_a_stray_pick_is_rejected() -> None:
    order = ev.shipped_order()
    for changed, reason in (
        (replace(order, picks=()), "nothing_shipped"),
        (replace(order, picks=(*order.picks, ev.picked("9.000", 1))), "pick_without_line"),
    ):
        with pytest.raises(EpcisRejected) as caught:
            shipping_event(changed, IDENTITY)
        assert caught.value.reason == reason


def test_a_probe_reading_is_a_sensor_report_of_its_location() -> None:
    event = temperature_event(ev.temperature("-18.40"), IDENTITY)
    assert event["epcList"] == []
    assert "quantityList" not in event
    assert "disposition" not in event
    assert "bizTransactionList" not in event
    assert event["readPoint"] == {"id": "urn:epc:id:sgln:0614141.30001.1COLD01"}
    assert event["bizLocation"] == {"id": "urn:epc:id:sgln:0614141.30001.0"}
    assert event["sensorElementList"] == [
        {
            "sensorMetadata": {
                "time": "2026-03-02T14:05:09.000Z",
                "deviceID": "https://id.gs1.org/8004/0614141PRB-30001-01",
            },
            "sensorReport": [{"type": "Temperature", "value": Decimal("-18.40"), "uom": "CEL"}],
        }
    ]
    assert b'"value":-18.4' in to_json(event)
    # the reading is in the hash: another value, another eventID
    assert temperature_event(ev.temperature("-18.3"), IDENTITY)["eventID"] != event["eventID"]


def test_a_reefer_reading_without_a_site_has_no_location_and_still_validates() -> None:
    event = temperature_event(
        ev.temperature("3.1", site=None, location=None, trailer="TRL-77"), IDENTITY
    )
    assert "readPoint" not in event
    assert "bizLocation" not in event
    _valid(epcis_document([event], created_at=ev.CREATED))


def test_a_probe_id_without_a_giai_encoding_is_rejected() -> None:
    with pytest.raises(EpcisRejected) as caught:
        temperature_event(ev.temperature(sensor="probe 1"), IDENTITY)
    assert caught.value.reason == "sensor_not_encodable"


def test_two_picks_of_the_same_content_are_told_apart_by_the_source_event_id() -> None:
    # Same lot, bin, order, quantity and instant, two allocations: one content, one hash.
    first = ev.picked("1.000", 6, lot="L2405A", key="PD1")
    second = ev.picked("1.000", 6, lot="L2405A", key="PD2")
    a = picking_event(first, IDENTITY, gtin=ev.GTIN)
    b = picking_event(second, IDENTITY, gtin=ev.GTIN)
    assert a["eventID"] == b["eventID"]
    marked = distinguished(b, str(second.event_id))
    assert marked[SOURCE_EVENT_ID] == f"urn:uuid:{second.event_id}"
    assert marked["eventID"] != a["eventID"]
    assert marked["eventID"] == event_hash(marked, namespaces={"scv": "https://scv.example/epcis/"})
    _valid(epcis_document([a, marked], created_at=ev.CREATED))
    _valid(standalone(marked))


def test_quantities_are_exact_json_numbers() -> None:
    event = picking_event(ev.picked("1.000", "12.50"), IDENTITY, gtin=ev.GTIN)
    assert b'"quantity":12.5' in to_json(event)


# --- identifiers -----------------------------------------------------------------------------


def test_a_sites_sgln_is_the_company_prefix_and_its_id_as_location_reference() -> None:
    assert IDENTITY.sgln("20001") == "urn:epc:id:sgln:0614141.20001.0"
    assert IDENTITY.gln("20001") == "061414120001" + check_digit("061414120001")
    assert IDENTITY.sgln("20001", "11A0203") == "urn:epc:id:sgln:0614141.20001.11A0203"
    mapped = Gs1Identity(company_prefix="0614141", site_locations={"DC-EAST": "7"})
    assert mapped.sgln("DC-EAST") == "urn:epc:id:sgln:0614141.00007.0"


@pytest.mark.parametrize(
    ("site", "location", "reason"),
    [
        ("DC-EAST", None, "site_without_gln"),
        ("123456", None, "site_without_gln"),
        (None, None, "site_without_gln"),
        ("20001", "bin 7", "location_not_encodable"),
    ],
)
def test_a_site_or_location_without_a_gs1_encoding_is_rejected(
    site: str | None, location: str | None, reason: str
) -> None:
    with pytest.raises(EpcisRejected) as caught:
        IDENTITY.sgln(site, location)
    assert caught.value.reason == reason


def test_an_item_without_gtin_is_rejected_unless_a_fallback_class_is_set() -> None:
    with pytest.raises(EpcisRejected) as caught:
        receiving_event(ev.received(), IDENTITY, gtin=None)
    assert caught.value.reason == "missing_gtin"
    fallback = Gs1Identity(
        company_prefix="0614141", item_class_fallback="https://scv.example/item/"
    )
    event = receiving_event(ev.received(lot=None), fallback, gtin=None)
    assert event["quantityList"][0]["epcClass"] == "https://scv.example/item/FISH-3003-ICE"
    _valid(epcis_document([event], created_at=ev.CREATED))


def test_variable_measure_units_carry_a_rec20_uom() -> None:
    event = receiving_event(ev.received("12.75", uom="KG"), IDENTITY, gtin=ev.GTIN)
    assert event["quantityList"][0]["uom"] == "KGM"
    _valid(epcis_document([event], created_at=ev.CREATED))


# --- the event hash --------------------------------------------------------------------------

# Published vectors of the CBV 2.0 hash reference implementation (RalphTro/
# epcis-event-hash-generator, tests/examples/epcisDocWithSingleEvent and
# epcisDocWithDefaultSchemaInContext): the events rebuilt here, their expected hash IDs.
_SHIPPING = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"],
    "eventTime": "2022-02-16T20:33:31.116000-06:00",
    "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}
    ],
}
_RECEIVING = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "receiving",
    "disposition": "in_progress",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
    "eventTime": "2022-02-16T20:33:31.116-06:00",
    "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "urn:epc:id:sgln:0012345.11111.400"},
    "bizLocation": {"id": "urn:epc:id:sgln:0012345.11111.0"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"},
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"},
    ],
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_SHIPPING, "ffa491b16867e34a7791a8d5389d826afc24e63a121026b6a4004ace38631b4b"),
        (_RECEIVING, "a207f523e4888a5cf75b5ee1110ebe019baba7e99aafde1d809d50b80727114e"),
    ],
)
def test_event_hash_reproduces_the_reference_vectors(event: dict[str, Any], expected: str) -> None:
    assert event_hash(event) == f"ni:///sha-256;{expected}?ver=CBV2.0"


def _vectors() -> list[tuple[str, dict[str, Any], str]]:
    found = []
    for path in sorted((FIXTURES / "hash-vectors").glob("*.jsonld")):
        document = json.loads(path.read_text())
        hashes = path.with_suffix(".hashes").read_text().split()
        events = document["epcisBody"]["eventList"]
        assert len(events) == len(hashes)
        pairs = enumerate(zip(events, hashes, strict=True))
        found += [(f"{path.stem}[{i}]", e, h) for i, (e, h) in pairs]
    return found


@pytest.mark.parametrize(("name", "event", "expected"), _vectors(), ids=lambda v: str(v)[:40])
def test_event_hash_reproduces_the_reference_sensor_vectors(
    name: str, event: dict[str, Any], expected: str
) -> None:
    # The reference implementation's sensor examples (tests/fixtures/epcis/hash-vectors).
    assert "sensorElementList" in event, name
    assert event_hash(event) == expected


def test_pre_hash_follows_the_canonical_order_and_forms() -> None:
    text = pre_hash(_RECEIVING)
    assert text.startswith(
        "eventType=ObjectEventeventTime=2022-02-17T02:33:31.116ZeventTimeZoneOffset=-06:00"
        "epcListepc=https://id.gs1.org/01/10614141073464/21/2018action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-receiving"
    )
    assert "readPointid=https://id.gs1.org/414/0012345111112/254/400" in text
    assert "bizLocationid=https://id.gs1.org/414/0012345111112bizTransactionList" in text
    # list members sorted, each type before its id
    assert text.endswith(
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-desadv"
        "bizTransaction=urn:epcglobal:cbv:bt:0614141073467:1152"
        "type=https://ref.gs1.org/cbv/BTT-po"
        "bizTransaction=http://transaction.acme.com/po/12345678"
    )


def test_the_hash_ignores_serialisation_but_not_content() -> None:
    event = _events()[1]
    reordered = dict(reversed(list(event.items())))
    reordered["epcList"] = list(reversed(event["epcList"]))
    reordered["recordTime"] = "2026-03-02T15:00:00Z"
    reordered["eventTime"] = "2026-03-02T08:05:09.0001-06:00"
    assert event_hash(reordered) == event["eventID"] == event_hash(event)
    changed = event | {"disposition": "in_progress"}
    assert event_hash(changed) != event["eventID"]
    quantity = event["quantityList"][0] | {"quantity": Decimal("12.000")}
    same = event | {"quantityList": [quantity, *event["quantityList"][1:]]}
    assert event_hash(same) == event["eventID"]


def test_a_replayed_event_gets_the_same_event_id() -> None:
    assert _events()[0]["eventID"] == _events()[0]["eventID"]


def test_fields_outside_the_hashed_subset_are_refused_not_hashed_wrongly() -> None:
    with pytest.raises(EpcisError, match="outside the hashed subset"):
        event_hash(_SHIPPING | {"ilmd": {"example:lot": "L1"}})
    with pytest.raises(EpcisError, match="no namespace"):
        event_hash(_SHIPPING | {"example:note": "x"})
    extended = event_hash(_SHIPPING | {"example:note": "x"}, namespaces={"example": "urn:x:"})
    assert extended != event_hash(_SHIPPING)


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(2026, 1, 1, 0, 0, 0, 1_499, tzinfo=UTC), "2026-01-01T00:00:00.001Z"),
        (datetime(2026, 1, 1, 0, 0, 0, 1_500, tzinfo=UTC), "2026-01-01T00:00:00.002Z"),
        (datetime(2026, 1, 1, 0, 0, 59, 999_500, tzinfo=UTC), "2026-01-01T00:01:00.000Z"),
    ],
)
def test_times_are_utc_milliseconds_rounded_half_up(at: datetime, text: str) -> None:
    assert utc_millis(at) == text
