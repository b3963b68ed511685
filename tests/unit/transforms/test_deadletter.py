"""The quarantine record's headers written and read back through ``DeadLetter``."""

from __future__ import annotations

from transforms.deadletter import MAX_DETAIL_BYTES, DeadLetter, split
from transforms.pipeline import Quarantine, RawMessage, quarantine_headers

ORIGINAL = [("__debezium.context.connectorName", b"postgresql")]


def _gate_letter() -> DeadLetter:
    return DeadLetter.of(
        stage="gate",
        reason="quantity_positive",
        detail="order.placed e1: quantity_positive",
        topic="erp.proddta.f4211",
        partition=2,
        offset=11,
        instance="scv-transforms-0",
        rules=["quantity_positive", "status_known"],
        suites=["order.placed@0123456789ab"],
        events=[("e1", "order.placed"), ("e2", "order.placed")],
    )


def test_a_dead_letter_reads_back_as_written() -> None:
    letter = _gate_letter()
    headers = [
        (n, v if isinstance(v, bytes) or v is None else v.encode()) for n, v in letter.to_headers()
    ]
    assert DeadLetter.from_headers([*ORIGINAL, *headers]) == letter
    assert letter.event_types == ("order.placed",)  # each type once


def test_the_pipelines_headers_are_the_original_ones_then_the_dead_letters() -> None:
    raw = RawMessage("erp.proddta.f4211", 2, 11, b"k", b"v", ORIGINAL)
    quarantine = Quarantine("map", "unknown_item", "x" * (MAX_DETAIL_BYTES + 10))
    written = [
        (n, v if not isinstance(v, str) else v.encode())
        for n, v in quarantine_headers(raw, quarantine, instance="i-0")
    ]
    original, added = split(written)
    assert list(original) == ORIGINAL
    letter = DeadLetter.from_headers(added)
    assert (letter.stage, letter.rule, letter.failed_rules) == (
        "map",
        "unknown_item",
        ("unknown_item",),
    )
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        raw.topic,
        2,
        11,
    )
    assert len(letter.detail) == MAX_DETAIL_BYTES


def test_an_older_record_without_the_rule_headers_gives_its_reason() -> None:
    letter = DeadLetter.from_headers(
        [("scv_quarantine_stage", b"decode"), ("scv_quarantine_reason", b"malformed_json")]
    )
    assert (letter.rule, letter.failed_rules) == ("malformed_json", ("malformed_json",))
    assert (letter.original_partition, letter.original_offset) == (-1, -1)


def test_headers_without_a_dead_letter_are_all_original() -> None:
    assert split(ORIGINAL) == (ORIGINAL, [])
