"""Every mapper on real Debezium envelopes: fixture → expected outcome (golden JSON).

Table-driven over ``tests/fixtures/debezium/<erp|wms>/<table>/<case>.json``: the synthetic rows
``scv connectors record`` wrote (``c``, ``u``, ``r``, ``d``, ``tombstone``, made-up contents)
and the simulator's business cases ``scripts/capture_sim_envelopes.py`` captured. Each case
runs through ``transforms.pipeline.process`` (envelope → mapper, the runner's own core) with
the reference state the business-case fixtures of the reference tables build (items, UoM
conversions, locations, the WMS order), the way the runner maps reference tables first. The
outcome (events in their Kafka form, state updates, or why it was skipped or quarantined) is
compared with ``<case>.expected.json`` next to the fixture.

Regenerate the golden files with ``SCV_REGEN_GOLDEN=1 .venv/bin/pytest tests/unit/transforms/
test_mappers.py`` and review the diff against the quirk rules (research note §3.3); the
``test_quirk_*`` tests below pin the rules with numbers worked out by hand from the envelopes.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from transforms.envelope import parse_change_event
from transforms.events import CanonicalEvent, from_json, to_kafka
from transforms.pipeline import Emit, Outcome, Quarantine, RawMessage, Skip, process
from transforms.reference import Reference, StateStore
from transforms.registry import default_registry

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"
REGEN = os.environ.get("SCV_REGEN_GOLDEN") == "1"
#: The simulator's F0006: business unit / WMS facility → IANA zone.
SITE_ZONES = {
    "20001": "America/Chicago",
    "20002": "America/Los_Angeles",
    "30001": "America/New_York",
}
#: Reference tables, mapped first (the runner's order), and the fixtures that build the state:
#: the captured business cases only (the recorder's synthetic rows are not that world's).
REFERENCE_TABLES = (("erp", "f4101"), ("erp", "f41002"), ("wms", "LOC"), ("wms", "ORDERS"))
SYNTHETIC = frozenset({"c", "u", "r", "d", "tombstone"})
REGISTRY = default_registry()


def raw_fixture(path: Path) -> RawMessage:
    """A recorded envelope file as the runner would have read it from its topic."""
    record = orjson.loads(path.read_bytes())
    key, value = record["key"], record["value"]
    return RawMessage(
        topic=record["topic"],
        partition=record["partition"],
        offset=record["offset"],
        key=None if key is None else key.encode(),
        value=None if value is None else value.encode(),
    )


def _cases() -> list[Path]:
    return sorted(
        path
        for system in ("erp", "wms")
        for path in (FIXTURES / system).glob("*/*.json")
        if not path.parent.name.startswith("_") and not path.name.endswith(".expected.json")
    )


def _reference_fixtures(leave_out: Path | None = None) -> list[Path]:
    return [
        path
        for system, table in REFERENCE_TABLES
        for path in sorted((FIXTURES / system / table).glob("*.json"))
        if path.stem not in SYNTHETIC
        and not path.name.endswith(".expected.json")
        and path != leave_out
    ]


def reference(leave_out: Path | None = None) -> Reference:
    """The reference state of the captured world (without ``leave_out`` itself)."""
    store = StateStore()
    ref = Reference(store, SITE_ZONES)
    for path in _reference_fixtures(leave_out):
        outcome = process(raw_fixture(path), REGISTRY, ref)
        assert isinstance(outcome, Emit), f"{path.name}: {outcome}"
        for update in outcome.state:
            store.apply(update)
        store.commit()
    return ref


def run(path: Path) -> Outcome:
    return process(raw_fixture(path), REGISTRY, reference(leave_out=path))


def _golden(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Skip):
        return {"skip": outcome.reason}
    if isinstance(outcome, Quarantine):
        return {"quarantine": {"stage": outcome.stage, "reason": outcome.reason}}
    records = [to_kafka(event) for event in outcome.events]
    for event, record in zip(outcome.events, records, strict=True):
        # The fast serializer writes exactly what orjson writes of the plain JSON dump.
        assert record.value == orjson.dumps(event.model_dump(mode="json"))
    return {
        "events": [
            {"topic": r.topic, "key": r.key.decode(), "value": orjson.loads(r.value)}
            for r in records
        ],
        "state": [{"key": u.key, "value": u.value} for u in outcome.state],
    }


def _name(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", _cases(), ids=_name)
def test_fixture_maps_to_its_golden_outcome(path: Path) -> None:
    got = _golden(run(path))
    expected_path = path.with_suffix(".expected.json")
    if REGEN:
        expected_path.write_bytes(
            orjson.dumps(got, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
    assert expected_path.exists(), f"no golden file: regenerate with SCV_REGEN_GOLDEN=1 ({path})"
    assert got == orjson.loads(expected_path.read_bytes())


def test_every_mapped_table_has_business_cases_and_every_op() -> None:
    tables = {(m.system, m.table) for m in REGISTRY}
    for system, table in tables:
        names = {p.stem for p in (FIXTURES / system / table).glob("*.json")}
        assert names >= SYNTHETIC, f"{system}/{table}: recorder fixtures missing"


# -- the quirks of §3.3, worked out by hand from the envelopes ---------------------------------


def _events(system: str, table: str, case: str) -> list[CanonicalEvent]:
    outcome = run(FIXTURES / system / table / f"{case}.json")
    assert isinstance(outcome, Emit), outcome
    return [from_json(to_kafka(e).value) for e in outcome.events]


def _after(system: str, table: str, case: str) -> dict[str, Any]:
    change = parse_change_event(raw_fixture(FIXTURES / system / table / f"{case}.json").value)
    assert change is not None
    return dict(change.row)


def _skipped(system: str, table: str, case: str) -> str:
    outcome = run(FIXTURES / system / table / f"{case}.json")
    assert isinstance(outcome, Skip), outcome
    return outcome.reason


def test_quirk_case_line_julian_hhmmss_implied_decimals_uom_composite_key() -> None:
    """f4211 c-case: ``       20001`` line 1000 of SO 10617, 400 CA of item 60057 at 1086.84 USD.

    400 → 4.00 CA (x100); CA→EA 120000000 → 12 (x10^7), so 48 EA; sdtrdj 126331 → 2026 day
    331 = 27 Nov; sdupmj/sdtday 126331/54601 → 05:46:01 Chicago (CST) = 11:46:01Z.
    """
    row = _after("erp", "f4211", "c-case")
    assert (row["sdmcu"], row["sduorg"], row["sduom"]) == ("       20001", "400", "CA")
    (placed,) = _events("erp", "f4211", "c-case")
    assert placed.event_type == "order.placed"
    dumped = placed.model_dump()
    assert (dumped["order_id"], dumped["line_id"]) == ("00020-SO-10617", "00020-SO-10617/1.000")
    assert placed.site_id == "20001"
    assert (dumped["quantity"], dumped["base_uom"]) == (Decimal(48), "EA")
    assert dumped["original"] == {"value": Decimal("4.00"), "uom": "CA"}
    assert dumped["unit_price"] == Decimal("1086.84")
    assert dumped["item_id"] == "IRIS-1057-GRN"  # imlitm without its CHAR(25) padding
    assert dumped["order_date"] == date(2026, 11, 27)
    assert dumped["promised_delivery_date"] == date(2026, 12, 1)
    assert placed.occurred_at == datetime(2026, 11, 27, 11, 46, 1, tzinfo=UTC)
    assert placed.occurred_tz_offset == "-06:00"


def test_quirk_site_zones_east_and_west() -> None:
    """The same wall-clock minute read in New York (-05:00) and Los Angeles (-08:00)."""
    (cancelled,) = _events("erp", "f4211", "u-cancel")  # 30001, tday 64601 → 06:46:01 EST
    assert (cancelled.event_type, cancelled.occurred_tz_offset) == ("order.cancelled", "-05:00")
    assert cancelled.occurred_at == datetime(2026, 11, 27, 11, 46, 1, tzinfo=UTC)
    assert cancelled.model_dump()["cancelled_quantity"] == Decimal(19)  # sduorg 1900 EA
    (changed,) = _events("erp", "f4211", "u-promise")  # 20002, tday 34601 → 03:46:01 PST
    assert (changed.event_type, changed.occurred_tz_offset) == ("order.line_changed", "-08:00")
    assert changed.occurred_at == datetime(2026, 11, 27, 11, 46, 1, tzinfo=UTC)
    fields = {c["field"] for c in changed.model_dump()["changes"]}
    assert fields == {"sdppdj", "sdrsdj"}  # the audit block changed too, and is not reported


def test_quirk_status_progress_and_audit_only_updates_are_no_events() -> None:
    assert _skipped("erp", "f4211", "u-release") == "no business change"
    assert _skipped("erp", "f4211", "u-ship") == "no business change"
    assert _skipped("erp", "f4311", "u-receipt") == "no business change"
    assert _skipped("wms", "LOTxLOCxID", "u-trafficcop") == "no business change"


def test_quirk_archive_move_is_not_a_cancellation() -> None:
    row = _after("erp", "f4211", "d-purge")
    assert "999" in (row["sdlttr"].strip(), row["sdnxtr"].strip())
    assert _skipped("erp", "f4211", "d-purge") == "no business change"
    assert _skipped("erp", "f42119", "c-purge") == "no business change"


def test_quirk_pk_changing_receipt_update_is_one_reversal() -> None:
    """f43121 prmatc 1 → 4 of PO 4776 line 1: DELETE(1) maps to nothing, CREATE(4) reverses."""
    assert _after("erp", "f43121", "d-reversal")["prmatc"].strip() == "1"
    assert _skipped("erp", "f43121", "d-reversal") == "no business change"
    (reversed_,) = _events("erp", "f43121", "c-reversal")
    dumped = reversed_.model_dump()
    assert reversed_.event_type == "receipt.reversed"
    assert dumped["receipt_id"] == "00020-OP-4776/1.000/1/80078"
    # prurec 500 → 5.00 CA, CA→EA 12: 60 EA
    assert (dumped["quantity"], dumped["original"]["value"]) == (Decimal(60), Decimal("5.00"))


def test_quirk_receipt_converted_to_base_unit_keeps_the_original() -> None:
    (received,) = _events("erp", "f43121", "c-receipt")
    dumped = received.model_dump()
    # prurec 3100 → 31.00 CA; item 60032 CA→EA 60000000 → 6: 186 EA; pruopn 0 closes the line
    assert (dumped["quantity"], dumped["base_uom"]) == (Decimal(186), "EA")
    assert dumped["original"] == {"value": Decimal("31.00"), "uom": "CA"}
    assert dumped["open_quantity"] == 0
    assert dumped["received_date"] == date(2026, 11, 27)


def test_quirk_mariadb_local_datetime_is_read_in_the_facility_zone() -> None:
    """Debezium renders DATETIME as millis as if UTC: 1795761961000 is 06:46:01 *Newark time*."""
    row = _after("wms", "ORDERS", "u-shipped")
    assert (row["Facility"], row["EditDate"]) == ("30001", 1795761961000)
    (dispatched,) = _events("wms", "ORDERS", "u-shipped")
    assert dispatched.event_type == "shipment.dispatched"
    assert dispatched.occurred_at == datetime(2026, 11, 27, 11, 46, 1, tzinfo=UTC)
    assert dispatched.occurred_tz_offset == "-05:00"
    (adjusted,) = _events("wms", "ITRN", "c-count")  # 12AA1302 is in 20001 (Chicago)
    assert adjusted.occurred_at == datetime(2026, 11, 27, 11, 46, 0, tzinfo=UTC)
    assert (adjusted.site_id, adjusted.model_dump()["delta"]) == ("20001", Decimal(1))


def test_quirk_probe_epoch_seconds_are_already_utc() -> None:
    assert _after("wms", "ZZ_TEMP_LOG", "c-reading")["ReadingEpoch"] == 1795779960
    (reading,) = _events("wms", "ZZ_TEMP_LOG", "c-reading")
    assert reading.occurred_at == datetime(2026, 11, 27, 11, 46, 0, tzinfo=UTC)
    assert (reading.site_id, reading.occurred_tz_offset) == ("30001", "-05:00")
    assert reading.model_dump()["temperature_c"] == Decimal("5.02")


def test_quirk_wms_order_line_correlates_with_the_erp_line() -> None:
    """PICKDETAIL OrderKey 0000000429 line '00004' → ERP order 00020-SO-10429 line 4.000."""
    (picked,) = _events("wms", "PICKDETAIL", "u-picked")
    dumped = picked.model_dump()
    assert picked.event_type == "order.picked"
    assert dumped["line_id"] == "00020-SO-10429/4.000"
    assert dumped["quantity"] == Decimal(13)


def test_quirk_carton_written_after_the_pick_is_its_own_packed_event() -> None:
    """Pick detail 0000002022: Status 3 → 5 first (no carton yet), then CaseID ' ' →
    006141410000007752 and DropID D000007752, in the same WMS transaction. The pick cannot name
    the carton; the second update is ``order.packed`` with it, for the same allocation."""
    (picked,) = _events("wms", "PICKDETAIL", "u-picked")
    (packed,) = _events("wms", "PICKDETAIL", "u-carton")
    assert picked.source.tx_id == packed.source.tx_id == "0-184054-29052"
    assert _after("wms", "PICKDETAIL", "u-picked")["CaseID"] == " "
    assert picked.model_dump()["case_id"] is None
    dumped = packed.model_dump()
    assert packed.event_type == "order.packed"
    assert (dumped["carton_sscc"], dumped["drop_id"]) == ("006141410000007752", "D000007752")
    same = ("order_id", "line_id", "allocation_id", "item_id", "lot", "quantity")
    assert {k: dumped[k] for k in same} == {k: picked.model_dump()[k] for k in same}
    assert dumped["quantity"] == Decimal(13)


def test_a_carton_already_there_is_not_packed_again() -> None:
    """The same recorded row, the carton set before as after (a later update of a packed
    pick, such as its Status 9 at dispatch): no ``order.packed``."""
    record = orjson.loads((FIXTURES / "wms" / "PICKDETAIL" / "u-carton.json").read_bytes())
    value = orjson.loads(record["value"])
    value["before"] = {**value["after"], "Status": "3"}
    value["after"] = {**value["after"], "Status": "5"}
    raw = raw_fixture(FIXTURES / "wms" / "PICKDETAIL" / "u-carton.json")
    changed = raw._replace(value=orjson.dumps(value))
    outcome = process(changed, REGISTRY, reference())
    assert isinstance(outcome, Emit), outcome
    assert [e.event_type for e in outcome.events] == ["order.picked"]
    assert outcome.events[0].model_dump()["case_id"] == "006141410000007752"


@pytest.mark.parametrize(("system", "table"), sorted({(m.system, m.table) for m in REGISTRY}))
def test_quirk_tombstone_maps_to_nothing(system: str, table: str) -> None:
    assert _skipped(system, table, "tombstone") == "tombstone"


def test_two_conversions_of_one_item_read_by_one_snapshot_are_two_events() -> None:
    """An initial snapshot reads every row at one log position (the ``_snapshot`` fixtures:
    an item and its two conversions, recorded from a fresh stack's first ``connectors apply``).
    The item.upserted of each conversion row must still have an id of its own: the gate
    refuses a repeated id, and with it the conversion's state, which left every order in that
    unit without its factor."""
    snapshot = FIXTURES / "erp" / "_snapshot"
    store = StateStore()
    ref = Reference(store, SITE_ZONES)
    ids = []
    for name in ("f4101-60001", "f41002-60001-CA-EA", "f41002-60001-PL-CA"):
        outcome = process(raw_fixture(snapshot / f"{name}.json"), REGISTRY, ref)
        assert isinstance(outcome, Emit)
        for update in outcome.state:
            store.apply(update)
        ids.extend(str(e.event_id) for e in outcome.events)
    assert len(ids) == len(set(ids)) == 3
