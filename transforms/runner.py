"""The exactly-once runner: the only confluent-kafka consume → transform → produce loop.

One Kafka transaction per batch::

    consume(num_messages=N) → process each (parse, map) → gate → serialize → produce canonical
    events, quarantine records and reference-state updates → send_offsets_to_transaction →
    commit

so the outputs of a batch and the consumer offsets that produced them become visible to
``read_committed`` readers together, or not at all. The offsets and the commit of a batch
travel on a thread of their own while the next batch is consumed, mapped and gated (so the
broker's round trips overlap the work); the next batch is produced once that
commit succeeded, and if it failed both batches are rolled back and read again.

Several instances share the raw partitions through one consumer group; each has its own
``transactional.id`` (``<prefix>-<instance>``), and KIP-447 (``consumer_group_metadata``)
fences a zombie after a rebalance. Rebalance callbacks only run inside ``consume``; a
revocation first waits for the commit in flight. SIGTERM/SIGINT finish the open batch (commit)
and stop; an error aborts it and nothing of it is visible.

Debezium writes the changes since its last flushed offset again after a Connect restart; the
runner skips those copies by source position (``transforms.replays``), with each partition's
mark committed as its offset's metadata. The broker going away never hangs the runner: every
wait on a commit is bounded (``transforms.transactions``), a failed batch is aborted and read
again, and a commit stuck in the client raises ``RunnerStalled``, on which ``scv pipeline run``
starts over in a fresh process from the committed offsets.

Reference data arrives on other topics than the rows that need it (an order line can be read
before its item). A row whose mapping misses reference data that may still come (item, UoM
conversion, WMS order, location: ``AWAITED_REFERENCES``) is *held*: its partition's offset is
committed up to the row, not past it, and the partition pauses and is re-read after
``reference_retry_s`` (sooner, at the next batch, once reference rows were committed after it
paused). The hold ends when the row maps, or it is quarantined once every
reference partition has been committed up to where it ended when the hold began (whatever
instance owns it) and the state topic has been read again, or after ``reference_wait_s`` at
most. Nothing is skipped, so nothing is lost or produced twice.

A reference fact that *changed* is joined in source commit order (``transforms.sequencing``):
each source is mapped as a merge of its partitions by commit order, and a row that a partition
of the other kind may still precede waits in memory (``_pending``, counted as held for
``commit_order``), its partition committed up to it.

No raw record is skipped without a word (``kafkaio.gaps``): the consumer runs with
``auto.offset.reset=error`` and the runner places each assigned partition itself, at its
committed offset, or at the beginning of its log when it has none (a first start). A committed
offset that fell off the log (retention, ``delete_records``) stops the runner with
``OffsetGap`` naming the partition and the lost range, unless ``allow_gap`` (``--allow-gap``):
then the range is logged, counted in ``RunStats.gaps`` and the partition read on from its log
start. A fetch that finds its offset gone later (a reader slower than retention) stops that
partition's fetch (librdkafka's ``_AUTO_OFFSET_RESET`` error); the runner settles the batch in
flight and assigns every partition again from the committed offsets, deciding the same way.
"""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, overload

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    OffsetSpec,
)

import kafkaio
from kafkaio import client_config
from transforms.errors import (
    InvalidStateRecord,
    KafkaError,
    KafkaTransientError,
    OffsetGap,
    RunnerStalled,
)
from transforms.observe import BatchFigures, RunnerMetrics, figures
from transforms.pipeline import (
    AWAITED_REFERENCES,
    Emit,
    Gate,
    Outcome,
    PassThroughGate,
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
from transforms.reference import Reference, StateStore, decode_state_record
from transforms.registry import MapperRegistry
from transforms.replays import ReplayGuard
from transforms.sequencing import CommitOrderMerge, PartitionReading, Sequenced
from transforms.settings import TransformsSettings
from transforms.topics import ensure_topics
from transforms.transactions import (
    CommitThread,
    abort_quietly,
    client_logger,
    commit,
    transaction_failed,
    wait,
)

Log = Callable[[str], None]

#: The count of rows that waited in memory for their turn in commit order.
COMMIT_ORDER = "commit_order"
#: Rows waiting that long for their turn with none moving are reported (one line).
PENDING_REPORT_S = 30.0
#: How long ``consume`` waits for more while rows wait for their turn.
PENDING_POLL_S = 0.01
#: How long looking up where the assigned partitions' logs start and end may take in a
#: rebalance callback (past it the committed offsets are used as they are; a gap then shows
#: when a fetch fails).
LOG_BOUNDS_DEADLINE_S = 10.0


@dataclass
class RunStats:
    messages: int = 0
    batches: int = 0
    aborted_batches: int = 0
    events: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    #: Rows held back waiting for reference data, by reason (a row may be held many times).
    held: Counter[str] = field(default_factory=Counter)
    #: State-topic records skipped at load or catch-up, by reason (``decode_state_record``).
    bad_state: Counter[str] = field(default_factory=Counter)
    #: Ranges of raw offsets deleted before they were read, skipped by ``allow_gap``.
    gaps: list[kafkaio.Gap] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events_total(self) -> int:
        return sum(self.events.values())


TopicKey = tuple[str, int]


@dataclass
class _Hold:
    """A partition waiting at ``offset`` for reference data (see the module docstring)."""

    offset: int
    reason: str
    since: float
    #: Reference partitions and their end offsets when the hold began.
    ends: _Ends
    #: Every reference partition was committed up to ``ends`` (checked before a state read).
    settled: bool = False
    paused_at: float = 0.0


class _Ends:
    """End offsets of the reference partitions, asked for when a hold begins and read when a
    hold is reviewed (``reference_retry_s`` later): the broker's answer never blocks a batch."""

    def __init__(self, futures: dict[Any, Any]) -> None:
        self._futures = futures
        self._ends: dict[TopicKey, int] | None = None

    def get(self) -> dict[TopicKey, int]:
        if self._ends is None:
            self._ends = {
                (tp.topic, tp.partition): int(future.result(10).offset)
                for tp, future in self._futures.items()
            }
        return self._ends


Record = tuple[str, bytes | None, bytes | None, Any]  # topic, key, value, headers
#: A consumed record's place: (topic, partition, offset).
RecordKey = tuple[str, int, int]


@dataclass
class _Mapped:
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


@dataclass
class _InFlight:
    """A produced batch whose offsets and commit are on their way (the commit thread)."""

    future: Future[None]
    #: The batch's reference-state updates end here in the store's undo log.
    savepoint: int
    mapped: _Mapped


class _Headers(Sequence[tuple[str, str | bytes | None]]):
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
    return RawMessage(topic, partition, offset, message.key(), message.value(), _Headers(message))


#: How often the consumer, and the runner's list of reference partitions, see new topics.
METADATA_REFRESH_S = 10.0

#: The interpreter's thread switch interval for a runner process (``sys.setswitchinterval``).
#: The commit thread needs the GIL back after each client call, and at the default 5 ms it
#: waits behind the mapping thread for most of it (figures: docs/benchmarks.md).
COMMIT_SWITCH_INTERVAL_S = 0.0005


def _common(settings: TransformsSettings) -> dict[str, Any]:
    return client_config(
        settings.kafka_bootstrap,
        {
            "client.id": settings.transactional_id,
            # A broker outage is one line per state change, not one per reconnect attempt.
            "logger": client_logger(settings.transactional_id),
        },
    )


def producer_config(settings: TransformsSettings) -> dict[str, Any]:
    """The transactional producer's librdkafka config (the passthrough benchmark reuses it)."""
    return {
        **_common(settings),
        "transactional.id": settings.transactional_id,
        "transaction.timeout.ms": settings.transaction_timeout_ms,
        "linger.ms": 5,
        "compression.type": "lz4",
        # A transaction begun right after the previous commit often finds the coordinator
        # still writing that commit's markers (CONCURRENT_TRANSACTIONS) and is retried after
        # this back-off, which at the default 100 ms stalls batches (docs/benchmarks.md).
        # Repeated failures still back off exponentially.
        "retry.backoff.ms": 10,
    }


def consumer_config(settings: TransformsSettings) -> dict[str, Any]:
    """The raw-topic consumer's librdkafka config (the passthrough benchmark reuses it)."""
    return {
        **_common(settings),
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        # Never jump over records deleted before they were read: every partition is placed
        # explicitly on assignment (``Runner._starts``) and a fetch whose offset is gone is an
        # error the runner handles (``kafkaio.gaps``). With "earliest" it was a silent skip.
        "auto.offset.reset": "error",
        # The eager protocol, stated: ``Runner._on_assign`` places the partitions with
        # ``assign`` (librdkafka's default may move to KIP-848's, where that is refused).
        "group.protocol": "classic",
        "partition.assignment.strategy": "range,roundrobin",
        # New raw topics (a table added to a connector) are picked up within 10 s.
        "topic.metadata.refresh.interval.ms": int(METADATA_REFRESH_S * 1000),
        # A killed instance's partitions move to the others after 10 s, not 45 s.
        "session.timeout.ms": settings.session_timeout_ms,
    }


class Runner:
    """Runs the pipeline until stopped (signal, ``until_idle``, or an error)."""

    def __init__(
        self,
        settings: TransformsSettings,
        registry: MapperRegistry,
        *,
        gate: Gate | None = None,
        log: Log = lambda _line: None,
        metrics: RunnerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else RunnerMetrics()
        self.registry = registry
        self.gate: Gate = gate or PassThroughGate()
        self.log = log
        self.store = StateStore()
        self.reference = Reference(self.store, settings.site_zones)
        #: Debezium's replays after a Connect restart, recognised per raw partition.
        self.replays = ReplayGuard()
        self.limit = QuarantineLimit(
            settings.quarantine_max_consecutive,
            settings.quarantine_max_ratio,
            settings.quarantine_window,
        )
        self.stats = RunStats()
        self._stop_reason: str | None = None
        self._assigned_at = 0.0
        self._reference_tables = {(m.system, m.table) for m in registry if m.reference}
        self._topic_is_reference: dict[str, bool] = {}
        self._holds: dict[TopicKey, _Hold] = {}
        #: Rows read but not mapped yet: they wait for their turn in commit order
        #: (``transforms.sequencing``); a partition is committed up to its first.
        self._pending = CommitOrderMerge()
        #: Partitions paused because ``batch_size`` rows of theirs wait in ``_pending``.
        self._full: set[TopicKey] = set()
        #: When rows last left ``_pending`` or it was empty (a long wait is logged).
        self._pending_moved_at = time.monotonic()
        #: Where each assigned partition started (its committed offset; -1001 if none): the
        #: position of a partition nothing has been read from yet.
        self._start_offsets: dict[TopicKey, int] = {}
        self._source = re.compile(settings.source_pattern)
        #: Reference ends fetched for the batch in progress (one request per batch, not per
        #: held partition); reset when a batch starts.
        self._batch_ends: _Ends | None = None
        self._admin: AdminClient | None = None
        self._reference_cache: tuple[float, list[TopicPartition]] = (-METADATA_REFRESH_S, [])
        #: When reference facts last reached the store: a committed batch with reference rows,
        #: or other instances' records read from the state topic.
        self._reference_news_at = 0.0
        #: The header of this process's state records (its catch-up skips them). Unique per
        #: process: a restarted instance must read back what its predecessor wrote.
        writer = f"{settings.transactional_id}:{uuid.uuid4().hex[:12]}"
        self._writer: list[tuple[str, bytes]] = [("scv_writer", writer.encode())]
        #: The batch being committed on ``_committer`` while the next one is mapped.
        self._in_flight: _InFlight | None = None
        self._committer: CommitThread | None = None
        #: A batch failed and the consumer must go back to the committed offsets first.
        self._rewind_due = False
        #: When the broker stopped answering (an outage longer than ``outage_deadline_s``
        #: ends the runner).
        self._failing_since: float | None = None
        #: A commit that failed while a rebalance waited for it (handled after ``consume``).
        self._aborted: KafkaTransientError | None = None
        #: Partitions whose fetch stopped on an offset reset (``auto.offset.reset=error``),
        #: with the offset it wanted: every partition is assigned again (``_reassign``).
        self._resets: dict[TopicKey, int] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """Ask the loop to stop after the open batch (safe from a signal handler)."""
        self._stop_reason = reason

    @property
    def stopping(self) -> bool:
        return self._stop_reason is not None

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

    def _common(self) -> dict[str, Any]:
        return _common(self.settings)

    def run(self, *, until_idle: bool = False, install_signals: bool = True) -> RunStats:
        settings = self.settings
        admin_config: dict[str, Any] = client_config(
            settings.kafka_bootstrap,
            {
                "logger": client_logger(settings.transactional_id),
            },
        )
        admin = AdminClient(admin_config)
        self._admin = admin
        producer = Producer(producer_config(settings))
        consumer = Consumer(consumer_config(settings))
        state_consumer = Consumer(
            {
                **self._common(),
                "group.id": f"{settings.group_id}.state.{settings.instance_id}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        started = time.monotonic()
        context = self._signals() if install_signals else _nothing()
        self._committer = CommitThread()
        stalled = False
        try:
            with context:
                self._until_broker(
                    "creating topics", lambda: ensure_topics(settings, admin, self.log)
                )
                # Registering fences a predecessor and aborts what it left open.
                self._until_broker(
                    "registering the transactional id", lambda: producer.init_transactions(30)
                )
                self._until_broker(
                    "loading the reference state", lambda: self._load_state(state_consumer)
                )
                consumer.subscribe(
                    [settings.source_pattern],
                    on_assign=self._on_assign,
                    on_revoke=self._on_revoke,
                    on_lost=self._on_revoke,
                )
                self._loop(consumer, producer, state_consumer, until_idle=until_idle)
        except RunnerStalled:
            stalled = True
            raise
        finally:
            if not stalled:
                self._settle_quietly()
            # A batch mapped but never produced (an error in it) leaves no state behind.
            self.store.abort()
            self._committer.close()
            self.stats.seconds = time.monotonic() - started
            if not stalled:  # a stalled client's close can block as long as its stuck call
                consumer.close()
                state_consumer.close()
                _flush(producer)
        return self.stats

    def _until_broker(self, what: str, call: Callable[[], object]) -> None:
        """``call`` once the broker answers: a start during an outage (or right after one, a
        restart in place) waits for it, up to ``outage_deadline_s``, with one line."""
        deadline = time.monotonic() + self.settings.outage_deadline_s
        waiting = False
        while True:
            try:
                call()
                return
            except (KafkaException, kafkaio.KafkaIORetryableError) as exc:
                fatal = isinstance(exc, KafkaException) and exc.args[0].fatal()
                why = exc.args[0].str() if isinstance(exc, KafkaException) else str(exc)
                if fatal or time.monotonic() >= deadline or self.stopping:
                    raise RunnerStalled(f"{what}: the broker did not answer: {why}") from None
                if not waiting:
                    self.log(f"{what}: waiting for the broker ({why})")
                    waiting = True
                time.sleep(1)

    # -- reference state -------------------------------------------------------------------

    def _load_state(self, state_consumer: Consumer) -> None:
        """Rebuild the reference store from the compacted state topic, up to its end.

        The end is the high watermark, and the read waits for an open transaction (another
        instance's batch) rather than stopping in front of it: a part of the state would map
        rows with facts missing. The catch-up (``state_consumer``) goes on from there."""
        topic = self.settings.topic(self.settings.state_topic)
        bootstrap = self.settings.kafka_bootstrap
        parts = kafkaio.partitions(bootstrap, [topic], admin=self._admin)
        ends = kafkaio.high_watermarks(bootstrap, parts, admin=self._admin)
        for message in kafkaio.read_range(bootstrap, {}, ends, admin=self._admin):
            self._load_state_record(message)
        state_consumer.assign([TopicPartition(t, p, ends[(t, p)]) for t, p in parts])
        self.log(f"reference state: {len(self.store)} keys loaded from {topic}")

    def _load_state_record(self, message: Message) -> None:
        try:
            loaded = decode_state_record(message.key(), message.value())
        except InvalidStateRecord as exc:
            # Stopping here would stop every start on the same record; a later record of the
            # key replaces it (compaction), and the rows needing it quarantine with a reason.
            self.stats.bad_state[exc.reason] += 1
            self.log(
                f"state record {message.topic()}[{message.partition()}]@{message.offset()} "
                f"skipped: {exc}"
            )
            return
        if loaded is not None:
            self.store.load(*loaded)

    def _catch_up_state(self, state_consumer: Consumer) -> None:
        """Apply what other instances committed since the last batch (never blocks).

        This instance's own records are skipped: the store had them when they were written,
        and read back late they would put back a value a newer batch has changed.
        """
        writer = self._writer
        while True:
            messages = state_consumer.consume(num_messages=10_000, timeout=0)
            if not messages:
                return
            news = False
            for message in messages:
                if not message.error() and message.headers() != writer:
                    self._load_state_record(message)
                    news = True
            if news:
                self._reference_news_at = time.monotonic()

    # -- the loop --------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned_at = time.monotonic()
        committed = _committed(consumer, partitions)
        self._start_offsets.update({(tp.topic, tp.partition): tp.offset for tp in committed})
        # Each partition's replay mark was committed with its offset (by whichever instance).
        self.replays.restore(committed)
        try:
            starts = self._starts(committed)
        except KafkaTransientError as exc:
            # Not worth failing the rebalance for: a committed offset that is gone makes its
            # fetch fail, and that is handled in the loop (``_reassign``).
            self.log(f"{exc}: reading from the committed offsets")
            starts = [
                TopicPartition(
                    tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                )
                for tp in committed
            ]
        # Placed explicitly (the eager protocol: ``assign``): with auto.offset.reset=error a
        # partition left to the client without a committed offset would not be read at all.
        consumer.assign(starts)
        self.log(f"assigned {len(partitions)} partitions")

    def _starts(self, committed: list[TopicPartition]) -> list[TopicPartition]:
        """Where each partition starts (``kafkaio.start_positions``): its committed offset, or
        the beginning of its log if it has none. A committed offset no longer in the log
        raises ``OffsetGap`` unless ``allow_gap``: then it is logged, counted, and the
        partition starts at its log start."""
        settings = self.settings
        try:
            positions, gaps = kafkaio.resume_positions(
                settings.kafka_bootstrap,
                {(tp.topic, tp.partition): tp.offset for tp in committed},
                admin=self._admin,
                deadline_s=LOG_BOUNDS_DEADLINE_S,
            )
        except kafkaio.KafkaIOError as exc:
            raise KafkaTransientError(f"where the raw logs start not known: {exc}") from None
        if gaps and not settings.allow_gap:
            raise OffsetGap(
                f"raw records were deleted before the pipeline read them: "
                f"{kafkaio.describe_gaps(gaps)}. Nothing was skipped; to read on from the log "
                "start, losing them, run `scv pipeline run --allow-gap` "
                "(SCV_TRANSFORMS_ALLOW_GAP=1)",
                gaps,
            )
        for gap in gaps:
            self.log(f"gap skipped (allow_gap): {gap.describe()}; reading on from {gap.log_start}")
            self.stats.gaps.append(gap)
            self._start_offsets[(gap.topic, gap.partition)] = gap.log_start
        starts = []
        for tp in committed:
            offset = positions[(tp.topic, tp.partition)]
            if offset == tp.offset and tp.leader_epoch is not None:
                # As the client would start there itself: the epoch lets it validate the
                # offset against the leader's log (KIP-320).
                starts.append(
                    TopicPartition(tp.topic, tp.partition, offset, leader_epoch=tp.leader_epoch)
                )
            else:
                starts.append(TopicPartition(tp.topic, tp.partition, offset))
        return starts

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The next owner starts at the committed offsets, so the batch in flight is committed
        # (or aborted) before the partitions go; for a held partition that is the held row.
        try:
            self._await_commit()
        except KafkaTransientError as exc:
            self._aborted = exc
        # A held partition is paused, and the client keeps it paused if it comes back to this
        # instance: resume it now, or with its hold gone nothing would ever resume it (the
        # group would stall).
        held = [
            tp
            for tp in partitions
            if self._holds.pop((tp.topic, tp.partition), None)
            or (tp.topic, tp.partition) in self._full
        ]
        self._pending.drop((tp.topic, tp.partition) for tp in partitions)
        self._full.difference_update((tp.topic, tp.partition) for tp in partitions)
        if held:
            consumer.resume(held)
        for tp in partitions:
            self._start_offsets.pop((tp.topic, tp.partition), None)
        self.replays.forget(partitions)

    def _caught_up(self, consumer: Consumer) -> bool:
        """Every assigned partition is read up to its end (``--until-idle``)."""
        assignment = consumer.assignment()
        if not assignment or len(self._pending):
            return False
        positions = consumer.position(assignment)
        unknown = [tp for tp in positions if tp.offset < 0]
        committed = {(tp.topic, tp.partition): tp.offset for tp in positions if tp.offset >= 0}
        if unknown:
            for tp in consumer.committed(unknown, timeout=10):
                committed[(tp.topic, tp.partition)] = tp.offset
        for tp in assignment:
            low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            offset = committed.get((tp.topic, tp.partition), -1)
            if high > low and offset < high:
                return False
        return True

    def _is_reference(self, topic: str) -> bool:
        known = self._topic_is_reference.get(topic)
        if known is None:
            parts = topic.split(".")
            known = self._topic_is_reference[topic] = (
                parts[0],
                parts[-1],
            ) in self._reference_tables
        return known

    def _loop(
        self,
        consumer: Consumer,
        producer: Producer,
        state_consumer: Consumer,
        *,
        until_idle: bool,
    ) -> None:
        settings = self.settings
        last_message = time.monotonic()
        self._assigned_at = 0.0
        while self._stop_reason is None:
            try:
                if self._resets:
                    self._reassign(consumer)
                elif self._rewind_due:
                    self._rewind(consumer)
                if self._holds:
                    self._review_holds(consumer)
                # Rows waiting for their turn wait for rows the client has (nearly) fetched
                # already: take them at once rather than after a batch's full timeout.
                timeout = PENDING_POLL_S if len(self._pending) else settings.batch_timeout_s
                messages = consumer.consume(num_messages=settings.batch_size, timeout=timeout)
                batch = [m for m in messages if self._usable(m)]
                if self._resets:
                    continue  # read again from the committed offsets (``_reassign``)
                if self._aborted is not None:  # during a rebalance in ``consume``
                    raise self._aborted
                if not batch and not len(self._pending):
                    self._await_commit()  # nothing to map meanwhile
                    quiet_since = max(last_message, self._assigned_at)
                    idle = time.monotonic() - quiet_since >= settings.idle_s
                    if until_idle and idle and self._caught_up(consumer):
                        self.stop("idle")
                    continue
                if batch:
                    last_message = time.monotonic()
                self._catch_up_state(state_consumer)
                mapped = self._map(consumer, batch)
                self._await_commit()
                if mapped.messages or mapped.records:
                    self._send(producer, mapped)
                self._failing_since = None
            except KafkaTransientError as exc:
                self._redo(str(exc))
            except KafkaException as exc:  # a consumer call failed (broker unreachable)
                error = exc.args[0]
                if error.fatal():
                    raise KafkaError(f"consumer: {error.str()}") from None
                self._redo(error.str())
        try:
            self._await_commit()
        except KafkaTransientError as exc:
            self.log(f"last batch aborted (it is read again at the next start): {exc}")
            self.stats.aborted_batches += 1
            self.store.abort()
        self.log(f"stopping: {self._stop_reason}")

    def _redo(self, why: str) -> None:
        """After a failed batch: settle the commit in flight, roll back what is not committed
        and read on from the committed offsets (``_rewind``, at the top of the loop, until it
        succeeds). The broker gone for longer than ``outage_deadline_s`` ends the runner."""
        self._aborted = None
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            self.log(f"batch aborted, re-reading it: {why}")
        elif now - self._failing_since >= self.settings.outage_deadline_s:
            raise RunnerStalled(
                f"no batch committed for {now - self._failing_since:.0f}s "
                f"(outage_deadline_s): {why}"
            )
        else:
            time.sleep(min(1.0, self.settings.batch_timeout_s * 5))  # a back-off while it lasts
        self.stats.aborted_batches += 1
        try:
            self._await_commit()
        except KafkaTransientError as settled:
            self.log(f"the batch before it was aborted too: {settled}")
        self.store.abort()
        self._rewind_due = True

    # -- holding rows back for reference data ------------------------------------------------

    def _reference_partitions(self, consumer: Consumer) -> list[TopicPartition]:
        # Topics change as rarely as the consumer's own metadata refresh notices them, so the
        # list is kept that long rather than asked for on every batch with a hold.
        fetched_at, cached = self._reference_cache
        if time.monotonic() - fetched_at < METADATA_REFRESH_S:
            return cached
        topics = consumer.list_topics(timeout=10).topics
        found = [
            TopicPartition(name, p)
            for name, meta in sorted(topics.items())
            if self._source.match(name) and self._is_reference(name)
            for p in meta.partitions
        ]
        self._reference_cache = (time.monotonic(), found)
        return found

    def _reference_ends(self, consumer: Consumer) -> _Ends:
        # One ListOffsets request for all reference partitions (latest = the high watermark),
        # sent now and read when the hold is reviewed, so no batch waits for it here.
        if self._admin is None:
            raise KafkaError("the runner's admin client is not open")
        wanted = {
            TopicPartition(tp.topic, tp.partition): OffsetSpec.latest()  # type: ignore[no-untyped-call]
            for tp in self._reference_partitions(consumer)
        }
        return _Ends(self._admin.list_offsets(wanted, request_timeout=10) if wanted else {})

    def _review_holds(self, consumer: Consumer) -> None:
        """Settle holds whose reference partitions are committed to their ends; resume the
        paused partitions that waited ``reference_retry_s``. Runs before the state catch-up,
        so a settled hold is re-tried against every reference fact committed so far."""
        now = time.monotonic()
        retry_s = self.settings.reference_retry_s
        # A held row is tried again at the next batch once reference facts arrived after it
        # paused (on a backlog, its item or order is usually a batch or two behind it), and
        # after ``reference_retry_s`` at the latest.
        news = self._reference_news_at
        due = [
            (key, hold)
            for key, hold in self._holds.items()
            if hold.paused_at and (news > hold.paused_at or now - hold.paused_at >= retry_s)
        ]
        if not due:
            return
        wanted = sorted({k for _, hold in due if not hold.settled for k in hold.ends.get()})
        committed: dict[TopicKey, int] = {}
        if wanted:
            for tp in consumer.committed([TopicPartition(t, p) for t, p in wanted], timeout=10):
                committed[(tp.topic, tp.partition)] = tp.offset
        resume = []
        for key, hold in due:
            if not hold.settled:
                # Not the held partition itself: it is committed up to the held row, never to
                # its end, and a row never waits for its own table (an order line's item, a
                # WMS order's location); counting it would hold a reference row until
                # ``reference_wait_s``.
                hold.settled = all(
                    committed.get(k, -1) >= end for k, end in hold.ends.get().items() if k != key
                )
            hold.paused_at = 0.0
            resume.append(TopicPartition(key[0], key[1]))
        consumer.resume(resume)

    def _hold(self, consumer: Consumer, raw: RawMessage, reason: str) -> bool:
        """Whether to hold ``raw`` back (its reference data may still come)."""
        key = (raw.topic, raw.partition)
        hold = self._holds.get(key)
        now = time.monotonic()
        if hold is None or hold.offset != raw.offset:
            if self._batch_ends is None:
                self._batch_ends = self._reference_ends(consumer)
            self._holds[key] = _Hold(raw.offset, reason, now, self._batch_ends)
            return True
        return not hold.settled and now - hold.since < self.settings.reference_wait_s

    def _pause_held(self, consumer: Consumer, held: dict[TopicKey, int]) -> None:
        """Re-read each held (or waiting) partition from its row, after a pause."""
        now = time.monotonic()
        for (topic, partition), offset in held.items():
            tp = TopicPartition(topic, partition, offset)
            consumer.pause([tp])
            consumer.seek(tp)
            self._holds[(topic, partition)].paused_at = now

    # -- commit order across batches (``transforms.sequencing``) ------------------------------

    def _system(self, topic: str) -> str:
        return topic.split(".", 1)[0]

    def _sequenced(self, raw: RawMessage) -> Sequenced:
        return Sequenced(raw, decode(raw), self._system(raw.topic), self._is_reference(raw.topic))

    def _readings(self, consumer: Consumer) -> list[PartitionReading]:
        """How far each partition this instance reads has been read, the batch just consumed
        included (the consumer's positions are past it)."""
        readings = []
        for tp in consumer.position(consumer.assignment()):
            key = (tp.topic, tp.partition)
            # The ends the consumer saw in its last fetch (a local call: no request).
            low, high = consumer.get_watermark_offsets(tp, cached=True)
            position = tp.offset if tp.offset >= 0 else self._start_offsets.get(key, -1)
            if position < 0:
                position = low  # nothing committed: the consumer starts at the earliest
            readings.append(
                PartitionReading(
                    key,
                    self._system(tp.topic),
                    self._is_reference(tp.topic),
                    at_end=0 <= high <= position,
                    last_order=self.replays.order(*key),
                    held=key in self._holds,
                )
            )
        return readings

    def _note_waiting(self, moved: bool) -> None:
        """One line when rows have waited for their turn for ``PENDING_REPORT_S`` without any
        moving: which partition they wait for (it is not read to its end)."""
        now = time.monotonic()
        if moved or not len(self._pending):
            self._pending_moved_at = now
            return
        if now - self._pending_moved_at < PENDING_REPORT_S:
            return
        self._pending_moved_at = now
        for system, (topic, partition) in sorted(self._pending.waiting_for.items()):
            self.log(
                f"{len(self._pending)} rows wait in commit order: {system} waits for "
                f"{topic}[{partition}] to be read further (it is behind its end)"
            )

    def _limit_pending(self, consumer: Consumer) -> None:
        """Past ``pending_max_rows`` rows waiting, pause the partitions with a batch or more
        of them until half of them are mapped. A partition paused drops what the client had
        fetched for it and each ``consume`` then waits for a full batch, hence no pausing early,
        at a batch per partition (docs/benchmarks.md)."""
        limit = self.settings.pending_max_rows
        waiting = len(self._pending)
        if waiting > limit:
            batch = self.settings.batch_size
            full = {key for key, rows in self._pending.waiting().items() if rows >= batch}
            if full - self._full:
                consumer.pause([TopicPartition(t, p) for t, p in full - self._full])
                self._full |= full
        elif self._full and waiting <= limit // 2:
            consumer.resume([TopicPartition(t, p) for t, p in self._full])
            self._full.clear()

    def _usable(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return True
        if error.code() == RdKafkaError._PARTITION_EOF:
            return False
        if error.code() == RdKafkaError._AUTO_OFFSET_RESET:
            # The partition's fetch stopped: its offset is not in the log (or it had none).
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if topic is not None and partition is not None:
                self._resets[(topic, partition)] = -1 if offset is None else offset
            self.log(f"consumer: {topic}[{partition}]: {error.str()}")
            return False
        if error.fatal():
            raise KafkaError(f"consumer: {error.str()}")
        # Transient consumer errors (broker down, rebalance in progress) are retried by
        # librdkafka itself; the message carries no data.
        self.log(f"consumer: {error.str()}")
        return False

    def _map(self, consumer: Consumer, messages: Sequence[Message]) -> _Mapped:
        """Map, gate and serialize a batch; pause its held partitions at the held rows.

        Runs while the previous batch commits: its reference-state updates are already in the
        store (uncommitted), and if that commit fails this batch is rolled back with it.
        """
        # Each source in commit order: a reference change reaches exactly the rows committed
        # after it (``transforms.sequencing``). Rows may wait for a later batch.
        new = [self._sequenced(raw_message(message)) for message in messages]
        self._pending.add(new)
        fresh = {id(row) for row in new}
        waits = len(new)
        held: dict[TopicKey, int] = {}
        self._batch_ends = None
        outcomes: list[tuple[RawMessage, Outcome]] = []
        serialized: dict[RecordKey, Serialized] = {}
        settings = self.settings
        for row in self._pending.take(self._readings(consumer)):
            raw = row.raw
            key = (raw.topic, raw.partition)
            waits -= id(row) in fresh
            outcome = process(raw, self.registry, self.reference, self.replays, row.decoded)
            if (
                isinstance(outcome, Quarantine)
                and outcome.reason in AWAITED_REFERENCES
                and self._hold(consumer, raw, outcome.reason)
            ):
                held[key] = raw.offset
                # It is read again, and the rows after it with it.
                waits -= sum(id(later) in fresh for later in self._pending.drop([key]))
                self.replays.undo(raw.topic, raw.partition)
                self.stats.held[outcome.reason] += 1
                continue
            self._holds.pop(key, None)
            if isinstance(outcome, Emit):
                # Serialized and size-checked before its state reaches the store: an oversized
                # message is quarantined whole (librdkafka would refuse it inside the open
                # transaction, at every restart) and leaves no state behind.
                records_of = serialize(
                    outcome,
                    topic_prefix=settings.topic_prefix,
                    max_record_bytes=settings.max_record_bytes,
                    state_headers=self._writer,
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
        self._note_waiting(bool(outcomes or held))
        routed = route(outcomes, self.gate)
        records, counts = self._records(routed, serialized)
        positions = consumer.position(consumer.assignment())
        for tp in positions:
            key = (tp.topic, tp.partition)
            offset = held.get(key)
            if offset is None:
                offset = self._pending.first_offset(key)
            if offset is not None:
                tp.offset = offset
        positions = self.replays.stamp(positions)
        # Paused and sought now, before the next ``consume``: the rows after a held one are
        # read again with it, never in the next batch.
        self._pause_held(consumer, held)
        self._limit_pending(consumer)
        return _Mapped(
            records,
            counts,
            positions,
            consumer.consumer_group_metadata(),
            messages=len(outcomes),
            reference=any(self._is_reference(raw.topic) for raw, _ in outcomes),
            figures=figures(routed),
        )

    def _send(self, producer: Producer, mapped: _Mapped) -> None:
        """Produce a mapped batch in a new transaction; its commit goes to the commit thread
        (no other transaction may be open: ``_await_commit`` first)."""
        if self._committer is None:
            raise KafkaError("the runner is not running")
        savepoint = self.store.savepoint()
        try:
            producer.begin_transaction()
            for topic, key, value, headers in mapped.records:
                producer.produce(topic, value=value, key=key, headers=headers)
            # Serve delivery reports once per batch: a batch (``batch_size`` raw messages, a
            # few records each) is far below the producer's local queue; the commit flushes it.
            producer.poll(0)
        except KafkaException as exc:
            raise transaction_failed(producer, exc) from None
        except BaseException:
            abort_quietly(producer)
            raise
        positions, group = mapped.positions, mapped.group
        future = self._committer.submit(
            self.metrics.timed(lambda: commit(producer, positions, group))
        )
        self._in_flight = _InFlight(future, savepoint, mapped)

    def _await_commit(self) -> None:
        """Wait for the batch in flight; once committed, its state updates are final.

        Raises ``KafkaTransientError`` if it was aborted: the caller rolls back the store
        (this batch and any mapped since) and rewinds the consumer.
        """
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        settings = self.settings
        wait(
            flight.future,
            deadline_s=settings.commit_deadline,
            stopping=lambda: self.stopping,
            grace_s=settings.stop_grace_s,
        )
        self.store.commit(flight.savepoint)
        mapped = flight.mapped
        if mapped.reference:
            self._reference_news_at = time.monotonic()
        self.stats.batches += 1
        self.stats.messages += mapped.messages
        for kind, counter in mapped.counts.items():
            getattr(self.stats, kind).update(counter)
        self.metrics.committed(
            mapped.counts,
            mapped.figures,
            messages=mapped.messages,
            aborted_batches=self.stats.aborted_batches,
            state_entries=len(self.store),
            pending_rows=len(self._pending),
        )

    def _settle_quietly(self) -> None:
        """On the way out after an error: let the batch in flight finish either way."""
        try:
            self._await_commit()
        except KafkaError as exc:
            self.log(f"last batch not committed: {exc}")

    def _records(
        self,
        routed: Sequence[tuple[RawMessage, Outcome]],
        serialized: dict[RecordKey, Serialized],
    ) -> tuple[list[Record], dict[str, Counter[str]]]:
        """What a batch writes: canonical events, reference-state updates and quarantined
        originals (``serialized`` holds each ``Emit``'s records, made in ``_map``); and the
        counts of each outcome."""
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
        writer = self._writer
        for raw, outcome in routed:
            if isinstance(outcome, Skip):  # most messages: counted in one go below
                skipped.append(outcome.reason)
                continue
            done = serialized.get((raw.topic, raw.partition, raw.offset))
            if isinstance(outcome, Emit) and done is not None:
                for event, record in zip(outcome.events, done.events, strict=True):
                    records.append((record.topic, record.key, record.value, record.headers))
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

    def _rewind(self, consumer: Consumer) -> None:
        """After an abort, read the batch again from the last committed offsets."""
        assignment = consumer.assignment()
        self._rewind_due = False
        if not assignment:
            return  # the next assignment starts at the committed offsets anyway
        self._rewind_due = True  # until the seeks below are done
        committed = _committed(consumer, assignment)
        self._start_offsets.update({(tp.topic, tp.partition): tp.offset for tp in committed})
        self.replays.restore(committed)
        # Waiting rows are read again from the committed offsets (and wait again if they must).
        self._pending.clear()
        if self._full:
            consumer.resume([TopicPartition(t, p) for t, p in self._full])
            self._full.clear()
        for tp in committed:
            offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            try:
                consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except KafkaException as exc:
                if exc.args[0].code() != RdKafkaError._STATE:
                    raise
                # Its fetch stopped on an offset reset: only an assignment restarts it.
                self._resets[(tp.topic, tp.partition)] = offset
        self._rewind_due = False

    def _reassign(self, consumer: Consumer) -> None:
        """A partition's fetch stopped on an offset reset (``_resets``): settle the batch in
        flight, drop what was read and not committed, and assign every partition again from
        the committed offsets (``_starts``: a gap raises ``OffsetGap`` unless ``allow_gap``).

        A stopped fetch cannot be sought (librdkafka answers ``_STATE``); only an assignment
        restarts it, and ``assign`` (the eager protocol) replaces the whole assignment."""
        resets, self._resets = self._resets, {}
        aborted, self._aborted = self._aborted, None
        try:
            self._await_commit()
        except KafkaTransientError as exc:
            aborted = exc
        if aborted is not None:
            self.log(f"batch aborted, re-reading it: {aborted}")
            self.stats.aborted_batches += 1
        self.store.abort()
        self._rewind_due = False
        assignment = consumer.assignment()
        if not assignment:
            return  # the next assignment places every partition anyway
        # Nothing waits or stays paused: it is all read again (a paused partition stays paused
        # through an assignment).
        paused = [
            tp
            for tp in assignment
            if (tp.topic, tp.partition) in self._holds or (tp.topic, tp.partition) in self._full
        ]
        if paused:
            consumer.resume(paused)
        self._holds.clear()
        self._full.clear()
        self._pending.clear()
        try:
            committed = _committed(consumer, assignment)
            self._start_offsets.update({(tp.topic, tp.partition): tp.offset for tp in committed})
            self.replays.restore(committed)
            starts = self._starts(committed)
        except KafkaTransientError:
            self._resets.update(resets)  # tried again after the back-off (``_redo``)
            raise
        consumer.assign(starts)
        self.log(f"assigned {len(starts)} partitions again from the committed offsets")


def _flush(producer: Producer) -> None:
    """The producer's last delivery reports; a producer that failed fatally on the way (seen
    after a broker outage: INVALID_TXN_STATE) is replaced by a fresh runner process."""
    try:
        producer.flush(5)
    except KafkaException as exc:
        error = exc.args[0]
        if error.fatal():
            raise RunnerStalled(
                f"the transactional producer failed fatally: {error.str()}"
            ) from None
        raise KafkaError(f"producer: {error.str()}") from None


def _committed(consumer: Consumer, partitions: list[TopicPartition]) -> list[TopicPartition]:
    """The group's committed offsets (with their replay marks) for ``partitions``."""
    try:
        return list(consumer.committed(partitions, timeout=30))
    except KafkaException as exc:
        error = exc.args[0].str()
        raise KafkaTransientError(f"cannot read the committed offsets: {error}") from None


@contextmanager
def _nothing() -> Iterator[None]:
    yield
