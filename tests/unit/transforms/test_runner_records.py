"""What the runner writes for a batch, and what it loads from the state topic.

A message the gate quarantines keeps its reference facts on the state topic (the store had
them, and the rest of the batch was mapped with them); a bad state-topic record is skipped
with a reason instead of stopping every start. The change is a recorded ``f4101`` snapshot read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from confluent_kafka import Message

from transforms.batch import TRACE_HEADER
from transforms.events import CanonicalEvent
from transforms.pipeline import (
    Emit,
    PassThroughGate,
    Quarantine,
    Rejection,
    process,
    route,
    serialize,
)
from transforms.reference import Reference, StateStore
from transforms.registry import default_registry
from transforms.runner import Runner
from transforms.settings import TransformsSettings

from .test_mappers import raw_fixture

ITEM = Path(__file__).parents[2] / "fixtures" / "debezium" / "erp" / "f4101" / "r-item-60002.json"


class RejectAll:
    def reject(self, events: Sequence[CanonicalEvent]) -> Sequence[Rejection]:
        return [Rejection(e, "unit_test_rule", "rejected by the test") for e in events]


def test_a_message_the_gate_quarantines_keeps_its_state_records() -> None:
    runner = Runner(TransformsSettings(instance_id="7"), default_registry())
    raw = raw_fixture(ITEM)
    outcome = process(raw, runner.registry, Reference(StateStore(), {}))
    assert isinstance(outcome, Emit)
    assert outcome.state, "the item row carries reference facts"
    done = serialize(outcome, state_headers=runner.state.writer)
    assert not isinstance(done, Quarantine)

    routed = route([(raw, outcome)], RejectAll())
    records, counts = runner.batcher.records(routed, {(raw.topic, raw.partition, raw.offset): done})

    topics = [topic for topic, *_ in records]
    assert topics.count("scv.quarantine.v1") == 1
    assert topics.count("scv.transforms.state.v1") == len(outcome.state)
    assert counts["quarantined"]["unit_test_rule"] == 1
    assert sum(counts["events"].values()) == 0


def test_a_bad_state_record_is_skipped_and_counted() -> None:
    runner = Runner(TransformsSettings(instance_id="7"), default_registry())
    runner.state.load_record(Message(key=b"uom|60001||CA|EA", value=b"{not json"))
    runner.state.load_record(Message(key=b"probe|1", value=b'{"recent": [[1, 1]]}'))
    assert sum(runner.stats.bad_state.values()) == 1
    assert len(runner.store) == 1


def _item_batch(runner: Runner) -> tuple[list[tuple[str, bytes | None, bytes | None, object]], str]:
    raw = raw_fixture(ITEM)
    outcome = process(raw, runner.registry, Reference(StateStore(), {}))
    assert isinstance(outcome, Emit)
    done = serialize(outcome, state_headers=runner.state.writer)
    assert not isinstance(done, Quarantine)
    routed = route([(raw, outcome)], PassThroughGate())
    records, _ = runner.batcher.records(
        routed, {(raw.topic, raw.partition, raw.offset): done}, 1_700_000_000_123_456_789
    )
    return records, f"{raw.topic}|{raw.partition}|{raw.offset}|1700000000123456789"


def test_with_trace_hops_each_event_names_its_raw_record_and_when_it_was_consumed() -> None:
    runner = Runner(TransformsSettings(instance_id="7", trace_hops=True), default_registry())
    records, stamp = _item_batch(runner)
    events = [r for r in records if r[0] != "scv.transforms.state.v1"]
    state = [r for r in records if r[0] == "scv.transforms.state.v1"]
    assert events
    assert state
    for _topic, _key, _value, headers in events:
        assert isinstance(headers, list)
        assert dict(headers)[TRACE_HEADER] == stamp.encode()
    # State records are not events: their headers stay the writer's.
    assert all(headers is runner.state.writer for *_, headers in state)


def test_without_trace_hops_no_event_carries_the_trace_header() -> None:
    runner = Runner(TransformsSettings(instance_id="7"), default_registry())
    records, _ = _item_batch(runner)
    assert records
    assert all(TRACE_HEADER not in dict(headers) for *_, headers in records)  # type: ignore[call-overload]
