"""``scv edi run``: the canonical topics → X12 interchanges in the partner outbox, exactly once.

The stage assigns every partition of the topics it reads itself (no consumer group: its
offsets live in the database, ``edi.store``), reads ``read_committed`` from the stored
offsets, and per batch:

1. reads the records (``plan.read_record``: types it does not act on are read past unparsed,
   unreadable ones rejected with a reason);
2. in **one database transaction**: locks the partners' control numbers, asks which events
   were processed and which documents exist, runs the pure ``plan.plan``, writes its state
   changes, documents (``pending``), rejects, processed ids, control numbers and the next
   offsets;
3. after the commit writes every ``pending`` document to ``<outbox>/<partner>/<name>``
   (``edi.outbox``: temporary name, fsync, rename) and marks it ``written``.

A crash before the commit leaves nothing of the batch: the restart reads it again. A crash
after it leaves ``pending`` documents: the restart writes them again, same name, same bytes.

The stream's progress (``plan.stream_time``) is measured with the Kafka timestamps of the
records read and, for partitions at their end, their high watermarks: a dispatch is built
once every partition has been read past the time the pipeline published it.

Besides the stream: every partner's 846 on its schedule (``inventory_advice.every_minutes``,
one per slot, from the views' positions, once the backlog has been read: the item master
gives its units) and ``emit_846`` on demand. SIGTERM and SIGINT stop the loop between two
batches (within ``batch_timeout_s`` plus one batch's work).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka.admin import AdminClient

import kafkaio
from edi import outbox
from edi.errors import KafkaError, UsageError
from edi.plan import (
    EPOCH,
    Consumed,
    Context,
    Controls,
    Document,
    Item,
    Planned,
    Reject,
    State,
    StockRow,
    Unreadable,
    Where,
    business_keys,
    due_846,
    event_ids,
    on_demand_key,
    plan,
    plan_846,
    read_record,
    releasable,
    scheduled_key,
    stream_time,
)
from edi.profile import PartnerProfile
from edi.settings import EdiSettings
from edi.store import DocumentRow, PendingFile, RejectRow, Store
from kafkaio import client_config

Log = Callable[[str], None]
Clock = Callable[[], datetime]
Partition = tuple[str, int]
#: Seconds between two looks for new topics or partitions.
TOPICS_REFRESH_S = 5.0
#: Seconds between two passes forgetting orders never dispatched.
FORGET_EVERY_S = 3600.0


def _consumer_failed(error: RdKafkaError) -> KafkaError:
    return KafkaError(f"consumer: {error.str()}")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class EdiStats:
    messages: int = 0
    duplicates: int = 0
    batches: int = 0
    written: int = 0
    #: Dispatches and receipts held when the stage stopped (waiting for their order lines).
    waiting: int = 0
    seconds: float = 0.0
    documents: Counter[str] = field(default_factory=Counter)
    rejects: Counter[str] = field(default_factory=Counter)


def _published(message: Message) -> datetime:
    kind, ms = message.timestamp()
    if kind == 0 or ms is None or ms < 0:  # TIMESTAMP_NOT_AVAILABLE
        return now()
    return datetime.fromtimestamp(ms / 1000, UTC)


def _header(message: Message, name: str) -> bytes | None:
    headers = message.headers()
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    for key, value in pairs:
        if key == name:
            return value.encode() if isinstance(value, str) else value
    return None


def record(message: Message) -> tuple[Where, datetime, Consumed | Unreadable | None]:
    """Where a consumed message was read, when it was published, what it holds for us."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise KafkaError("consumer returned a message without topic/partition/offset")
    where = Where(topic, partition, offset)
    published = _published(message)
    item = read_record(message.value(), _header(message, "ce_type"), where, published)
    return where, published, item


class Stage:
    """Consume → plan → one DB transaction per batch → outbox; 846s on schedule."""

    def __init__(
        self,
        settings: EdiSettings,
        store: Store,
        profiles: Mapping[str, PartnerProfile],
        *,
        log: Log = lambda _: None,
        clock: Clock = now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.profiles = dict(profiles)
        self.outbox = settings.outbox
        self.log = log
        self.clock = clock
        self.state = State()
        self.stats = EdiStats()
        self.offsets: dict[Partition, int] = {}
        self._stop: str | None = None
        self._admin: AdminClient | None = None
        self._forgotten = time.monotonic()

    def stop(self, reason: str) -> None:
        self._stop = reason

    # -- start and stop ------------------------------------------------------------------------

    def start(self) -> None:
        """Tables, the schema's lock, the state and offsets, and the outbox caught up."""
        self.store.ensure_schema()
        self.store.lock()
        self.offsets = self.store.load(self.state)
        for path in outbox.clean(self.outbox):
            self.log(f"edi: removed {path} (left by a stopped process)")
        written = self.flush()
        self.log(
            f"edi: {len(self.state.orders)} open orders, {len(self.state.items)} items, "
            f"{len(self.state.held)} held, {len(self.offsets)} partition offsets loaded from "
            f"schema {self.settings.db_schema}; {written} pending documents written"
        )

    def run(self, *, until_idle: bool = False) -> EdiStats:
        started = time.monotonic()
        self.start()
        self._admin = kafkaio.admin_client(self.settings.kafka_bootstrap)
        consumer = Consumer(
            client_config(
                self.settings.kafka_bootstrap,
                {
                    # Never committed: the offsets are the database's.
                    "group.id": f"scv-edi-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "isolation.level": "read_committed",
                    "auto.offset.reset": "earliest",
                    "enable.partition.eof": True,
                },
            )
        )
        try:
            with kafkaio.stop_on_signals(self.stop):
                self._loop(consumer, until_idle=until_idle)
        finally:
            consumer.close()
            self.stats.seconds = time.monotonic() - started
            self.stats.waiting = len(self.state.held)
        return self.stats

    # -- the loop ------------------------------------------------------------------------------

    def _assign(self, consumer: Consumer, known: set[Partition]) -> None:
        found = kafkaio.partitions(
            self.settings.kafka_bootstrap, self.settings.source_topics, admin=self._admin
        )
        new = [tp for tp in found if tp not in known]
        if not new:
            return
        consumer.incremental_assign(
            [TopicPartition(t, p, self.offsets.get((t, p), OFFSET_BEGINNING)) for t, p in new]
        )
        known.update(new)
        self.log(f"edi: reading {len(known)} partitions")

    def _loop(self, consumer: Consumer, *, until_idle: bool) -> None:
        settings = self.settings
        known: set[Partition] = set()
        at_end: set[Partition] = set()
        last_read: dict[Partition, datetime] = {}
        refreshed = scheduled = 0.0
        quiet_since = time.monotonic()
        # The 846 needs the item master (units, GTINs): none before the backlog is read once.
        caught_up = told = False
        while self._stop is None:
            if time.monotonic() - refreshed >= TOPICS_REFRESH_S:
                self._assign(consumer, known)
                refreshed = time.monotonic()
            messages = consumer.consume(settings.batch_size, timeout=settings.batch_timeout_s)
            triaged = kafkaio.triage(messages, fatal=_consumer_failed)
            triaged.track_ends(at_end)
            for note in triaged.notes:
                self.log(f"edi: consumer: {note}")
            batch = triaged.records

            def progress() -> datetime | None:
                return self._progress(consumer, known, at_end, last_read)

            if batch:
                quiet_since = time.monotonic()
                self.handle(batch, last_read, progress)
            elif self.state.held:
                self.release(progress)
            caught_up = caught_up or bool(known and at_end >= known)
            due = time.monotonic() - scheduled >= settings.schedule_check_s
            if settings.schedule_846 and caught_up and due:
                self.advise_due()
                scheduled = time.monotonic()
            if (
                until_idle
                and not batch
                and known
                and at_end >= known
                and time.monotonic() - quiet_since >= settings.idle_s
                and progress() is None
            ):
                # Read to the end: what waits now waits only for order lines (line_wait).
                self.release(lambda: None)
                if not self.state.held:
                    self.stop("idle")
                elif not told:
                    told = True
                    self.log(
                        f"edi: read to the end; {len(self.state.held)} dispatches wait up to "
                        f"{settings.line_wait_s:g}s for order lines their picks name"
                    )
        if self.state.held:
            self.log(f"edi: {len(self.state.held)} dispatches or receipts still held")
        self.log(f"edi: stopping: {self._stop}")

    def _progress(
        self,
        consumer: Consumer,
        known: set[Partition],
        at_end: set[Partition],
        last_read: Mapping[Partition, datetime],
    ) -> datetime | None:
        """``plan.stream_time``: partitions at their end count as read through if the consumer
        stands at their high watermark (end-of-partition alone is the last stable offset, in
        front of an open transaction that may still commit)."""
        drained = kafkaio.at_high_watermark(
            consumer,
            self.settings.kafka_bootstrap,
            sorted(at_end & known),
            started=self.offsets,
            admin=self._admin,
        )
        return stream_time(known, last_read, drained)

    # -- one batch -----------------------------------------------------------------------------

    def handle(
        self,
        messages: Sequence[Message],
        last_read: dict[Partition, datetime],
        progress: Callable[[], datetime | None],
    ) -> Planned:
        """Read a batch, plan it and commit it with its offsets; then the outbox."""
        next_offsets: dict[Partition, int] = {}
        batch: list[Consumed | Unreadable] = []
        for message in messages:
            where, published, item = record(message)
            tp = (where.topic, where.partition)
            next_offsets[tp] = where.offset + 1
            last_read[tp] = max(last_read.get(tp, EPOCH), published)
            if item is not None:
                batch.append(item)
        # The progress costs two round trips to the broker: asked only when a document waits.
        stream = progress() if (self.state.held or business_keys(batch)) else None
        planned = self._commit(batch, next_offsets, stream)
        self.stats.messages += len(messages)
        return planned

    def release(self, progress: Callable[[], datetime | None]) -> Planned | None:
        """Build what the stream's progress or the line wait released (no new records)."""
        stream = progress()
        probe = self._context({}, stream, frozenset(), frozenset())
        if not releasable(self.state, probe):
            return None
        return self._commit([], {}, stream)

    def _context(
        self,
        controls: Mapping[str, Controls],
        stream: datetime | None,
        processed: frozenset[uuid.UUID],
        emitted: frozenset[tuple[str, str, str]],
    ) -> Context:
        forget = None
        if time.monotonic() - self._forgotten >= FORGET_EVERY_S:
            forget = self.clock() - self.settings.order_retention
        return Context(
            profiles=self.profiles,
            controls=controls,
            processed=processed,
            emitted=emitted,
            now=self.clock(),
            stream_time=stream,
            line_wait=self.settings.line_wait,
            forget_before=forget,
        )

    def _commit(
        self,
        batch: Sequence[Consumed | Unreadable],
        next_offsets: Mapping[Partition, int],
        stream: datetime | None,
    ) -> Planned:
        with self.store.transaction() as tx:
            controls = tx.controls(self.profiles)
            ctx = self._context(
                controls,
                stream,
                frozenset(tx.processed(event_ids(batch))),
                frozenset(tx.emitted(business_keys(batch))),
            )
            planned = plan(batch, self.state, ctx)
            tx.write(planned, next_offsets)
        if ctx.forget_before is not None:
            self._forgotten = time.monotonic()
        self.offsets.update(next_offsets)
        self._count(planned)
        self.flush()
        return planned

    def _count(self, planned: Planned) -> None:
        self.stats.batches += 1
        self.stats.duplicates += planned.duplicates
        for document in planned.documents:
            self.stats.documents[document.doc_type] += 1
        for reject in planned.rejects:
            self.stats.rejects[reject.reason] += 1
            self.log(
                f"edi: rejected {reject.doc_type or 'record'} "
                f"{reject.partner_id or ''} {reject.business_key or ''}: "
                f"{reject.reason}: {reject.detail}"
            )

    def flush(self) -> int:
        """Write every committed ``pending`` document to the outbox, then mark it written."""
        return flush(self.store, self.outbox)

    # -- 846 on schedule -----------------------------------------------------------------------

    def advise_due(self) -> list[Document | Reject]:
        """The 846 of every partner whose schedule slot has none yet (one per slot)."""
        done = []
        for partner_id, slot in due_846(self.profiles, self.state.schedule, self.clock()):
            outcome = self._advise(partner_id, slot)
            done.append(outcome)
        return done

    def _advise(self, partner_id: str, slot: datetime) -> Document | Reject:
        profile = self.profiles[partner_id]
        at = self.clock()
        with self.store.transaction() as tx:
            controls = tx.controls([partner_id])[partner_id]
            stock = tx.stock(self.settings.positions_schema)
            outcome, after = _846(
                profile, stock, self.state.items, controls, at, at, scheduled_key(slot),
                self.settings.positions_schema,
            )  # fmt: skip
            self.state.advised(partner_id, slot)
            planned = _planned(outcome, partner_id, after)
            planned.state = self.state.take_changes()
            tx.write(planned, {})
        self._count(planned)
        self.flush()
        return outcome


def _846(
    profile: PartnerProfile,
    stock: Sequence[StockRow] | None,
    items: Mapping[str, Item],
    controls: Controls,
    as_of: datetime,
    at: datetime,
    business_key: str,
    positions_schema: str,
) -> tuple[Document | Reject, Controls]:
    if stock is None:
        reject = Reject(
            "positions_unavailable",
            f"the views' table {positions_schema}.inventory_positions cannot be read "
            "(is `scv views run` running?)",
            profile.partner_id,
            "846",
            business_key,
        )
        return reject, controls
    return plan_846(
        profile,
        stock,
        items,
        controls=controls,
        as_of=as_of,
        now=at,
        business_key=business_key,
    )


def _planned(outcome: Document | Reject, partner_id: str, after: Controls) -> Planned:
    if isinstance(outcome, Reject):
        return Planned(rejects=[outcome])
    return Planned(documents=[outcome], controls={partner_id: after})


def flush(store: Store, directory: Path) -> int:
    """Write every ``pending`` document to ``directory``, then mark them written; how many."""
    pending: list[PendingFile] = store.pending()
    for document in pending:
        outbox.write(directory, document.partner_id, document.file_name, document.content)
    store.mark_written(pending)
    return len(pending)


# --- on demand -------------------------------------------------------------------------------


def partner_846(profiles: Mapping[str, PartnerProfile], partner_id: str) -> PartnerProfile:
    """The profile of a partner that receives the 846, or one line saying why not."""
    profile = profiles.get(partner_id)
    if profile is None:
        known = ", ".join(sorted(profiles)) or "none"
        raise UsageError(f"no partner {partner_id!r} (partners: {known})")
    if "846" not in profile.documents:
        raise UsageError(f"{partner_id} does not receive the 846")
    return profile


def emit_846(
    settings: EdiSettings,
    store: Store,
    profiles: Mapping[str, PartnerProfile],
    partner_id: str,
    *,
    as_of: datetime | None = None,
    stock: Sequence[StockRow] | None = None,
    clock: Clock = now,
) -> Document | Reject:
    """One 846 for ``partner_id`` now, in its own transaction, then written to the outbox.

    ``stock``: the positions as of ``as_of`` (a replay the caller made); None: the views'
    serving table as it stands, as of now (``as_of`` is refused without ``stock``). Takes the
    partner's next control numbers under the same lock as a running ``scv edi run``, so the
    two never share one.
    """
    profile = partner_846(profiles, partner_id)
    at = clock()
    if as_of is not None and stock is None:
        raise ValueError("an 846 as of a past time needs the positions as of that time")
    if as_of is not None and as_of > at:
        raise UsageError(f"--as-of {as_of.isoformat()} is in the future")
    when = as_of or at
    directory = settings.outbox
    store.ensure_schema()
    with store.transaction() as tx:
        controls = tx.controls([partner_id])[partner_id]
        rows = stock if stock is not None else tx.stock(settings.positions_schema)
        outcome, after = _846(
            profile, rows, tx.items(), controls, when, at, on_demand_key(at, when),
            settings.positions_schema,
        )  # fmt: skip
        tx.write(_planned(outcome, partner_id, after), {})
    flush(store, directory)
    return outcome


def documents(store: Store, limit: int, partner_id: str | None = None) -> list[DocumentRow]:
    store.ensure_schema()
    return store.documents(limit, partner_id)


def rejects(store: Store, limit: int) -> list[RejectRow]:
    store.ensure_schema()
    return store.rejects(limit)


def parse_time(value: str, *, not_after: datetime | None = None) -> datetime:
    """An ISO time from the command line (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{value!r} is not an ISO time (like 2026-03-02T14:05:00Z)") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not_after is not None and moment > not_after:
        raise UsageError(f"{value} is in the future")
    return moment
