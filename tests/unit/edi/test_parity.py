"""Parity: the stream's documents (``edi``'s writer) against the batch's (``legacy_sim``'s),
compared record by record and each difference classified: timing, batch defect, unexplained."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from edi.documents import write_856
from edi.parity import Commit, Difference, Parity, compare, summarize
from legacy_sim.batch.documents import BinRow, ItemMaster, ReceiptRow

from . import events as ev
from . import paritydata as pd

ALL = frozenset(
    {
        "stage_lanes_excluded",
        "bins_read_after_book",
        "ordered_in_order_unit",
        "gtin_not_enforced",
        "missed_late_commit",
        "reversed_receipt_dropped",
    }
)


def run(
    stream: dict[str, bytes] | None = None,
    *,
    commits: tuple[Commit, ...] = (),
    defects: frozenset[str] = pd.NONE,
    problems: tuple[tuple[Any, str, str], ...] = (),
    **changes: Any,
) -> Parity:
    files, manifest, _ = pd.batch_side(defects, **changes)
    return compare(
        pd.to_records(files),
        pd.to_records(pd.stream_files() if stream is None else stream),
        manifest=manifest,
        commits=commits,
        problems=problems,
    )


def shipment_856(shipment_id: str, **dispatched: Any) -> bytes:
    order = pd.shipped()
    order = replace(
        order,
        dispatched=order.dispatched.model_copy(update={"shipment_id": shipment_id, **dispatched}),
    )
    return write_856(pd.ACME, order, control=ev.CONTROL, at=ev.CREATED)


def ship(shipment_id: str, at: datetime) -> Commit:
    return Commit(at=at, kind="ship", origins=frozenset({f"shipment:{shipment_id}"}))


def change(subject: str, at: datetime, kind: str = "ship") -> Commit:
    return Commit(at=at, kind=kind, subjects=frozenset({subject}))


def diff(parity: Parity, **match: Any) -> Difference:
    (found,) = pd.only(parity.differences, **match)
    return found  # type: ignore[no-any-return]


BOLT = "inventory:20001|BOLT-1001-RED"


# --- the same facts, two implementations -------------------------------------------------------


def test_the_same_facts_written_by_the_stream_and_the_batch_have_no_difference() -> None:
    parity = run()
    assert parity.differences == ()
    assert {d: (c.batch, c.stream, c.matched) for d, c in parity.counts.items()} == {
        "846": (3, 3, 3),
        "856": (1, 1, 1),
        "944": (1, 1, 1),
        "945": (1, 1, 1),
    }
    assert parity.counts["856"].records == 1 + 3  # the header and three item lines


# --- timing ------------------------------------------------------------------------------------


def test_a_shipment_only_the_stream_has_committed_after_the_cut_off_is_timing() -> None:
    stream = pd.stream_files() | {"acme-retail/856-2.x12": shipment_856("MB0000888")}
    late = pd.AT + timedelta(seconds=30)
    found = diff(run(stream, commits=(ship("MB0000888", late),)), key="MB0000888")
    assert (found.kind, found.field, found.classification) == (
        "missing_in_batch",
        "(document)",
        "timing",
    )
    assert found.committed_at == late
    assert "after the cut-off" in found.reason


def test_the_same_shipment_committed_before_the_cut_off_is_unexplained() -> None:
    stream = pd.stream_files() | {"acme-retail/856-2.x12": shipment_856("MB0000888")}
    early = pd.AT - timedelta(minutes=5)
    found = diff(run(stream, commits=(ship("MB0000888", early),)), key="MB0000888")
    assert found.classification == "unexplained"
    assert "no defect says why" in found.reason
    # Without a ledger fact the document's own date puts it in the window: unexplained too.
    assert diff(run(stream), key="MB0000888").classification == "unexplained"


def test_stream_documents_from_before_the_window_are_not_compared() -> None:
    stream = pd.stream_files() | {"acme-retail/856-2.x12": shipment_856("MB0000001")}
    old = pd.SINCE - timedelta(hours=1)
    parity = run(stream, commits=(ship("MB0000001", old),))
    assert parity.differences == ()
    assert parity.out_of_window == 1


def test_an_846_quantity_changed_between_the_two_reads_is_timing() -> None:
    book = dict(pd.extract().book)
    book[("20001", "BOLT-1001-RED")] = replace(
        book[("20001", "BOLT-1001-RED")], on_hand=Decimal(108)
    )
    commit = change(BOLT, pd.AT + timedelta(milliseconds=500))
    parity = run(commits=(commit,), book=book)
    for field in ("QTY17", "QTY33"):
        found = diff(parity, document="846", field=field)
        assert (found.classification, found.committed_at) == ("timing", commit.at)
        assert "after the cut-off" in found.reason
    # A change before the stream's advice explains nothing: both sides saw it.
    before = change(BOLT, pd.ADVICE_AT - timedelta(minutes=1))
    assert {d.classification for d in run(commits=(before,), book=book).differences} == {
        "unexplained"
    }


# --- known batch defects -----------------------------------------------------------------------


def test_stage_lanes_excluded_explains_exactly_what_it_moved() -> None:
    bins = dict(pd.extract().bins) | {("20001", "BOLT-1001-RED"): BinRow(Decimal(120), Decimal(12))}
    parity = run(defects=frozenset({"stage_lanes_excluded"}), bins=bins)
    assert [
        (d.field, d.batch, d.stream, d.classification, d.defect) for d in parity.differences
    ] == [
        ("QTY17", "108", "120", "batch_defect", "stage_lanes_excluded"),
        ("QTY33", "72", "84", "batch_defect", "stage_lanes_excluded"),
    ]
    assert parity.explains == {"stage_lanes_excluded": 2}


def test_what_a_defect_does_not_account_for_goes_on_to_timing_or_unexplained() -> None:
    bins = dict(pd.extract().bins) | {("20001", "BOLT-1001-RED"): BinRow(Decimal(120), Decimal(12))}
    book = dict(pd.extract().book)
    book[("20001", "BOLT-1001-RED")] = replace(
        book[("20001", "BOLT-1001-RED")], on_hand=Decimal(117)
    )
    bins[("20001", "BOLT-1001-RED")] = BinRow(Decimal(117), Decimal(12))
    unexplained = diff(
        run(defects=frozenset({"stage_lanes_excluded"}), bins=bins, book=book), field="QTY17"
    )
    assert unexplained.classification == "unexplained"
    assert "stage_lanes_excluded account for -12 of it, -3 is left" in unexplained.reason
    commit = change(BOLT, pd.READ.started - timedelta(milliseconds=1))
    timing = diff(
        run(defects=frozenset({"stage_lanes_excluded"}), bins=bins, book=book, commits=(commit,)),
        field="QTY17",
    )
    assert timing.classification == "timing"
    assert timing.reason.startswith("stage_lanes_excluded account for -12 of it, -3 is left; ")


def test_ordered_in_order_unit_explains_the_945_ordered_and_difference() -> None:
    parity = run(defects=ALL)
    assert [(d.document, d.line, d.field, d.batch, d.stream) for d in parity.differences] == [
        ("945", ("BOLT-1001-RED",), "difference", "-22", "0"),
        ("945", ("BOLT-1001-RED",), "ordered", "2", "24"),
    ]
    assert {d.classification for d in parity.differences} == {"batch_defect"}


def test_gtin_not_enforced_explains_a_document_the_stream_did_not_send() -> None:
    items = dict(pd.extract().items) | {"NUT-2002-BLU": ItemMaster("NUT-2002-BLU", None, "EA")}
    stream = pd.without(pd.stream_files(), "acme-retail/856-1.x12")
    parity = run(stream, defects=frozenset({"gtin_not_enforced"}), items=items)
    missing = diff(parity, document="856", partner="acme-retail")
    assert (missing.kind, missing.classification, missing.defect) == (
        "missing_in_stream",
        "batch_defect",
        "gtin_not_enforced",
    )
    # The 846 of the site the item is in: written without the GTIN, the whole set explained.
    gtin = diff(parity, document="846", key="20002")
    assert (gtin.field, gtin.classification) == ("gtin", "batch_defect")
    # Northwind does not require a GTIN: the defect is not why its 945 lacks one, so the
    # difference (the stream's events still carry the GTIN) stays unexplained.
    (other,) = pd.only(parity.differences, partner="northwind-depositor")
    assert (other.document, other.field, other.batch, other.stream, other.classification) == (
        "945",
        "gtin",
        "",
        ev.GTIN_2,
        "unexplained",
    )


def test_a_firing_explains_only_what_it_says_not_the_rest_of_its_document() -> None:
    items = dict(pd.extract().items) | {"NUT-2002-BLU": ItemMaster("NUT-2002-BLU", None, "EA")}
    book = dict(pd.extract().book)
    book[("20002", "NUT-2002-BLU")] = replace(book[("20002", "NUT-2002-BLU")], on_hand=Decimal(39))
    parity = run(defects=frozenset({"gtin_not_enforced"}), items=items, book=book)
    found = {
        (d.field, d.classification)
        for d in parity.differences
        if d.document == "846" and d.key == "20002"
    }
    assert found == {
        ("gtin", "batch_defect"),
        ("QTY17", "unexplained"),
        ("QTY33", "unexplained"),
    }


def test_missed_late_commit_explains_a_shipment_only_the_stream_has() -> None:
    late = replace(pd.shipment_row(), shipment_id="MB0000999")
    stream = pd.stream_files() | {"acme-retail/856-2.x12": shipment_856("MB0000999")}
    commit = ship("MB0000999", pd.AT + timedelta(milliseconds=10))
    parity = run(stream, commits=(commit,), defects=ALL, late_shipments=(late,))
    found = diff(parity, key="MB0000999")
    assert (found.classification, found.defect) == ("batch_defect", "missed_late_commit")


def test_reversed_receipt_dropped_explains_a_944_only_the_stream_has() -> None:
    (receipt,) = pd.extract().receipts
    parity = run(defects=ALL, receipts=(replace(receipt, reversed=True),))
    found = diff(parity, document="944")
    assert (found.kind, found.classification) == ("missing_in_batch", "batch_defect")
    assert found.defect == "reversed_receipt_dropped"


def test_a_later_change_to_a_receipt_is_timing() -> None:
    (receipt,) = pd.extract().receipts
    receipts: tuple[ReceiptRow, ...] = (replace(receipt, quantity=Decimal(0)),)
    subject = "receipt:00020-OP-4711/99123"
    commits = (
        Commit(at=ev.T0, kind="receipt", origins=frozenset({subject})),
        change(subject, pd.AT, kind="receipt_reversal"),
    )
    parity = run(commits=commits, receipts=receipts)
    assert {(d.field, d.classification) for d in parity.differences} == {
        ("quantity", "timing"),
        ("units_received", "timing"),
    }
    assert "receipt_reversal" in parity.differences[0].reason


# --- unexplained -------------------------------------------------------------------------------


def test_a_field_that_differs_is_unexplained() -> None:
    stream = pd.stream_files() | {
        "acme-retail/856-1.x12": shipment_856(ev.SHIPMENT, tracking_no="1ZOTHER")
    }
    found = diff(run(stream), field="tracking")
    assert (found.batch, found.stream, found.classification) == (
        "1Z999AA10123456784",
        "1ZOTHER",
        "unexplained",
    )


def test_a_line_on_one_side_only_is_one_difference() -> None:
    row = pd.shipment_row()
    extra = replace(row.picks[2], lot="LEXTRA", case_id=ev.SSCC)
    parity = run(shipments=(replace(row, picks=(*row.picks, extra)), pd.shipment_row(ev.COLD_SITE)))
    found = diff(parity, document="856", field="(line)")
    assert (found.kind, found.line, found.batch) == (
        "missing_in_stream",
        ("NUT-2002-BLU", "LEXTRA", ev.SSCC),
        "quantity 6, unit EA, gtin 00614141000029",
    )


def test_a_document_sent_twice_and_a_file_that_cannot_be_read_are_unexplained() -> None:
    stream = pd.stream_files()
    stream["northwind-depositor/944-2.x12"] = stream["northwind-depositor/944-1.x12"]
    parity = run(stream, problems=(("stream", "acme-retail/bad.x12", "SE01 says 3"),))
    assert sorted((d.kind, d.classification) for d in parity.differences) == [
        ("duplicate", "unexplained"),
        ("unreadable", "unexplained"),
    ]


# --- scope of the stream's 846s ----------------------------------------------------------------


def test_the_stream_846_compared_is_the_latest_at_or_before_the_cut_off() -> None:
    later = pd.stream_files(as_of=pd.AT + timedelta(hours=1))["acme-retail/846-1.x12"]
    earlier = pd.stream_files(as_of=pd.ADVICE_AT - timedelta(hours=1))["acme-retail/846-1.x12"]
    stream = pd.stream_files() | {"acme-retail/846-9.x12": later, "acme-retail/846-0.x12": earlier}
    book = dict(pd.extract().book)
    book[("20001", "BOLT-1001-RED")] = replace(book[("20001", "BOLT-1001-RED")], on_hand=Decimal(1))
    parity = run(stream, book=book)
    assert parity.superseded == 4  # two later and two earlier sets (two sites each)
    assert {d.files[1] for d in parity.differences} == {"acme-retail/846-1.x12"}
    # With only later advices, the earliest after the cut-off is compared.
    only_later = pd.without(stream, "acme-retail/846-1.x12", "acme-retail/846-0.x12")
    assert {d.files[1] for d in run(only_later, book=book).differences} == {"acme-retail/846-9.x12"}


def test_a_missing_846_line_is_no_stock() -> None:
    book = dict(pd.extract().book) | {
        ("20001", "NEW-1"): pd.extract().book[("20002", "NUT-2002-BLU")]
    }
    bins = dict(pd.extract().bins) | {("20001", "ZERO-1"): BinRow(Decimal(0), Decimal(0))}
    items = dict(pd.extract().items) | {
        "NEW-1": ItemMaster("NEW-1", ev.GTIN, "EA"),
        "ZERO-1": ItemMaster("ZERO-1", ev.GTIN, "EA"),
    }
    parity = run(book=book, bins=bins, items=items)
    assert [(d.line, d.field, d.batch, d.stream) for d in parity.differences] == [
        (("NEW-1",), "QTY17", "40", "0"),
        (("NEW-1",), "QTY33", "40", "0"),
    ]


# --- the summary -------------------------------------------------------------------------------


def test_the_summary_fails_on_an_unexplained_difference_only() -> None:
    bins = dict(pd.extract().bins) | {("20001", "BOLT-1001-RED"): BinRow(Decimal(120), Decimal(12))}
    _, manifest, _ = pd.batch_side(ALL, bins=bins)
    ok = summarize(
        run(defects=ALL, bins=bins), manifest, generated_at=pd.AT, batch_dir="b", stream_dir="s"
    )
    assert ok["verdict"] == "pass"
    assert ok["totals"]["batch_defect"] == 4
    assert ok["totals"]["unexplained"] == 0
    defects = {d["name"]: (d["enabled"], d["fired"], d["explains"]) for d in ok["defects"]}
    assert defects["stage_lanes_excluded"] == (True, 1, 2)
    assert defects["ordered_in_order_unit"] == (True, 1, 2)
    stream = pd.stream_files() | {"acme-retail/856-2.x12": shipment_856("MB0000888")}
    bad = summarize(run(stream), manifest, generated_at=pd.AT, batch_dir="b", stream_dir="s")
    assert bad["verdict"] == "fail"
    assert bad["differences"][0]["classification"] == "unexplained"
    assert bad["documents"][1] == {
        "document": "856",
        "batch": 1,
        "stream": 2,
        "matched": 1,
        "records": 4,
        "unexplained": 1,
        "batch_defect": 0,
        "timing": 0,
    }
