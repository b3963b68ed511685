"""One raw message → Emit | Quarantine | Skip, on envelopes captured from the running stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from transforms.envelope import ChangeEvent, Op, parse_change_event
from transforms.errors import InvalidChangeEvent, QuarantineLimitExceeded
from transforms.events import ItemUpserted
from transforms.mappers.erp_f4101 import COLUMNS as F4101_COLUMNS
from transforms.mapping import Output, header, mapper
from transforms.pipeline import (
    Emit,
    Outcome,
    Quarantine,
    QuarantineLimit,
    RawMessage,
    Skip,
    process,
    quarantine_headers,
)
from transforms.reference import Reference, StateStore
from transforms.registry import MapperRegistry, default_registry

CAPTURED = Path(__file__).parents[2] / "fixtures" / "captured" / "erp" / "f4101"


def _raw(name: str) -> RawMessage:
    record = orjson.loads((CAPTURED / f"{name}.json").read_bytes())
    value = record["value"]
    return RawMessage(
        topic=record["topic"],
        partition=record["partition"],
        offset=record["offset"],
        key=record["key"].encode() if record["key"] is not None else None,
        value=value.encode() if value is not None else None,
    )


def _with_after(raw: RawMessage, **columns: object) -> RawMessage:
    assert raw.value is not None
    payload = orjson.loads(raw.value)
    payload["after"].update(columns)
    return RawMessage(raw.topic, raw.partition, raw.offset, raw.key, orjson.dumps(payload))


def _registry() -> MapperRegistry:
    @mapper("erp", "f4101", columns=F4101_COLUMNS)
    def echo(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
        itm = str(change.row.required_integer("imitm"))
        yield ItemUpserted(
            **header(change, pk=itm, event_type="item.upserted"),
            item_id=change.row.text("imlitm") or "?",
            item_short=itm,
            base_uom="EA",
        )

    return MapperRegistry([echo])


REF = Reference(StateStore(), {})


@pytest.mark.parametrize("op", ["c", "u", "d", "r"])
def test_captured_envelopes_parse(op: str) -> None:
    change = parse_change_event(_raw(op).value)
    assert change is not None
    assert change.op is Op(op)
    assert (change.table.system, change.table.namespace, change.table.table) == (
        "erp",
        "proddta",
        "f4101",
    )
    assert change.position.startswith("snapshot:" if op == "r" else "lsn:")
    assert change.snapshot is (op == "r")
    assert change.row.integer("imitm") is not None


def test_tombstone_is_skipped() -> None:
    assert process(_raw("tombstone"), _registry(), REF) == Skip("tombstone")


def test_mapped_change_is_emitted_with_a_replay_stable_id() -> None:
    first = process(_raw("c"), _registry(), REF)
    again = process(_raw("c"), _registry(), REF)
    assert isinstance(first, Emit)
    assert isinstance(again, Emit)
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]


def test_malformed_json_is_quarantined_at_decode() -> None:
    raw = RawMessage("erp.proddta.f4101", 0, 7, b"k", b'{"before": nul')
    outcome = process(raw, _registry(), REF)
    assert isinstance(outcome, Quarantine)
    assert (outcome.stage, outcome.reason) == ("decode", "malformed_json")


def test_missing_source_is_quarantined() -> None:
    assert _raw("c").value is not None
    payload = orjson.loads(_raw("c").value or b"")
    del payload["source"]
    raw = RawMessage("erp.proddta.f4101", 0, 7, b"k", orjson.dumps(payload))
    outcome = process(raw, _registry(), REF)
    assert isinstance(outcome, Quarantine)
    assert outcome.reason == "missing_field"


def test_unknown_table_is_quarantined() -> None:
    outcome = process(_raw("c"), MapperRegistry(), REF)
    assert isinstance(outcome, Quarantine)
    assert (outcome.stage, outcome.reason) == ("map", "unmapped_table")


def test_new_column_with_a_value_is_schema_drift() -> None:
    outcome = process(_with_after(_raw("c"), imnewcol="X"), _registry(), REF)
    assert isinstance(outcome, Quarantine)
    assert outcome.reason == "unexpected_column"


def test_new_nullable_column_is_tolerated() -> None:
    outcome = process(_with_after(_raw("c"), imnewcol=None), _registry(), REF)
    assert isinstance(outcome, Emit)


def test_mistyped_field_is_quarantined() -> None:
    outcome = process(_with_after(_raw("c"), imitm="twelve"), _registry(), REF)
    assert isinstance(outcome, Quarantine)
    assert outcome.reason == "mistyped_field"


def test_float_quantities_are_refused() -> None:
    change = parse_change_event(_with_after(_raw("c"), imsld=1.5).value)
    assert change is not None
    with pytest.raises(Exception, match="exact number"):
        change.row.decimal("imsld")


def test_nested_values_are_refused_at_the_edge() -> None:
    with pytest.raises(InvalidChangeEvent):
        parse_change_event(_with_after(_raw("c"), imsld={"scale": 0}).value)


def test_real_item_mapper_quarantines_a_blank_item_number() -> None:
    # The captured row has a blank imlitm (the SKU): it cannot become an item.
    outcome = process(_raw("c"), default_registry(), REF)
    assert isinstance(outcome, Quarantine)
    assert outcome.reason == "missing_value"


def test_quarantine_headers_name_reason_stage_and_origin() -> None:
    raw = RawMessage("erp.proddta.f4101", 2, 41, b"k", b"v", [("h", b"1")])
    headers = dict(quarantine_headers(raw, Quarantine("map", "why", "detail"), instance="i-0"))
    assert headers["h"] == b"1"
    assert headers["scv_quarantine_reason"] == b"why"
    assert headers["scv_quarantine_stage"] == b"map"
    assert headers["scv_original_topic"] == b"erp.proddta.f4101"
    assert headers["scv_original_partition"] == b"2"
    assert headers["scv_original_offset"] == b"41"


def test_quarantine_limit_stops_on_consecutive_bad_messages() -> None:
    limit = QuarantineLimit(max_consecutive=3, max_ratio=1.0, window=100)
    bad = Quarantine("decode", "malformed_json", "")
    limit.record(bad)
    limit.record(bad)
    limit.record(Skip("tombstone"))  # resets the run
    limit.record(bad)
    limit.record(bad)
    with pytest.raises(QuarantineLimitExceeded, match="3 messages in a row"):
        limit.record(bad)


def test_quarantine_limit_stops_on_ratio() -> None:
    limit = QuarantineLimit(max_consecutive=100, max_ratio=0.5, window=4)
    ok, bad = Emit(()), Quarantine("map", "x", "")
    for outcome in (ok, bad, ok, bad):
        limit.record(outcome)
    with pytest.raises(QuarantineLimitExceeded, match="3 of the last 4"):
        limit.record(bad)


def _stops_at(outcomes: list[Outcome], chunk: int | None) -> tuple[int, str]:
    """Where (message index) and why a limit stops, fed one by one or ``chunk`` at a time."""
    limit = QuarantineLimit(max_consecutive=5, max_ratio=0.3, window=10)
    step = chunk or 1
    for start in range(0, len(outcomes), step):
        part = outcomes[start : start + step]
        try:
            if chunk is None:
                limit.record(part[0])
            else:
                limit.record_all(part)
        except QuarantineLimitExceeded as exc:
            return start + step - 1, str(exc)
    return -1, ""


@pytest.mark.parametrize("chunk", [1, 3, 7, 25])
def test_quarantine_limit_by_batch_stops_where_one_by_one_does(chunk: int) -> None:
    ok, bad = Skip("no business change"), Quarantine("map", "x", "")
    # Clean batches (the fast path), a window with bad ones, clean again, then too many.
    outcomes = [ok] * 30 + [bad, ok, bad, ok] + [ok] * 20 + [bad, ok] * 3 + [bad] * 4
    where, why = _stops_at(outcomes, None)
    assert why
    batched_where, batched_why = _stops_at(outcomes, chunk)
    assert batched_why == why
    # A batch stops at its end at the latest; never before the message that broke the limit.
    assert where <= batched_where < where + chunk


def _ignoring_updates() -> MapperRegistry:
    @mapper("erp", "f4101", columns=F4101_COLUMNS, ignores=(Op.UPDATE,))
    def created_only(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
        change.row.required_text("imlitm")  # the captured create has it blank: quarantine
        return iter(())

    return MapperRegistry([created_only])


def test_an_ignored_operation_is_skipped_before_its_rows_are_read() -> None:
    # A drifted column and a nested cell: neither is looked at, the rows are discarded whole.
    assert _raw("u").value is not None
    payload = orjson.loads(_raw("u").value or b"")
    payload["after"].update(imnewcol="X", imsld={"scale": 0})
    raw = RawMessage("erp.proddta.f4101", 0, 7, b"k", orjson.dumps(payload))
    outcome = process(raw, _ignoring_updates(), REF)
    assert outcome == Skip("no business change")


def test_the_other_operations_of_a_table_with_ignored_ones_are_still_checked() -> None:
    created = process(_raw("c"), _ignoring_updates(), REF)
    assert isinstance(created, Quarantine)
    assert created.reason == "missing_value"
    drifted = process(_with_after(_raw("c"), imnewcol="X"), _ignoring_updates(), REF)
    assert isinstance(drifted, Quarantine)
    assert drifted.reason == "unexpected_column"
