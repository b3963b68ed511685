"""``scv epcis export`` and ``scv epcis run``: EPCIS 2.0 events from the canonical topics.

``export`` reads the canonical topics (``read_committed``, from their beginning: the item
master and the order lines of the events exported lie before them) up to their ends as of
the start, decides every candidate (``edi.epcis_flow``) and writes one ``EPCISDocument`` of
the events whose ``eventTime`` is at or after ``since`` to a file (temporary name, fsync,
rename: a reader never sees half a document).

``EpcisRun`` is the continuous stream ``scv.epcis.v1`` (one JSON-LD event a record, with its
``@context``), exactly once by Kafka transactions: it reads the canonical topics
``read_committed`` from the offsets its consumer group committed, and per batch, in **one
transaction**, produces the EPCIS events and rejects (``scv.epcis.rejects.v1``) the batch
decided and commits the offsets past it (``send_offsets_to_transaction``). A crash or
``kill -9`` leaves either the whole batch or nothing of it visible to ``read_committed``
readers; the restart's ``init_transactions`` (same ``transactional.id``) aborts what the dead
process left open.

The flow's state is not stored anywhere but derives from the records read: at start the run
reads back its own two output topics (which candidates were decided, which eventIDs exist)
and replays the canonical topics from their beginning up to the committed offsets through
``Flow.take``, which rebuilds the item master, the open orders and the candidates read but
still waiting, without deciding anything again. Each record carries the canonical event it
came from in the header ``scv_source_event_id``.

A committed offset that fell off a canonical topic's log (retention) stops the run with the
lost range named (``kafkaio.gaps``): never a silent jump.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

import kafkaio
from edi.epcis import epcis_document, standalone, to_json, utc_millis
from edi.epcis_flow import (
    Emitted,
    Flow,
    FlowStats,
    Outcome,
    Rejected,
    export_events,
    read_event,
)
from edi.errors import KafkaError, OutboxError
from edi.plan import EPOCH, Consumed, Unreadable, Where, stream_time
from edi.settings import EdiSettings
from kafkaio import client_config

Log = Callable[[str], None]
Partition = tuple[str, int]
#: The header naming the canonical event an output record was made from.
SOURCE_HEADER = "scv_source_event_id"
#: Seconds between two looks for new canonical partitions.
TOPICS_REFRESH_S = 5.0


def now() -> datetime:
    return datetime.now(UTC)


def _published(message: Message) -> datetime:
    kind, ms = message.timestamp()
    if kind == 0 or ms is None or ms < 0:  # TIMESTAMP_NOT_AVAILABLE
        return now()
    return datetime.fromtimestamp(ms / 1000, UTC)


def header(message: Message, name: str) -> bytes | None:
    headers = message.headers()
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    for key, value in pairs:
        if key == name:
            return value.encode() if isinstance(value, str) else value
    return None


def record(message: Message) -> Consumed | Unreadable | None:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise KafkaError("consumer returned a message without topic/partition/offset")
    where = Where(topic, partition, offset)
    return read_event(message.value(), header(message, "ce_type"), where, _published(message))


# --- the export ------------------------------------------------------------------------------


@dataclass
class ExportStats:
    records: int = 0
    events: int = 0
    #: Events decided but before ``since``.
    before: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    history: int = 0


def export(
    settings: EdiSettings,
    out: Path,
    *,
    since: datetime | None = None,
    created_at: datetime | None = None,
    log: Log = lambda _: None,
) -> ExportStats:
    """One EPCISDocument of the canonical topics as they stand now, written to ``out``."""
    flow = Flow(settings.gs1())
    stats = ExportStats()

    def records() -> Iterator[Consumed | Unreadable]:
        for message in kafkaio.read_committed(
            settings.kafka_bootstrap, settings.epcis_source_topics
        ):
            stats.records += 1
            if stats.records % 100_000 == 0:
                log(f"epcis: {stats.records} records read")
            item = record(message)
            if item is not None:
                yield item

    made = created_at or now()
    outcomes = export_events(flow, records(), made)
    events = []
    for outcome in outcomes:
        if isinstance(outcome, Rejected):
            stats.rejects[outcome.reason] += 1
            log(f"epcis: rejected {outcome.source_type} {outcome.source}: {outcome.detail}")
        elif since is None or outcome.event["eventTime"] >= utc_millis(since):
            events.append(outcome.event)
        else:
            stats.before += 1
    stats.events = len(events)
    stats.duplicates, stats.history = flow.stats.duplicates, flow.stats.history
    write_atomically(out, to_json(epcis_document(events, created_at=made)))
    return stats


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` to ``path`` by a temporary file in the same directory, fsync and rename."""
    directory = path.parent if str(path.parent) else Path()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutboxError(f"cannot write {path}: {exc.strerror or exc}") from None


# --- the continuous stream -------------------------------------------------------------------


@dataclass
class RunStats:
    messages: int = 0
    batches: int = 0
    events: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    #: Candidates still waiting when the run stopped.
    waiting: int = 0
    #: Decisions read back from the output topics at the start.
    recovered: int = 0
    seconds: float = 0.0


def reject_value(reject: Rejected) -> bytes:
    where = reject.where
    return orjson.dumps(
        {
            "source_event_id": None if reject.source is None else str(reject.source),
            "source_event_type": reject.source_type,
            "reason": reject.reason,
            "detail": reject.detail,
            "topic": where.topic if where else None,
            "partition": where.partition if where else None,
            "offset": where.offset if where else None,
        }
    )


class EpcisRun:
    """The canonical topics → ``scv.epcis.v1``, one Kafka transaction per batch."""

    def __init__(
        self,
        settings: EdiSettings,
        *,
        log: Log = lambda _: None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.settings = settings
        self.log = log
        self.clock = clock
        self.flow = Flow(settings.gs1())
        self.stats = RunStats()
        self._stop: str | None = None
        self._admin: AdminClient | None = None
        self._committed: dict[Partition, int] = {}

    def stop(self, reason: str) -> None:
        self._stop = reason

    @contextmanager
    def _signals(self) -> Iterator[None]:
        def handler(signum: int, _frame: FrameType | None) -> None:
            self.stop(signal.Signals(signum).name)

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    # -- start ---------------------------------------------------------------------------------

    def _producer(self) -> Producer:
        s = self.settings
        producer = Producer(
            client_config(
                s.kafka_bootstrap,
                {
                    "transactional.id": s.epcis_transactional_id,
                    "transaction.timeout.ms": s.epcis_transaction_timeout_ms,
                    "linger.ms": 5,
                    "retry.backoff.ms": 10,
                },
            )
        )
        # Fences a previous run with the same id and aborts the transaction it left open.
        producer.init_transactions(60)
        return producer

    def _consumer(self) -> Consumer:
        return Consumer(
            client_config(
                self.settings.kafka_bootstrap,
                {
                    "group.id": self.settings.epcis_group,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "isolation.level": "read_committed",
                    # Every partition is placed explicitly (``_assign``): never a silent jump.
                    "auto.offset.reset": "error",
                    "enable.partition.eof": True,
                },
            )
        )

    def _ensure_topics(self) -> None:
        s = self.settings
        replication = s.epcis_replication
        topics = [
            NewTopic(name, num_partitions=s.epcis_partitions, replication_factor=replication)
            for name in s.epcis_topics
        ]
        kafkaio.ensure_topics(s.kafka_bootstrap, topics, admin=self._admin)

    def recover(self, consumer: Consumer) -> dict[Partition, int]:
        """What was decided (the output topics) and the flow's state (the canonical topics up
        to the committed offsets); returns where each known partition goes on."""
        s = self.settings
        for message in kafkaio.read_committed(s.kafka_bootstrap, list(s.epcis_topics)):
            source = header(message, SOURCE_HEADER)
            if source is None:
                continue  # an unreadable canonical record's reject: nothing to remember
            event_id = None
            if message.topic() == s.epcis_topics[0]:
                event_id = str(orjson.loads(message.value() or b"{}").get("eventID"))
            self.flow.remember(uuid.UUID(source.decode()), event_id)
            self.stats.recovered += 1
        parts = kafkaio.partitions(s.kafka_bootstrap, s.epcis_source_topics, admin=self._admin)
        committed = kafkaio.committed_offsets(consumer, parts, group=s.epcis_group)
        starts, gaps = kafkaio.resume_positions(s.kafka_bootstrap, committed, admin=self._admin)
        if gaps:
            raise KafkaError(
                f"epcis: committed offsets no longer in the log: {kafkaio.describe_gaps(gaps)}"
            )
        replay = {part: offset for part, offset in committed.items() if offset > 0}
        replayed = 0
        for message in kafkaio.read_range(s.kafka_bootstrap, {}, replay, admin=self._admin):
            item = record(message)
            if item is not None and isinstance(item, Consumed):
                self.flow.take(item)
                replayed += 1
        self._committed = {part: max(offset, 0) for part, offset in committed.items()}
        # The replay met the decided candidates again: not duplicates of this run.
        self.flow.stats = FlowStats()
        self.log(
            f"epcis: {self.stats.recovered} decisions read back, {replayed} canonical events "
            f"replayed up to the committed offsets of {len(replay)} partitions; "
            f"{len(self.flow.held)} candidates waiting, {len(self.flow.orders)} open orders"
        )
        return starts

    # -- the loop ------------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False) -> RunStats:
        started = time.monotonic()
        self._admin = kafkaio.admin_client(self.settings.kafka_bootstrap)
        self._ensure_topics()
        producer = self._producer()
        consumer = self._consumer()
        try:
            starts = self.recover(consumer)
            with self._signals():
                self._loop(consumer, producer, starts, until_idle=until_idle)
        finally:
            consumer.close()
            producer.flush(10)
            self.stats.seconds = time.monotonic() - started
            self.stats.waiting = len(self.flow.held)
        return self.stats

    def _assign(
        self, consumer: Consumer, known: set[Partition], starts: Mapping[Partition, int]
    ) -> None:
        found = kafkaio.partitions(
            self.settings.kafka_bootstrap, self.settings.epcis_source_topics, admin=self._admin
        )
        new = [tp for tp in found if tp not in known]
        if not new:
            return
        # A partition not there at the start is new: read from its beginning.
        consumer.incremental_assign(
            [TopicPartition(t, p, starts.get((t, p), OFFSET_BEGINNING)) for t, p in new]
        )
        known.update(new)
        self.log(f"epcis: reading {len(known)} partitions")

    def _loop(
        self,
        consumer: Consumer,
        producer: Producer,
        starts: Mapping[Partition, int],
        *,
        until_idle: bool,
    ) -> None:
        s = self.settings
        wait = timedelta(seconds=s.epcis_wait_s)
        known: set[Partition] = set()
        at_end: set[Partition] = set()
        last_read: dict[Partition, datetime] = {}
        refreshed = 0.0
        quiet_since = time.monotonic()
        while self._stop is None:
            if time.monotonic() - refreshed >= TOPICS_REFRESH_S:
                self._assign(consumer, known, starts)
                refreshed = time.monotonic()
            batch: list[Message] = []
            for message in consumer.consume(s.batch_size, timeout=s.batch_timeout_s):
                error = message.error()
                where = (message.topic() or "", message.partition() or 0)
                if error is None:
                    at_end.discard(where)
                    batch.append(message)
                elif error.code() == RdKafkaError._PARTITION_EOF:
                    at_end.add(where)
                elif error.fatal() or error.code() == RdKafkaError._AUTO_OFFSET_RESET:
                    raise KafkaError(f"epcis: consumer: {error.str()}")
                else:
                    self.log(f"epcis: consumer: {error.str()}")
            offsets: dict[Partition, int] = {}
            outcomes: list[Outcome] = []
            for message in batch:
                item = record(message)
                where = (str(message.topic()), int(message.partition() or 0))
                offsets[where] = int(message.offset() or 0) + 1
                last_read[where] = max(last_read.get(where, EPOCH), _published(message))
                if item is not None:
                    rejected = self.flow.take(item)
                    if rejected is not None:
                        outcomes.append(rejected)
            drained = self._drained(consumer, known, at_end)
            if self.flow.held:
                progress = stream_time(known, last_read, drained)
                outcomes += self.flow.release(progress, self.clock(), wait)
            if batch or outcomes:
                quiet_since = time.monotonic()
                self._commit(producer, consumer, outcomes, offsets)
                self.stats.messages += len(batch)
            if (
                until_idle
                and not batch
                and known
                and drained >= known
                and not self.flow.held
                and time.monotonic() - quiet_since >= s.idle_s
            ):
                self.stop("idle")
        self.stats.duplicates = self.flow.stats.duplicates
        self.log(f"epcis: stopping: {self._stop}")

    def _drained(
        self, consumer: Consumer, known: set[Partition], at_end: set[Partition]
    ) -> set[Partition]:
        """Partitions read to their high watermark (the end of partition alone may be a last
        stable offset in front of an open transaction that will still commit)."""
        candidates = sorted(at_end & known)
        if not candidates:
            return set()
        bootstrap = self.settings.kafka_bootstrap
        ends = kafkaio.high_watermarks(bootstrap, candidates, admin=self._admin)
        drained = set()
        for tp in consumer.position([TopicPartition(t, p) for t, p in candidates]):
            where = (tp.topic, tp.partition)
            at = tp.offset if tp.offset >= 0 else self._committed.get(where, 0)
            if at >= ends[where]:
                drained.add(where)
        return drained

    def _commit(
        self,
        producer: Producer,
        consumer: Consumer,
        outcomes: Iterable[Outcome],
        offsets: Mapping[Partition, int],
    ) -> None:
        topic, rejects = self.settings.epcis_topics
        try:
            producer.begin_transaction()
            for outcome in outcomes:
                source = b"" if outcome.source is None else str(outcome.source).encode()
                headers: list[tuple[str, str | bytes | None]] = []
                if outcome.source is not None:
                    headers.append((SOURCE_HEADER, source))
                if isinstance(outcome, Emitted):
                    producer.produce(
                        topic,
                        value=to_json(standalone(outcome.event)),
                        key=outcome.event_id.encode(),
                        headers=[*headers, ("content-type", b"application/ld+json")],
                    )
                    self.stats.events += 1
                else:
                    value = reject_value(outcome)
                    producer.produce(rejects, value=value, key=source, headers=headers)
                    self.stats.rejects[outcome.reason] += 1
                    self.log(
                        f"epcis: rejected {outcome.source_type or 'record'} "
                        f"{outcome.source or ''}: {outcome.reason}: {outcome.detail}"
                    )
                producer.poll(0)
            if offsets:
                producer.send_offsets_to_transaction(
                    [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())],
                    consumer.consumer_group_metadata(),
                    30,
                )
            producer.commit_transaction(60)
        except KafkaException as exc:
            # Nothing of the batch is visible; the flow's state moved on with it, so the
            # process stops and a restart rebuilds it from the committed offsets.
            error: RdKafkaError = exc.args[0]
            if not error.fatal():
                _abort(producer, self.log)
            raise KafkaError(
                f"epcis: transaction failed, nothing of it visible: {error.str()}"
            ) from None
        self._committed.update(offsets)
        self.stats.batches += 1


def _abort(producer: Producer, log: Log) -> None:
    try:
        producer.abort_transaction(30)
    except KafkaException as exc:
        # The broker aborts it after transaction.timeout.ms in any case.
        log(f"epcis: abort not confirmed ({exc.args[0].str()}): the broker aborts it on timeout")
