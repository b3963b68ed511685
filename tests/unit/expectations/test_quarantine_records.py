"""Quarantine records as ``scv quarantine`` shows them: headers read back, masking, --since."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from expectations.errors import InvalidSince
from expectations.quarantine import MASK, QuarantineRecord, find, mask, parse_since

ORIGINAL = (("__debezium.context.connectorName", b"postgresql"),)
ADDED = (
    ("scv_quarantine_stage", b"gate"),
    ("scv_quarantine_reason", b"quantity_positive"),
    ("scv_quarantine_detail", b"order.placed e1: quantity_positive (...)"),
    ("scv_original_topic", b"erp.proddta.f4211"),
    ("scv_original_partition", b"2"),
    ("scv_original_offset", b"11"),
    ("scv_quarantined_by", b"scv-transforms-0"),
    ("__rule.name", b"quantity_positive"),
    ("dq.failed_rules", b'["quantity_positive", "status_known"]'),
    ("dq.suite", b"order.placed@0123456789ab"),
    ("dq.event_id", b"e1"),
    ("dq.event_type", b"order.placed"),
)
VALUE = {
    "before": None,
    "after": {"sddoco": 10617, "sdan8": 100008, "sdvr01": "PO758914", "sduprc": "10868400"},
    "source": {"table": "f4211"},
}


def record(headers: tuple[tuple[str, bytes | None], ...] = ORIGINAL + ADDED) -> QuarantineRecord:
    return QuarantineRecord(
        partition=1,
        offset=42,
        timestamp_ms=1_795_779_961_930,
        key=b'{"sddoco":"10617","sdan8":"100008"}',
        value=json.dumps(VALUE).encode(),
        headers=headers,
    )


def test_the_gate_headers_read_back() -> None:
    r = record()
    assert r.id == "1:42"
    assert r.rule == "quantity_positive"
    assert r.failed_rules == ["quantity_positive", "status_known"]
    assert r.event_types == ["order.placed"]
    assert r.event_ids == ["e1"]
    assert (r.original_topic, r.original_partition, r.original_offset) == (
        "erp.proddta.f4211",
        2,
        11,
    )
    assert r.source_table == "erp.f4211"
    assert r.original_headers == ORIGINAL
    assert r.added_headers == ADDED


def test_a_mapping_quarantine_without_gate_headers_names_its_reason_and_stage() -> None:
    headers = (
        *ORIGINAL,
        ("scv_quarantine_stage", b"map"),
        ("scv_quarantine_reason", b"unknown_item"),
        ("scv_original_topic", b"erp.proddta.f4211"),
    )
    r = record(headers)
    assert r.rule == "unknown_item"
    assert r.failed_rules == ["unknown_item"]
    assert r.kind == "(map)"


def test_show_masks_sensitive_fields_at_any_depth_and_keeps_the_rest() -> None:
    shown = record().describe()
    after = shown["value"]["after"]
    assert after["sddoco"] == 10617
    assert after["sdan8"] == after["sdvr01"] == after["sduprc"] == MASK
    assert shown["key"] == {"sddoco": "10617", "sdan8": MASK}
    assert shown["headers"]["__rule.name"] == "quantity_positive"
    assert "PO758914" not in json.dumps(shown)


def test_mask_keeps_nulls_and_matches_names_case_insensitively() -> None:
    assert mask({"SdAn8": None, "ContactPhone": "555", "x": [{"customer_po": "A"}]}) == {
        "SdAn8": None,
        "ContactPhone": MASK,
        "x": [{"customer_po": MASK}],
    }


def test_filters_by_rule_among_all_failed_rules_and_by_time() -> None:
    r = record()
    assert r.matches(rule="status_known")
    assert not r.matches(rule="line_not_duplicated")
    assert r.matches(since=r.time)
    assert not r.matches(since=r.time + timedelta(seconds=1))
    assert find([r], "1:42") is r
    assert find([r], "0:42") is None


def test_since_is_a_duration_or_an_iso_time() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_since("90m", now=now) == now - timedelta(minutes=90)
    assert parse_since("2d", now=now) == now - timedelta(days=2)
    assert parse_since("2026-11-27T10:00", now=now) == datetime(2026, 11, 27, 10, tzinfo=UTC)
    with pytest.raises(InvalidSince, match="duration"):
        parse_since("yesterday", now=now)


LEAKY_DETAIL = (
    b"mapper_exception: ValueError: invalid literal for int() with base 10: 'PO758914'; "
    b"row {'sdan8': 4242, 'sdmcu': 'DC01'}; c_phone1=555-0100, quantity: 3"
)


def _with_detail(detail: bytes) -> QuarantineRecord:
    headers = tuple(
        (name, detail if name == "scv_quarantine_detail" else value) for name, value in ADDED
    )
    return record(ORIGINAL + headers)


def test_show_masks_the_detail_as_it_masks_values() -> None:
    shown = _with_detail(LEAKY_DETAIL).describe()
    for text in (shown["detail"], shown["headers"]["scv_quarantine_detail"]):
        assert "PO758914" not in text  # a sensitive value of the record, quoted by an exception
        assert "4242" not in text  # named by a sensitive field
        assert "555-0100" not in text
        assert "'sdmcu': 'DC01'" in text  # not sensitive: kept
        assert "quantity: 3" in text
        assert text.count(MASK) == 3
    assert json.dumps(shown).count("PO758914") == 0


def test_a_short_or_non_sensitive_value_is_not_searched_for() -> None:
    r = _with_detail(b"order.placed e1: quantity_positive (...)")
    assert r.masked_detail == "order.placed e1: quantity_positive (...)"
