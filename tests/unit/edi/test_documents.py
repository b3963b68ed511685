"""Document builders: golden files per document, checked by Bots; rejections, never half files."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from edi.documents import (
    ShippedOrder,
    inventory_advice,
    receipt_advice,
    ship_notice,
    shipping_advice,
    write_846,
    write_856,
    write_944,
    write_945,
)
from edi.errors import DocumentRejected
from edi.profile import PartnerProfile, load_partners

from . import events as ev
from . import oracle

GOLDEN = Path(__file__).parents[2] / "fixtures" / "edi"
PARTNERS = load_partners()
ACME = PARTNERS["acme-retail"]
NORTHWIND = PARTNERS["northwind-depositor"]


def _846() -> bytes:
    positions = [
        ev.position("NUT-2002-BLU", 40, 0, site="20002", gtin=ev.GTIN_2),
        ev.position("BOLT-1001-RED", 120, 36, site="20001"),
        ev.position("WASHER-77-GRN", "12.5", 20, site="20001", gtin="00614141000036"),
        ev.position("NOT-OURS", 5, 0, site="30001"),  # not an ACME site: left out
    ]
    return write_846(
        ACME, positions, reference="ACME-846-000042", control=ev.CONTROL, at=ev.CREATED
    )


def _856() -> bytes:
    return write_856(ACME, ev.shipped_order(), control=ev.CONTROL, at=ev.CREATED)


def _944() -> bytes:
    return write_944(NORTHWIND, ev.received(), control=ev.CONTROL, at=ev.CREATED, gtin=ev.GTIN)


def _945() -> bytes:
    order = ev.shipped_order(site=ev.COLD_SITE)
    return write_945(NORTHWIND, order, control=ev.CONTROL, at=ev.CREATED)


DOCUMENTS: dict[str, Callable[[], bytes]] = {"846": _846, "856": _856, "944": _944, "945": _945}


@pytest.mark.parametrize("code", sorted(DOCUMENTS))
def test_document_matches_its_golden_file(code: str) -> None:
    """Regenerate with SCV_UPDATE_GOLDEN=1 after a deliberate change of a builder."""
    data = DOCUMENTS[code]()
    golden = GOLDEN / f"{code}.x12"
    if os.environ.get("SCV_UPDATE_GOLDEN") == "1":
        golden.write_bytes(data)
    assert data == golden.read_bytes()


@pytest.mark.parametrize("code", sorted(DOCUMENTS))
def test_golden_file_parses_with_bots_and_its_envelope_checks(code: str) -> None:
    data = (GOLDEN / f"{code}.x12").read_bytes()
    parsed = oracle.parse(data)
    # Fixed positions: ISA13 nine digits zero-padded, ISA14, and ISA16 + terminator at 104.
    assert data[90:99] == b"000000042"
    assert data[99:102].decode() in ("*0*", "|1|")
    assert data[104:106].decode() in (">~", "^~")
    assert parsed.iea["IEA01"] == "1"
    assert int(parsed.iea["IEA02"]) == 42
    assert parsed.gs["GS06"] == parsed.ge["GE02"] == "42"
    assert parsed.gs["GS08"] == "004010"
    assert int(parsed.ge["GE01"]) == len(parsed.sets)
    assert all(st["ST01"] == code for st in parsed.sets)
    for number, st in enumerate(parsed.sets, start=1):
        (se,) = oracle.records(st, "SE")
        assert st["ST02"] == se["SE02"] == f"{number:04d}"
        assert int(se["SE01"]) == oracle.segment_count(st)


def test_856_hierarchy_is_shipment_order_items_with_sscc_gtin_and_hash_total() -> None:
    (st,) = oracle.parse(_856()).sets
    hls = oracle.records(st, "HL")
    assert [(h["HL01"], h.get("HL02"), h["HL03"]) for h in hls] == [
        ("1", None, "S"),
        ("2", "1", "O"),
        ("3", "2", "I"),
        ("4", "2", "I"),
        ("5", "2", "I"),
    ]
    assert [m["MAN02"] for m in oracle.records(st, "MAN")] == [ev.SSCC, ev.SSCC_2, ev.SSCC_2]
    assert oracle.records(st, "PRF")[0]["PRF01"] == "PO-778812"
    assert [lin["LIN05"] for lin in oracle.records(st, "LIN")] == [ev.GTIN, ev.GTIN, ev.GTIN_2]
    (ctt,) = oracle.records(st, "CTT")
    shipped = sum(Decimal(s["SN102"]) for s in oracle.records(st, "SN1"))
    assert (ctt["CTT01"], Decimal(ctt["CTT02"])) == ("5", shipped) == ("5", Decimal(30))
    (bsn,) = oracle.records(st, "BSN")
    assert (bsn["BSN03"], bsn["BSN04"]) == ("20260302", "0805")  # 14:05 UTC in Chicago


def test_945_reports_each_line_ordered_against_shipped() -> None:
    (st,) = oracle.parse(_945()).sets
    w12 = oracle.records(st, "W12")
    assert [(w["W1201"], w["W1202"], w["W1203"], w["W1204"]) for w in w12] == [
        ("CC", "24", "24", "0"),
        ("PR", "10", "6", "4"),
    ]
    assert [n["N902"] for n in oracle.records(st, "N9") if n["N901"] == "LT"] == [
        "L2405A",
        "L2405B",
    ]
    assert oracle.records(st, "W03")[0]["W0301"] == "30"


def test_846_has_on_hand_available_and_committed_per_site_and_item() -> None:
    parsed = oracle.parse(_846())
    by_site = {}
    for st in parsed.sets:
        (n1,) = oracle.records(st, "N1")
        by_site[n1["N104"]] = {
            lin["LIN03"]: {q["QTY01"]: q["QTY02"] for q in oracle.records(lin, "QTY")}
            for lin in oracle.records(st, "LIN")
        }
    assert by_site == {
        "20001": {
            "BOLT-1001-RED": {"17": "120", "33": "84", "02": "36"},
            "WASHER-77-GRN": {"17": "12.5", "33": "-7.5", "02": "20"},
        },
        "20002": {"NUT-2002-BLU": {"17": "40", "33": "40", "02": "0"}},
    }


def test_944_is_the_4010_structure_w07_without_lx() -> None:
    (st,) = oracle.parse(_944()).sets
    (w17,) = oracle.records(st, "W17")
    assert (w17["W1703"], w17["W1704"]) == ("99123", "00020-OP-4711")
    (w07,) = oracle.records(st, "W07")
    assert (w07["W0701"], w07["W0702"], w07["W0705"], w07["W0707"]) == (
        "48",
        "EA",
        "FISH-3003-ICE",
        ev.GTIN,
    )
    assert not oracle.records(st, "LX")


def test_the_same_events_give_the_same_bytes() -> None:
    assert _856() == _856()
    assert _846() == _846()


# --- rejections ------------------------------------------------------------------------------


def _rejected(build: Callable[[], object]) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as caught:
        build()
    return caught.value


def test_a_unit_the_profile_does_not_map_rejects_the_document() -> None:
    order = ev.shipped_order()
    order = replace(order, lines=(ev.placed("1.000", 24, uom="LB"), *order.lines[1:]))
    assert _rejected(lambda: ship_notice(ACME, order)).reason == "unknown_unit"
    received = ev.received(uom="LB")
    assert _rejected(lambda: receipt_advice(NORTHWIND, received)).reason == "unknown_unit"


def test_a_missing_gtin_rejects_only_where_the_partner_requires_one() -> None:
    order = ev.shipped_order()
    order = replace(order, lines=(ev.placed("1.000", 24, gtin=None), *order.lines[1:]))
    rejection = _rejected(lambda: ship_notice(ACME, order))
    assert (rejection.reason, rejection.detail) == (
        "missing_gtin",
        "item 'BOLT-1001-RED' has no GTIN and acme-retail needs one",
    )
    cold = ev.shipped_order(site=ev.COLD_SITE)
    cold = replace(
        cold, lines=(ev.placed("1.000", 24, gtin=None, site=ev.COLD_SITE), *cold.lines[1:])
    )
    assert shipping_advice(NORTHWIND, cold).lines[0].gtin is None


def test_a_site_or_item_out_of_scope_rejects_the_document() -> None:
    cold = ev.shipped_order(site=ev.COLD_SITE)
    assert _rejected(lambda: ship_notice(ACME, cold)).reason == "site_out_of_scope"
    narrow = PartnerProfile.model_validate(
        ACME.model_dump() | {"items": frozenset({"NUT-2002-BLU"})}
    )
    assert _rejected(lambda: ship_notice(narrow, ev.shipped_order())).reason == "item_out_of_scope"
    assert _rejected(lambda: receipt_advice(ACME, ev.received())).reason == "document_not_enabled"


def test_values_the_segments_cannot_hold_reject_the_document() -> None:
    order = ev.shipped_order()
    long_po = replace(
        order, dispatched=order.dispatched.model_copy(update={"shipment_id": "S" * 31})
    )
    assert _rejected(
        lambda: write_856(ACME, long_po, control=ev.CONTROL, at=ev.CREATED)
    ).reason == ("value_too_long")
    starred = replace(order, lines=(ev.placed("1.000", 24, item="BOLT*1"), *order.lines[1:]))
    starred = replace(starred, picks=(ev.picked("1.000", 24, item="BOLT*1"),))
    rejection = _rejected(lambda: write_856(ACME, starred, control=ev.CONTROL, at=ev.CREATED))
    assert rejection.reason == "value_not_writable"
    assert "LIN03" in rejection.detail


def test_an_order_without_picks_or_with_a_stray_pick_is_rejected() -> None:
    order = ev.shipped_order()
    assert _rejected(lambda: ship_notice(ACME, replace(order, picks=()))).reason == (
        "nothing_shipped"
    )
    stray = replace(order, picks=(*order.picks, ev.picked("9.000", 1)))
    assert _rejected(lambda: ship_notice(ACME, stray)).reason == "pick_without_line"


def test_846_outside_the_partners_scope_is_nothing_to_advise() -> None:
    only_cold = [ev.position("NOT-OURS", 5, 0, site="30001")]
    assert _rejected(lambda: inventory_advice(ACME, only_cold, reference="R")).reason == (
        "nothing_to_advise"
    )
    no_gtin = [ev.position("BOLT-1001-RED", 5, 0, site="20001", gtin=None)]
    assert _rejected(lambda: inventory_advice(ACME, no_gtin, reference="R")).reason == (
        "missing_gtin"
    )


def test_a_shipped_order_is_the_input_of_both_856_and_945() -> None:
    order: ShippedOrder = ev.shipped_order(site=ev.COLD_SITE)
    advice = shipping_advice(NORTHWIND, order)
    assert [line.shipped for line in advice.lines] == [Decimal(24), Decimal(6)]
