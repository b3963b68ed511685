"""``scv quarantine replay``: quarantined records through the current mappers and suites again.

After a fix (a mapper, a suite, reference data that arrived late), each quarantined record's
original raw message (original topic/partition/offset, key, value and headers, as the
quarantine record kept them) is processed and gated like the runner does. The ids of the
events it produces are the ones the first run would have produced: the ``event_id`` is a
UUIDv5 of the source position, not of the time of processing.

Idempotent: one Kafka transaction per batch holds the canonical events, the reference-state
updates, and one marker per replayed record on the compacted ``scv.quarantine.replayed.v1``
topic keyed by the quarantine record id. The markers are read before replaying, so a record
replayed once is never replayed again, and a batch that aborts leaves neither events nor
markers. A record that still fails stays in quarantine, unmarked (it can be replayed after the
next fix), and is not quarantined again. One fixed ``transactional.id`` per topic prefix
fences a concurrent replay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

import kafkaio
from expectations.quarantine import QuarantineRecord, from_records
from kafkaio import client_config
from transforms.clients import producer_config
from transforms.errors import KafkaError
from transforms.events import to_kafka
from transforms.pipeline import Emit, Gate, Outcome, Quarantine, RawMessage, Skip, process, route
from transforms.reference import Reference, StateStore
from transforms.registry import MapperRegistry
from transforms.settings import TransformsSettings
from transforms.topics import ensure_topics

REPLAYED_TOPIC = "scv.quarantine.replayed.v1"
Log = Callable[[str], None]


def original_message(record: QuarantineRecord) -> RawMessage:
    """The raw message exactly as the runner read it before quarantining it."""
    return RawMessage(
        topic=record.original_topic,
        partition=record.original_partition,
        offset=record.original_offset,
        key=record.key,
        value=record.value,
        headers=list(record.original_headers),
    )


def reprocess(
    records: Sequence[QuarantineRecord],
    registry: MapperRegistry,
    store: StateStore,
    reference: Reference,
    gate: Gate,
) -> list[tuple[QuarantineRecord, Outcome]]:
    """Map and gate the records' original messages (no I/O: ``reference`` reads ``store``).

    State updates of a mapped record are applied to ``store`` (uncommitted) so later records
    of the batch see them, as in the runner."""
    outcomes: list[tuple[RawMessage, Outcome]] = []
    for record in records:
        outcome = process(original_message(record), registry, reference)
        if isinstance(outcome, Emit):
            for update in outcome.state:
                store.apply(update)
        outcomes.append((original_message(record), outcome))
    routed = route(outcomes, gate)
    return [(record, outcome) for record, (_raw, outcome) in zip(records, routed, strict=True)]


def marker(record: QuarantineRecord, outcome: Emit | Skip, *, at: datetime) -> bytes:
    """The replay marker's value: when, and what the replay produced."""
    events = outcome.events if isinstance(outcome, Emit) else ()
    return orjson.dumps(
        {
            "quarantine_id": record.id,
            "replayed_at": at.isoformat(),
            "rule": record.rule,
            "outcome": "skipped" if isinstance(outcome, Skip) else "emitted",
            "event_ids": [str(e.event_id) for e in events],
        }
    )


@dataclass
class ReplayStats:
    selected: int = 0
    already_replayed: int = 0
    replayed: int = 0
    batches: int = 0
    events: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    #: Records that still fail, by their (new) first failed rule: left in quarantine.
    still_failing: Counter[str] = field(default_factory=Counter)
    event_ids: list[str] = field(default_factory=list)


class Replayer:
    """Replays a prefix's quarantine topic (see the module docstring)."""

    def __init__(
        self,
        settings: TransformsSettings,
        registry: MapperRegistry,
        gate: Gate,
        *,
        batch_size: int = 500,
        log: Log = lambda _line: None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.gate = gate
        self.batch_size = batch_size
        self.log = log
        self.marker_topic = settings.topic(REPLAYED_TOPIC)
        self.quarantine_topic = settings.topic(settings.quarantine_topic)

    def replayed_ids(self) -> set[str]:
        """Quarantine record ids replayed before (committed markers)."""
        markers = kafkaio.read_committed(self.settings.kafka_bootstrap, [self.marker_topic])
        return {
            key.decode()
            for message in markers
            if (key := message.key()) is not None and message.value() is not None
        }

    def load_reference(self) -> tuple[StateStore, Reference]:
        """The reference state as the runners committed it (the compacted state topic)."""
        store = StateStore()
        for message in kafkaio.read_committed(
            self.settings.kafka_bootstrap, [self.settings.topic(self.settings.state_topic)]
        ):
            key, value = message.key(), message.value()
            if key is not None:
                store.load(key.decode(), None if value is None else orjson.loads(value))
        return store, Reference(store, self.settings.site_zones)

    def _ensure_marker_topic(self) -> None:
        admin = AdminClient(client_config(self.settings.kafka_bootstrap))
        ensure_topics(self.settings, admin)
        marker = NewTopic(
            self.marker_topic,
            num_partitions=1,
            replication_factor=self.settings.topic_replication,
            config={"cleanup.policy": "compact"},
        )
        kafkaio.ensure_topics(self.settings.kafka_bootstrap, [marker], admin=admin)

    def run(self, *, rule: str | None = None, since: datetime | None = None) -> ReplayStats:
        stats = ReplayStats()
        read = kafkaio.read_records(
            self.settings.kafka_bootstrap, [self.quarantine_topic], since=since
        )
        records = from_records(read, since=since, rule=rule)
        stats.selected = len(records)
        done = self.replayed_ids()
        todo = [r for r in records if r.id not in done]
        stats.already_replayed = len(records) - len(todo)
        if not todo:
            return stats
        self._ensure_marker_topic()
        store, reference = self.load_reference()
        config = producer_config(self.settings)
        config["transactional.id"] = f"{self.settings.transactional_id_prefix}-replay"
        producer = Producer(config)
        try:
            producer.init_transactions(30)
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start : start + self.batch_size]
                self._transaction(producer, store, reference, batch, stats)
        finally:
            producer.flush(5)
        return stats

    def _transaction(
        self,
        producer: Producer,
        store: StateStore,
        reference: Reference,
        batch: Sequence[QuarantineRecord],
        stats: ReplayStats,
    ) -> None:
        settings = self.settings
        now = datetime.now(UTC)
        counts = ReplayStats()
        try:
            producer.begin_transaction()
            for record, outcome in reprocess(batch, self.registry, store, reference, self.gate):
                if isinstance(outcome, Quarantine):
                    counts.still_failing[outcome.reason] += 1
                    continue
                if isinstance(outcome, Emit):
                    for event in outcome.events:
                        out = to_kafka(
                            event,
                            topic_prefix=settings.topic_prefix,
                            schema_base_url=settings.schema_base_url,
                        )
                        producer.produce(
                            out.topic, value=out.value, key=out.key, headers=out.headers
                        )
                        counts.events[event.event_type] += 1
                        counts.event_ids.append(str(event.event_id))
                    for update in outcome.state:
                        producer.produce(
                            settings.topic(settings.state_topic),
                            key=update.key.encode(),
                            value=None if update.value is None else orjson.dumps(update.value),
                        )
                else:
                    counts.skipped[outcome.reason] += 1
                producer.produce(
                    self.marker_topic, key=record.id.encode(), value=marker(record, outcome, at=now)
                )
                counts.replayed += 1
                producer.poll(0)
            producer.commit_transaction(60)
        except KafkaException as exc:
            store.abort()
            _abort(producer)
            raise KafkaError(f"replay transaction failed: {exc.args[0].str()}") from None
        except BaseException:
            store.abort()
            _abort(producer)
            raise
        store.commit()
        stats.batches += 1
        stats.replayed += counts.replayed
        stats.events.update(counts.events)
        stats.skipped.update(counts.skipped)
        stats.still_failing.update(counts.still_failing)
        stats.event_ids.extend(counts.event_ids)
        self.log(f"replay: batch of {len(batch)} committed ({counts.replayed} replayed)")


def _abort(producer: Producer) -> None:
    try:
        producer.abort_transaction(30)
    except KafkaException as exc:
        if exc.args[0].code() not in (RdKafkaError._STATE, RdKafkaError._FENCED):
            raise
