"""Replay's pure part: a quarantine record's original message, mapped and gated again, gives
the event ids the first run would have given (no Kafka)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from expectations.quarantine import QuarantineRecord
from transforms.events import CanonicalEvent
from transforms.pipeline import (
    Emit,
    Quarantine,
    RawMessage,
    Rejection,
    process,
    quarantine_headers,
    route,
)
from transforms.quality import QualityGate
from transforms.reference import Reference, StateStore
from transforms.registry import default_registry
from transforms.replay import marker, original_message, reprocess

FIXTURE = Path(__file__).parents[2] / "fixtures/debezium/erp/f4101/r-item-60057.json"
REGISTRY = default_registry()


class RejectAll:
    """A gate before the fix: every event fails ``rule_x``."""

    def reject(self, events: Sequence[CanonicalEvent]) -> list[Rejection]:
        return [Rejection(event=e, reason="rule_x", detail="x", rules=("rule_x",)) for e in events]


def _raw() -> RawMessage:
    record = orjson.loads(FIXTURE.read_bytes())
    return RawMessage(
        topic=record["topic"],
        partition=record["partition"],
        offset=record["offset"],
        key=record["key"].encode(),
        value=record["value"].encode(),
        headers=[("__debezium.context.taskId", b"0")],
    )


def _quarantined() -> tuple[RawMessage, QuarantineRecord]:
    raw = _raw()
    ((_, outcome),) = route([(raw, process(raw, REGISTRY, Reference(StateStore(), {})))],
                            RejectAll())  # fmt: skip
    assert isinstance(outcome, Quarantine)
    headers = [
        (n, v.encode() if isinstance(v, str) else v)
        for n, v in quarantine_headers(raw, outcome, instance="t-0")
    ]
    return raw, QuarantineRecord(2, 7, 0, raw.key, raw.value, tuple(headers))


def test_the_original_message_is_rebuilt_exactly() -> None:
    raw, record = _quarantined()
    assert original_message(record) == raw
    assert record.rule == "rule_x"


def test_after_the_fix_the_record_maps_to_the_same_event_ids() -> None:
    raw, record = _quarantined()
    first = process(raw, REGISTRY, Reference(StateStore(), {}))
    assert isinstance(first, Emit)
    store = StateStore()
    ((again, outcome),) = reprocess(
        [record], REGISTRY, store, Reference(store, {}), QualityGate.load()
    )
    assert again is record
    assert isinstance(outcome, Emit)
    assert [e.event_id for e in outcome.events] == [e.event_id for e in first.events]
    value = orjson.loads(marker(record, outcome, at=datetime(2026, 11, 27, tzinfo=UTC)))
    assert value["quarantine_id"] == "2:7"
    assert value["event_ids"] == [str(e.event_id) for e in first.events]


def test_a_record_that_still_fails_stays_a_quarantine() -> None:
    _, record = _quarantined()
    store = StateStore()
    ((_, outcome),) = reprocess([record], REGISTRY, store, Reference(store, {}), RejectAll())
    assert isinstance(outcome, Quarantine)
    assert outcome.reason == "rule_x"
