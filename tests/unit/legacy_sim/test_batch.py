"""The legacy batch's pure core: partners, its own X12 writer, the documents and each defect.

Files are checked by the independent parser (Bots grammars, strict): envelope, counts,
segment order and element lengths. Each defect is shown firing where it should, recording the
record and amount the parity report needs, and not firing (the job doing the right thing
instead) when switched off.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from legacy_sim.batch import x12
from legacy_sim.batch.defects import DEFECTS, Firing
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
    control_base,
)
from legacy_sim.batch.job import BatchOptions, manifest_of, write
from legacy_sim.batch.partners import Partner, load_partners
from legacy_sim.errors import SimConfigError

from ..edi import oracle

PARTNERS_DIR = Path(__file__).parents[3] / "edi" / "partners"
PARTNERS = {p.partner_id: p for p in load_partners(PARTNERS_DIR)}
ACME = PARTNERS["acme-retail"]
NORTHWIND = PARTNERS["northwind-depositor"]
AT = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
SINCE = AT - timedelta(hours=24)
SHIPPED = datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC)
NONE: frozenset[str] = frozenset()
ALL = frozenset(DEFECTS)
GTIN = "00614141000012"
GTIN_2 = "00614141000029"


def shipment(site: str = "20001", *, shipment_id: str = "MB0000777") -> ShipmentRow:
    return ShipmentRow(
        shipment_id=shipment_id,
        order_id="00020-SO-12345",
        order_key="0000123456",
        site_id=site,
        shipped_at=SHIPPED,
        ship_to="4712",
        customer_po="PO-778812",
        load_id="LD00042",
        tracking_no="1Z999AA10123456784",
        lines=(
            OrderLineRow("1.000", "BOLT-1001-RED", Decimal(2), "CA", Decimal(12)),
            OrderLineRow("2.000", "NUT-2002-BLU", Decimal(10), "EA", Decimal(1)),
        ),
        picks=(
            PickRow("1.000", "BOLT-1001-RED", "L2405A", "006141410000000013", Decimal(12)),
            PickRow("1.000", "BOLT-1001-RED", "L2405B", "006141410000000020", Decimal(12)),
            PickRow("2.000", "NUT-2002-BLU", None, "006141410000000020", Decimal(6)),
        ),
    )


def extract(**changes: object) -> Extract:
    found = Extract(
        at=AT,
        since=SINCE,
        items={
            "BOLT-1001-RED": ItemMaster("BOLT-1001-RED", GTIN, "EA"),
            "NUT-2002-BLU": ItemMaster("NUT-2002-BLU", GTIN_2, "EA"),
            "FISH-3003-ICE": ItemMaster("FISH-3003-ICE", None, "EA"),
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
        shipments=(shipment(), shipment("30001", shipment_id="MB0000778")),
        receipts=(
            ReceiptRow(
                receipt_id="00020-OP-4711/1.000/1/99123",
                receiver="99123",
                po_id="00020-OP-4711",
                site_id="30001",
                item_id="FISH-3003-ICE",
                lot="0000045001",
                quantity=Decimal(48),
                received_at=SHIPPED,
            ),
        ),
        reads={"erp_book": Read(AT, AT + timedelta(seconds=1))},
    )
    return replace(found, **changes)  # type: ignore[arg-type]


def files(batch_defects: frozenset[str] = NONE, **changes: object) -> dict[tuple[str, str], bytes]:
    batch = build(extract(**changes), PARTNERS.values(), batch_defects)
    return {(f.partner, f.document): f.data for f in batch.files}


def fired(batch_defects: frozenset[str], **changes: object) -> list[Firing]:
    return list(build(extract(**changes), PARTNERS.values(), batch_defects).firings)


# --- partners ---------------------------------------------------------------------------------


def test_partners_are_read_from_the_stream_s_profiles() -> None:
    assert (ACME.sender_id, ACME.receiver_qualifier, ACME.receiver_id) == (
        "SCVDISTRIB",
        "01",
        "007654321",
    )
    assert ACME.documents == {"846", "856"}
    assert ACME.require_gtin
    assert (NORTHWIND.element, NORTHWIND.component, NORTHWIND.line_break) == ("|", "^", False)
    assert NORTHWIND.unit("CA") == "CS"
    assert NORTHWIND.unit("LB") == "LB"
    assert NORTHWIND.sites == {"30001": "Newark Cold DC"}


def test_an_unusable_partner_file_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text((PARTNERS_DIR / "acme-retail.yaml").read_text())
    (tmp_path / "bad.yaml").write_text("partner_id: bad\ndocuments: [846]\n")
    with pytest.raises(SimConfigError, match=r"bad\.yaml: missing key interchange"):
        load_partners(tmp_path)
    with pytest.raises(SimConfigError, match="no such directory"):
        load_partners(tmp_path / "nope")


# --- the writer -------------------------------------------------------------------------------


def test_quantities_are_written_as_x12_r_values() -> None:
    assert [x12.qty(Decimal(v)) for v in ("12.500", "1E+2", "-0", "0.00", "-7.50")] == [
        "12.5",
        "100",
        "0",
        "0",
        "-7.5",
    ]


def test_the_writer_cleans_separators_out_of_values_and_keeps_the_isa_fixed() -> None:
    data = x12.interchange(
        ACME, "856", [[("BSN", "00", "A*B~C", "20260302")]], control=7, at=AT
    ).decode()
    assert data.index("~") == 105
    assert len(data.splitlines()[0]) == 106
    assert "BSN*00*A B C*20260302~" in data
    with pytest.raises(SimConfigError):
        x12.interchange(ACME, "856", [], control=7, at=AT)


# --- documents --------------------------------------------------------------------------------


def test_each_partner_gets_one_interchange_per_document_that_bots_accepts() -> None:
    written = files()
    assert sorted(written) == [
        ("acme-retail", "846"),
        ("acme-retail", "856"),
        ("northwind-depositor", "846"),
        ("northwind-depositor", "944"),
        ("northwind-depositor", "945"),
    ]
    for data in written.values():
        parsed = oracle.parse(data)
        assert parsed.iea["IEA02"] == parsed.isa["ISA13"]
        assert int(parsed.ge["GE01"]) == len(parsed.sets)
        for tset in parsed.sets:
            assert int(oracle.records(tset, "SE")[0]["SE01"]) == oracle.segment_count(tset)


def test_control_numbers_come_from_the_cut_off() -> None:
    batch = build(extract(), PARTNERS.values(), NONE)
    base = control_base(AT)
    assert base == 260610000
    assert [f.control for f in batch.files] == [base + n for n in range(1, 6)]
    assert build(extract(), PARTNERS.values(), NONE) == batch  # deterministic


def test_the_846_is_one_set_per_site_with_on_hand_available_committed() -> None:
    text = files()[("acme-retail", "846")].decode()
    assert "N1*WH*Chicago DC*91*20001~" in text
    assert "N1*WH*Reno DC*91*20002~" in text
    assert "LIN**VN*BOLT-1001-RED*UK*00614141000012~\nQTY*17*120*EA~\nQTY*33*84*EA~" in text
    assert "QTY*02*36*EA~" in text
    assert "BIA*00*DD*NIGHTLY-846-202603022300*20260302*1700~" in text  # Chicago time
    assert "30001" not in text  # not ACME's site


def test_the_856_and_945_carry_the_shipment_as_the_stream_writes_it() -> None:
    acme_856 = files()[("acme-retail", "856")].decode()
    assert "BSN*00*MB0000777*20260302*0805*0004~" in acme_856
    assert "LIN**VN*BOLT-1001-RED*UK*00614141000012*LT*L2405A~\nSN1**12*EA~" in acme_856
    assert "CTT*5*30~" in acme_856
    nw_945 = files()[("northwind-depositor", "945")].decode()
    assert "W06|F|00020-SO-12345|20260302|MB0000778|0000123456|PO-778812~" in nw_945
    assert "W12|CC|24|24|0|EA||VN|BOLT-1001-RED|||||||||||||UK|00614141000012~" in nw_945
    assert "W12|PR|10|6|4|EA||VN|NUT-2002-BLU|||||||||||||UK|00614141000029~W03|30~" in nw_945


def test_the_944_is_one_set_per_receipt_line() -> None:
    text = files()[("northwind-depositor", "944")].decode()
    assert "W17|F|20260302|99123|00020-OP-4711~" in text
    assert "N9|RV|00020-OP-4711/1.000/1/99123~W07|48|EA||VN|FISH-3003-ICE~" in text


# --- defects ----------------------------------------------------------------------------------


def test_stage_lanes_excluded_lowers_on_hand_by_what_is_picked() -> None:
    bins = dict(extract().bins) | {("20001", "BOLT-1001-RED"): BinRow(Decimal(120), Decimal(12))}
    text = files(frozenset({"stage_lanes_excluded"}), bins=bins)[("acme-retail", "846")].decode()
    assert "QTY*17*108*EA~\nQTY*33*72*EA~\nQTY*02*36*EA~" in text
    (firing,) = fired(frozenset({"stage_lanes_excluded"}), bins=bins)
    assert (firing.document, firing.partner, firing.key, firing.line) == (
        "846",
        "acme-retail",
        "20001",
        ("BOLT-1001-RED",),
    )
    assert firing.scope == "fields"
    assert firing.effects == {"QTY17": Decimal(-12), "QTY33": Decimal(-12)}
    assert "QTY*17*120*EA~" in files(NONE, bins=bins)[("acme-retail", "846")].decode()


def test_bins_read_after_book_takes_on_hand_from_the_bins_and_says_by_how_much() -> None:
    bins = dict(extract().bins) | {("20001", "BOLT-1001-RED"): BinRow(Decimal(110), Decimal(0))}
    on = frozenset({"bins_read_after_book"})
    assert "QTY*17*110*EA~\nQTY*33*74*EA~" in files(on, bins=bins)[("acme-retail", "846")].decode()
    (firing,) = fired(on, bins=bins)
    assert firing.effects == {"QTY17": Decimal(-10), "QTY33": Decimal(-10)}
    assert fired(on) == []  # book and bins agree: nothing to record
    assert "QTY*17*120*EA~" in files(NONE, bins=bins)[("acme-retail", "846")].decode()


def test_ordered_in_order_unit_writes_cases_against_shipped_eaches() -> None:
    on = frozenset({"ordered_in_order_unit"})
    text = files(on)[("northwind-depositor", "945")].decode()
    assert "W12|CC|2|24|-22|EA||VN|BOLT-1001-RED" in text
    (firing,) = fired(on)
    assert (firing.document, firing.key, firing.line) == ("945", "MB0000778", ("BOLT-1001-RED",))
    assert firing.fields == ("ordered", "difference", "status")
    assert firing.effects == {"ordered": Decimal(-22), "difference": Decimal(-22)}


def test_gtin_not_enforced_sends_what_the_stream_refuses() -> None:
    items = dict(extract().items) | {"NUT-2002-BLU": ItemMaster("NUT-2002-BLU", None, "EA")}
    on = frozenset({"gtin_not_enforced"})
    text = files(on, items=items)[("acme-retail", "856")].decode()
    assert "LIN**VN*NUT-2002-BLU~" in text
    keys = sorted((f.document, f.key, f.scope, f.line, f.fields) for f in fired(on, items=items))
    assert keys == [
        ("846", "20002", "fields", ("NUT-2002-BLU",), ("gtin",)),
        ("846", "20002", "presence", None, ()),
        ("856", "MB0000777", "fields", ("NUT-2002-BLU", "", "006141410000000020"), ("gtin",)),
        ("856", "MB0000777", "presence", None, ()),
    ]
    # Switched off, the documents holding the item are left out, as the stream leaves them.
    off = files(NONE, items=items)
    assert ("acme-retail", "856") not in off
    assert "Reno DC" not in off[("acme-retail", "846")].decode()
    # The northwind profile does not require a GTIN: nothing fires for its cold item.
    assert all(f.partner == "acme-retail" for f in fired(on, items=items))


def test_missed_late_commit_records_what_the_control_query_found() -> None:
    late = (shipment(shipment_id="MB0000999"),)
    on = frozenset({"missed_late_commit"})
    (firing,) = fired(on, late_shipments=late)
    assert (firing.document, firing.partner, firing.key) == ("856", "acme-retail", "MB0000999")
    assert "never sent" in firing.detail
    assert b"MB0000999" not in files(on, late_shipments=late)[("acme-retail", "856")]
    # Switched off, the job sends what its control query found.
    assert b"MB0000999" in files(NONE, late_shipments=late)[("acme-retail", "856")]


def test_reversed_receipt_dropped_leaves_a_reversed_receipt_unadvised() -> None:
    (receipt,) = extract().receipts
    receipts = (replace(receipt, reversed=True),)
    on = frozenset({"reversed_receipt_dropped"})
    assert ("northwind-depositor", "944") not in files(on, receipts=receipts)
    (firing,) = fired(on, receipts=receipts)
    assert (firing.document, firing.key) == ("944", "00020-OP-4711/1.000/1/99123")
    assert ("northwind-depositor", "944") in files(NONE, receipts=receipts)


def test_with_every_defect_off_nothing_fires() -> None:
    items = dict(extract().items) | {"NUT-2002-BLU": ItemMaster("NUT-2002-BLU", None, "EA")}
    bins = {k: BinRow(v.qty - 1, Decimal(3)) for k, v in extract().bins.items()}
    assert fired(NONE, items=items, bins=bins, late_shipments=(shipment(),)) == []


# --- manifest and options ---------------------------------------------------------------------


def test_the_manifest_lists_reads_files_defects_and_firings(tmp_path: Path) -> None:
    bins = dict(extract().bins) | {("20001", "BOLT-1001-RED"): BinRow(Decimal(120), Decimal(12))}
    found = extract(bins=bins)
    batch = build(found, PARTNERS.values(), ALL)
    options = BatchOptions(at=AT, since=SINCE, out_dir=tmp_path / "out", partners_dir=PARTNERS_DIR)
    path = write(tmp_path / "out", batch, found, options, started=AT, finished=AT)
    manifest = json.loads(path.read_text())
    assert manifest["format"] == "scv-batch-manifest/1"
    assert manifest["at"] == "2026-03-02T23:00:00Z"
    assert manifest["observed"]["846"]["started"] == "2026-03-02T23:00:00Z"
    assert manifest["defects"]["stage_lanes_excluded"] == {
        "enabled": True,
        "fired": 1,
        "what": DEFECTS["stage_lanes_excluded"],
    }
    assert manifest["fired"][0]["effects"] == {"QTY17": "-12", "QTY33": "-12"}
    for entry in manifest["files"]:
        assert (tmp_path / "out" / entry["path"]).read_bytes().startswith(b"ISA")
    assert (
        manifest_of(batch, found, NONE, started=AT, finished=AT)["defects"]["stage_lanes_excluded"][
            "enabled"
        ]
        is False
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"at": AT + timedelta(hours=1)}, "in the future"),
        ({"since": AT}, "--since must be before --at"),
        ({"at": AT.replace(tzinfo=None)}, "must carry a time zone"),
        ({"defects": frozenset({"nope"})}, "unknown defects"),
    ],
)
def test_options_refuse_user_mistakes(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    options = replace(
        BatchOptions(at=AT, since=SINCE, out_dir=tmp_path / "new", partners_dir=PARTNERS_DIR),
        **change,  # type: ignore[arg-type]
    )
    with pytest.raises(SimConfigError, match=message):
        options.validate(AT)


def test_options_refuse_a_directory_with_files_in_it(tmp_path: Path) -> None:
    (tmp_path / "old.x12").write_text("x")
    options = BatchOptions(at=AT, since=SINCE, out_dir=tmp_path, partners_dir=PARTNERS_DIR)
    with pytest.raises(SimConfigError, match="not an empty directory"):
        options.validate(AT)
    BatchOptions(at=AT, since=SINCE, out_dir=tmp_path / "n", partners_dir=PARTNERS_DIR).validate(AT)


def test_partner_profile_is_a_plain_value() -> None:
    assert isinstance(ACME, Partner)
    assert ACME.covers("856", "20001")
    assert not ACME.covers("945", "20001")
