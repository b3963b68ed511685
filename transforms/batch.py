"""One batch mapped, gated and serialized, ready to produce: nothing of it is on Kafka yet.

Each source is mapped in commit order (``transforms.sequencing``): a reference change reaches
exactly the rows committed after it, and rows may wait for a later batch (``holds.Waiting``).
A row missing reference data that may still come is held (``holds.Holds``): its partition
pauses at it and is read again from there. Each ``Emit`` is serialized and size-checked before
its reference-state updates reach the store, so an oversized message is quarantined whole and
leaves no state behind. ``Batcher.records`` then lists what the batch writes: canonical events,
quarantined originals (``transforms.deadletter`` headers) and reference-state updates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from confluent_kafka import Consumer, Message, TopicPartition

from transforms.errors import KafkaError
from transforms.holds import COMMIT_ORDER, Holds, ReferenceTopics, TopicKey, Waiting, system_of
from transforms.observe import BatchFigures, figures
from transforms.pipeline import (
    AWAITED_REFERENCES,
    Emit,
    Gate,
    Outcome,
    Quarantine,
    QuarantineLimit,
    RawMessage,
    Serialized,
    Skip,
    decode,
    process,
    quarantine_headers,
    route,
    serialize,
)
from transforms.reference import Reference, StateStore
from transforms.registry import MapperRegistry
from transforms.replays import ReplayGuard
from transforms.sequencing import Sequenced
from transforms.settings import TransformsSettings
from transforms.stats import RunStats

Record = tuple[str, bytes | None, bytes | None, Any]  # topic, key, value, headers
#: With ``trace_hops``: ``<raw topic>|<partition>|<offset>|<consumed ns>`` on every canonical
#: record, the raw record it came from and when ``consume`` returned the batch that read it
#: (a row that waited for its turn carries the batch it was mapped in).
TRACE_HEADER = "scv_trace"
#: A consumed record's place: (topic, partition, offset).
RecordKey = tuple[str, int, int]


@dataclass
class Mapped:
    """A batch mapped, gated and serialized; nothing of it is on Kafka yet."""

    records: list[Record]
    counts: dict[str, Counter[str]]
    #: Where the consumer goes on from (a held partition: the held row) and the group
    #: generation the offsets belong to (KIP-447).
    positions: list[TopicPartition]
    group: Any
    #: Consumed messages that are not held (they are done once the batch commits).
    messages: int
    #: The batch had reference rows (items, conversions, WMS orders).
    reference: bool
    #: What it did, for the metrics (``transforms.observe``).
    figures: BatchFigures = field(default_factory=BatchFigures)


class LazyHeaders(Sequence[tuple[str, str | bytes | None]]):
    """A consumed record's headers, read from the client on first use.

    Debezium puts four ``__debezium.context.*`` headers on every record and converting them
    (``Message.headers``) is a noticeable share of the runner's time per message, while only a
    quarantined record needs them (figures: docs/benchmarks.md).
    """

    # One slot: the record until it is read, then the list (one store per consumed record).
    __slots__ = ("_source",)

    def __init__(self, message: Message) -> None:
        self._source: Message | list[tuple[str, str | bytes | None]] = message

    def _loaded(self) -> list[tuple[str, str | bytes | None]]:
        source = self._source
        if isinstance(source, list):
            return source
        headers = source.headers()
        items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        self._source = items
        return items

    @overload
    def __getitem__(self, index: int) -> tuple[str, str | bytes | None]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, str | bytes | None]]: ...
    def __getitem__(
        self, index: int | slice
    ) -> tuple[str, str | bytes | None] | Sequence[tuple[str, str | bytes | None]]:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())


def raw_message(message: Message) -> RawMessage:
    """A consumed record as the pipeline sees it (its headers read on first use)."""
    topic = message.topic()
    partition = message.partition()
    offset = message.offset()
    if topic is None or partition is None or offset is None:
        raise KafkaError("consumer returned a message without topic/partition/offset")
    return RawMessage(
        topic, partition, offset, message.key(), message.value(), LazyHeaders(message)
    )


class Batcher:
    """Maps consumed batches (see the module docstring)."""

    def __init__(
        self,
        settings: TransformsSettings,
        registry: MapperRegistry,
        *,
        gate: Gate,
        store: StateStore,
        reference: Reference,
        replays: ReplayGuard,
        references: ReferenceTopics,
        holds: Holds,
        waiting: Waiting,
        start_offsets: dict[TopicKey, int],
        writer: list[tuple[str, bytes]],
        stats: RunStats,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.gate = gate
        self.store = store
        self.reference = reference
        self.replays = replays
        self.references = references
        self.holds = holds
        self.waiting = waiting
        #: Where each assigned partition started (``transforms.placement``).
        self.start_offsets = start_offsets
        #: The header of this process's state records (``transforms.state_topic``).
        self.writer = writer
        self.stats = stats
        self.limit = QuarantineLimit(
            settings.quarantine_max_consecutive,
            settings.quarantine_max_ratio,
            settings.quarantine_window,
        )

    def map(self, consumer: Consumer, messages: Sequence[Message], consumed_ns: int = 0) -> Mapped:
        """Map, gate and serialize a batch; pause its held partitions at the held rows.

        Runs while the previous batch commits: its reference-state updates are already in the
        store (uncommitted), and if that commit fails this batch is rolled back with it.
        ``consumed_ns`` (``time.time_ns()`` when ``consume`` returned) goes into the trace
        headers when ``trace_hops`` is on.
        """
        # Each source in commit order: a reference change reaches exactly the rows committed
        # after it (``transforms.sequencing``). Rows may wait for a later batch.
        new = [self._sequenced(raw_message(message)) for message in messages]
        pending = self.waiting.merge
        pending.add(new)
        fresh = {id(row) for row in new}
        waits = len(new)
        held: dict[TopicKey, int] = {}
        self.holds.batch_started()
        outcomes: list[tuple[RawMessage, Outcome]] = []
        serialized: dict[RecordKey, Serialized] = {}
        settings = self.settings
        readings = self.waiting.readings(
            consumer, start_offsets=self.start_offsets, replays=self.replays, holds=self.holds
        )
        for row in pending.take(readings):
            raw = row.raw
            key = (raw.topic, raw.partition)
            waits -= id(row) in fresh
            outcome = process(raw, self.registry, self.reference, self.replays, row.decoded)
            if (
                isinstance(outcome, Quarantine)
                and outcome.reason in AWAITED_REFERENCES
                and self.holds.hold(consumer, key, raw.offset, outcome.reason)
            ):
                held[key] = raw.offset
                # It is read again, and the rows after it with it.
                waits -= sum(id(later) in fresh for later in pending.drop([key]))
                self.replays.undo(raw.topic, raw.partition)
                self.stats.held[outcome.reason] += 1
                continue
            self.holds.release(key)
            if isinstance(outcome, Emit):
                # Serialized and size-checked before its state reaches the store: an oversized
                # message is quarantined whole (librdkafka would refuse it inside the open
                # transaction, at every restart) and leaves no state behind.
                records_of = serialize(
                    outcome,
                    topic_prefix=settings.topic_prefix,
                    max_record_bytes=settings.max_record_bytes,
                    state_headers=self.writer,
                    schema_base_url=settings.schema_base_url,
                )
                if isinstance(records_of, Quarantine):
                    outcome = records_of
                else:
                    serialized[(raw.topic, raw.partition, raw.offset)] = records_of
                    for update in outcome.state:
                        self.store.apply(update)
            outcomes.append((raw, outcome))
        self.stats.held[COMMIT_ORDER] += waits
        self.waiting.note(bool(outcomes or held))
        routed = route(outcomes, self.gate)
        records, counts = self.records(routed, serialized, consumed_ns)
        positions = consumer.position(consumer.assignment())
        for tp in positions:
            key = (tp.topic, tp.partition)
            offset = held.get(key)
            if offset is None:
                offset = pending.first_offset(key)
            if offset is not None:
                tp.offset = offset
        positions = self.replays.stamp(positions)
        # Paused and sought now, before the next ``consume``: the rows after a held one are
        # read again with it, never in the next batch.
        self.holds.pause(consumer, held)
        self.waiting.limit(consumer)
        return Mapped(
            records,
            counts,
            positions,
            consumer.consumer_group_metadata(),
            messages=len(outcomes),
            reference=any(raw.topic in self.references for raw, _ in outcomes),
            figures=figures(routed),
        )

    def records(
        self,
        routed: Sequence[tuple[RawMessage, Outcome]],
        serialized: dict[RecordKey, Serialized],
        consumed_ns: int = 0,
    ) -> tuple[list[Record], dict[str, Counter[str]]]:
        """What a batch writes: canonical events, reference-state updates and quarantined
        originals (``serialized`` holds each ``Emit``'s records, made in ``map``); and the
        counts of each outcome. ``consumed_ns``: see ``map``."""
        settings = self.settings
        quarantine_topic = settings.topic(settings.quarantine_topic)
        state_topic = settings.topic(settings.state_topic)
        counts: dict[str, Counter[str]] = {
            "events": Counter(),
            "quarantined": Counter(),
            "skipped": Counter(),
        }
        self.limit.record_all(outcome for _, outcome in routed)
        records: list[Record] = []
        skipped: list[str] = []
        writer = self.writer
        trace = settings.trace_hops
        for raw, outcome in routed:
            if isinstance(outcome, Skip):  # most messages: counted in one go below
                skipped.append(outcome.reason)
                continue
            done = serialized.get((raw.topic, raw.partition, raw.offset))
            if isinstance(outcome, Emit) and done is not None:
                traced = _trace_header(raw, consumed_ns) if trace else None
                for event, record in zip(outcome.events, done.events, strict=True):
                    headers = record.headers if traced is None else [*record.headers, traced]
                    records.append((record.topic, record.key, record.value, headers))
                    counts["events"][event.event_type] += 1
            elif isinstance(outcome, Quarantine):
                headers = quarantine_headers(raw, outcome, instance=settings.transactional_id)
                records.append((quarantine_topic, raw.key, raw.value, headers))
                counts["quarantined"][outcome.reason] += 1
            if done is not None:
                # Also for a message the gate quarantined: its reference facts are in the store
                # already and the rest of the batch was mapped with them, so the state topic
                # keeps them too, or a restart would map the same rows differently.
                records.extend((state_topic, key, value, writer) for key, value in done.state)
        counts["skipped"].update(skipped)
        return records, counts

    def _sequenced(self, raw: RawMessage) -> Sequenced:
        topic = raw.topic
        return Sequenced(raw, decode(raw), system_of(topic), topic in self.references)


def _trace_header(raw: RawMessage, consumed_ns: int) -> tuple[str, bytes]:
    """The trace header of the events of ``raw`` (see ``TRACE_HEADER``)."""
    return TRACE_HEADER, f"{raw.topic}|{raw.partition}|{raw.offset}|{consumed_ns}".encode()
