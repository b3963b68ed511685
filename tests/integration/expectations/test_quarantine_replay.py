"""``scv quarantine replay`` on the real Kafka: quarantined by a gate that refuses the event,
replayed after the "fix" (the real suites accept it), replayed twice: exactly one canonical
event, with the id the first run would have given it.

Its own raw topic (``<run>.erp.proddta.f4101``, a captured item-master record), consumer group,
transactional ids and output prefix: nothing else on the shared stack is read or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson
from confluent_kafka import Producer

from expectations.quarantine import from_records
from kafkaio import client_config, read_committed, read_records
from transforms.events import CanonicalEvent
from transforms.pipeline import Emit, RawMessage, Rejection, process
from transforms.quality import QualityGate
from transforms.reference import Reference, StateStore
from transforms.registry import default_registry
from transforms.replay import REPLAYED_TOPIC, Replayer
from transforms.runner import Runner
from transforms.settings import TransformsSettings

FIXTURE = Path(__file__).parents[2] / "fixtures/debezium/erp/f4101/r-item-60057.json"


class RefuseItems:
    """The gate before the fix: every item event fails ``item_rule_too_strict``."""

    def reject(self, events: Sequence[CanonicalEvent]) -> list[Rejection]:
        return [
            Rejection(
                event=e, reason="item_rule_too_strict", detail="", rules=("item_rule_too_strict",)
            )
            for e in events
            if e.event_type == "item.upserted"
        ]


def test_replay_after_a_fix_emits_the_same_event_once(endpoints: dict[str, str]) -> None:
    run = f"itr{uuid.uuid4().hex[:8]}"
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    settings = TransformsSettings(
        kafka_bootstrap=bootstrap,
        topic_prefix=f"{run}.",
        group_id=f"{run}-group",
        transactional_id_prefix=f"{run}-tx",
        source_pattern=rf"^{run}\.erp\.proddta\..+",
        idle_s=2.0,
    )
    record = orjson.loads(FIXTURE.read_bytes())
    raw_topic = f"{run}.erp.proddta.f4101"
    producer = Producer(client_config(bootstrap))
    producer.produce(raw_topic, key=record["key"].encode(), value=record["value"].encode())
    assert producer.flush(30) == 0
    registry = default_registry()
    stats = Runner(settings, registry, gate=RefuseItems()).run(
        until_idle=True, install_signals=False
    )
    assert sum(stats.quarantined.values()) == 1, stats
    quarantine = settings.topic(settings.quarantine_topic)
    (quarantined,) = from_records(read_records(bootstrap, [quarantine]))
    assert quarantined.rule == "item_rule_too_strict"
    assert quarantined.original_topic == raw_topic
    raw = RawMessage(raw_topic, 0, quarantined.original_offset, None, record["value"].encode())
    expected = process(raw, registry, Reference(StateStore(), {}))
    assert isinstance(expected, Emit)
    expected_ids = [str(e.event_id) for e in expected.events]

    first = Replayer(settings, registry, QualityGate.load()).run()
    second = Replayer(settings, registry, QualityGate.load()).run(rule="item_rule_too_strict")

    assert (first.replayed, first.already_replayed, first.event_ids) == (1, 0, expected_ids)
    assert (second.selected, second.replayed, second.already_replayed) == (1, 0, 1)
    items = [
        orjson.loads(m.value() or b"null")
        for m in read_committed(bootstrap, [settings.topic("scv.item.v1")])
    ]
    assert [i["event_id"] for i in items] == expected_ids
    markers = list(read_committed(bootstrap, [settings.topic(REPLAYED_TOPIC)]))
    assert [m.key() for m in markers] == [quarantined.id.encode()]
