"""The relay's transaction: a batch's events and its marker commit together, or neither moves.

Kafka's producer and the database are the boundaries, replaced by fakes; the resume from the
marker after a real ``kill -9`` is the integration test's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError, KafkaException

from carrier.errors import RelayError
from carrier.mapping import to_canonical
from carrier.relay import MARKER_KEY, Relay
from carrier.settings import CarrierSettings
from carrier.store import OutboxRow
from carrier.updates import parse
from transforms.events import to_kafka

from .updates import body

AT = datetime(2026, 12, 4, 9, 16, tzinfo=UTC)


@dataclass
class FakeStore:
    rows: list[OutboxRow]
    marked: list[int] = field(default_factory=list)

    def pending(self, after: int, limit: int) -> list[OutboxRow]:
        return [r for r in self.rows if r.seq > after][:limit]

    def mark_relayed(self, up_to: int) -> None:
        self.marked.append(up_to)


@dataclass
class FakeProducer:
    fail_commit: bool = False
    log: list[tuple[str, ...]] = field(default_factory=list)
    committed: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    _open: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    def begin_transaction(self) -> None:
        self.log.append(("begin",))
        self._open = []

    def produce(self, topic: str, value: bytes, key: bytes, headers: object = None) -> None:
        self._open.append((topic, key, value))

    def commit_transaction(self, timeout: float) -> None:
        if self.fail_commit:
            raise KafkaException(KafkaError(KafkaError._FENCED, "fenced"))
        self.committed += self._open
        self.log.append(("commit",))


def _rows(n: int) -> list[OutboxRow]:
    events = [to_canonical(parse(body("in_transit", event_id=f"UPS-{i}")), AT) for i in range(n)]
    # Seqs with a hole, as a killed insert leaves one.
    return [
        OutboxRow(seq, to_kafka(e).value) for seq, e in zip((1, 2, 4, 5, 6), events, strict=False)
    ]


def relay(store: FakeStore, producer: FakeProducer, batch: int = 2) -> Relay:
    settings = CarrierSettings(topic_prefix="t.", relay_batch=batch)
    found = Relay(settings, store)  # type: ignore[arg-type]
    found._producer = producer  # type: ignore[assignment]
    return found


def test_each_batch_commits_its_events_in_order_with_its_marker_last() -> None:
    store, producer = FakeStore(_rows(5)), FakeProducer()
    r = relay(store, producer)
    assert r.drain() == 5
    topics = [t for t, _, _ in producer.committed]
    assert topics == ["t.scv.shipment.v1"] * 2 + ["t.scv.carrier.relay.v1"] + (
        ["t.scv.shipment.v1"] * 2 + ["t.scv.carrier.relay.v1"]
    ) + ["t.scv.shipment.v1", "t.scv.carrier.relay.v1"]
    markers = [v for t, k, v in producer.committed if k == MARKER_KEY]
    assert markers == [b"2", b"5", b"6"]
    assert store.marked == [2, 5, 6]
    keys = {k for t, k, _ in producer.committed if t == "t.scv.shipment.v1"}
    assert keys == {b"MB0000042"}
    assert r.step() == 0


def test_a_failed_commit_moves_nothing_and_stops_the_relay() -> None:
    store, producer = FakeStore(_rows(3)), FakeProducer(fail_commit=True)
    r = relay(store, producer)
    with pytest.raises(RelayError, match="up to outbox seq 2"):
        r.step()
    assert (r.stats.position, store.marked, producer.committed) == (0, [], [])
