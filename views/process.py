"""The view process and the Kafka readers: live positions, ``--as-of`` replays, alert tails.

The live process assigns every partition of the canonical topics itself (no consumer group:
its offsets live in the serving database, see ``views.store``), reads ``read_committed``, and
per batch: drops events already applied (by ``event_id``), applies the rest to the ``Book``,
asks the ``Monitor`` for alerts, and writes everything plus the next offsets in one database
transaction; then it publishes the outbox. A crash anywhere before the commit leaves nothing
of the batch, and the restart reads it again from the stored offsets.

A record the process cannot apply must not stop it: it would stop again on the same record at
every start. ``read_event`` parses and checks a record (reasons ``malformed_json``,
``unknown_type``, ``invalid_event``, ``out_of_range``, ``invalid_text``); one that fails is
rejected: logged, counted in ``ViewStats.rejected``, and written to ``rejected_records`` in
the batch's transaction with the offsets that move past it (``views.store``), so it is
skipped exactly once and its reason stays visible (``scv views rejected``). If applying an
event raises (``apply_failed``), the book may be half-changed: it is loaded again from the
serving tables (the last committed batch) and the batch is applied again without that record.

No event is skipped without a word (``kafkaio.gaps``): the live consumer runs with
``auto.offset.reset=error`` and each partition starts at its stored offset, or at the
beginning of its log when it has none. A stored offset that fell off the log (retention,
``delete_records``) stops the process with ``OffsetGap`` naming the partition and the lost
range, unless ``allow_gap`` (``--allow-gap``): then the range is logged, counted in
``ViewStats.gaps`` and the partition read on from its log start. A fetch that finds its offset
gone later (a reader slower than retention) stops that partition's fetch (librdkafka's
``_AUTO_OFFSET_RESET`` error); the process assigns its partitions again from the stored
offsets, deciding the same way.

``replay_until`` rebuilds positions as of a time from the log alone: every partition from
its beginning up to the first record produced after that time (Kafka record timestamps, the
time the pipeline published the event), through the same ``Book``.
"""

from __future__ import annotations

import time
import typing
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
import psycopg
import pydantic
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from pydantic import BaseModel

import kafkaio
from kafkaio import client_config
from transforms.events import CanonicalEvent, ShipmentDispatched, TemperatureRecorded, from_json
from views.alerts import Alert, Monitor
from views.errors import KafkaError, OffsetGap, StoreUnavailable
from views.observe import ViewMetrics, applied_events
from views.order_store import OrderFeed
from views.positions import Book
from views.settings import ViewsSettings
from views.store import Applied, RejectedRecord, Store, TopicPartitionKey, batch_from
from views.supply import Supply

Log = Callable[[str], None]
TopicsRefresh = 5.0


@dataclass
class ViewStats:
    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    batches: int = 0
    alerts: int = 0
    positions: int = 0
    seconds: float = 0.0
    by_type: dict[str, int] = field(default_factory=dict)
    #: Records not applied, by reason (``rejected_records`` keeps each one).
    rejected: Counter[str] = field(default_factory=Counter)
    #: Ranges of canonical offsets deleted before they were applied, skipped by ``allow_gap``.
    gaps: list[kafkaio.Gap] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a record is not applied: a short stable ``reason`` and a readable ``detail``."""

    reason: str
    detail: str


#: Quantities beyond 28 digits are no stock (the pipeline refuses them at the source too) and
#: would round or overflow in the positions' arithmetic.
_DECIMAL_LIMIT = Decimal(10) ** 28
#: Times within a day of what ``datetime`` holds, so a site offset applied to them cannot
#: overflow (``views.alerts`` dates an event in its site's time).
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)
_DETAIL_CHARS = 1000


def _clean(text: str) -> str:
    """A detail PostgreSQL can store (no NUL in ``text``), cut to a readable length."""
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= _DETAIL_CHARS else f"{text[:_DETAIL_CHARS]}..."


def _may_hold(annotation: Any) -> bool:
    """Whether a field of this type can hold a value ``_out_of_range`` checks."""
    if annotation is Decimal or annotation is datetime:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_may_hold(arg) for arg in typing.get_args(annotation))


@cache
def _checked(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model class worth checking (most are text: not walked at all)."""
    return tuple(name for name, f in cls.model_fields.items() if _may_hold(f.annotation))


def _out_of_range(value: object, where: str) -> str | None:
    """The first impossible value in an event's fields (recursing into nested models)."""
    if isinstance(value, Decimal):
        if not value.is_finite() or not -_DECIMAL_LIMIT < value < _DECIMAL_LIMIT:
            return f"{where}={value}"
    elif isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        if not _EARLIEST <= aware <= _LATEST:
            return f"{where}={value.isoformat()}"
    elif isinstance(value, BaseModel):
        for name in _checked(type(value)):
            found = _out_of_range(getattr(value, name), f"{where}.{name}" if where else name)
            if found:
                return found
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            found = _out_of_range(item, f"{where}[{i}]")
            if found:
                return found
    return None


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def read_event(value: bytes) -> CanonicalEvent | Rejected:
    """A canonical record's value → its event, or why it cannot be applied.

    Never raises for a record (``MemoryError`` aside): a record that stopped the process would
    stop it again at every start.
    """
    try:
        event = from_json(value)
    except pydantic.ValidationError as exc:
        kinds = {error["type"] for error in exc.errors()}
        if "json_invalid" in kinds or "json_type" in kinds:
            reason = "malformed_json"
        elif kinds & {"union_tag_invalid", "union_tag_not_found"}:
            reason = "unknown_type"
        else:
            reason = "invalid_event"
        return Rejected(reason, _clean(str(exc)))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (the safety net: rejected with its type)
        return Rejected("invalid_event", _clean(f"{type(exc).__name__}: {exc}"))
    # PostgreSQL text and jsonb cannot hold NUL (a MariaDB VARCHAR can): the batch's write
    # would fail on it at every start. JSON writes NUL as \u0000, so the bytes tell cheaply.
    if b"\\u0000" in value and _has_nul(orjson.loads(value)):
        return Rejected("invalid_text", f"{event.event_type} {event.event_id}: a NUL in a text")
    impossible = _out_of_range(event, "")
    if impossible is not None:
        return Rejected(
            "out_of_range", _clean(f"{event.event_type} {event.event_id}: {impossible}")
        )
    return event


class _ApplyFailed(Exception):
    """Applying the event of ``message`` raised ``cause`` (the book may be half-changed)."""

    def __init__(self, message: Message, cause: Exception) -> None:
        super().__init__(str(cause))
        self.message = message
        self.cause = cause


def _consumer(settings: ViewsSettings, purpose: str, *, reset: str = "error") -> Consumer:
    """A consumer that assigns its partitions itself. ``reset="error"`` (the live process):
    an offset gone from the log is an error the process handles (``kafkaio.gaps``), never a
    silent jump to the log start."""
    return Consumer(
        client_config(
            settings.kafka_bootstrap,
            {
                # Never committed: offsets are the serving database's (live) or none (replays).
                "group.id": f"scv-views-{purpose}-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": reset,
                "enable.partition.eof": True,
            },
        )
    )


def _consumer_failed(error: RdKafkaError) -> KafkaError:
    return KafkaError(f"consumer: {error.str()}")


def _partitions(
    settings: ViewsSettings, topics: list[str], admin: AdminClient | None = None
) -> list[tuple[str, int]]:
    """The partitions of the existing ``topics`` (asked again while the cluster is not ready)."""
    return kafkaio.partitions(settings.kafka_bootstrap, topics, admin=admin)


def ensure_alerts_topic(settings: ViewsSettings) -> None:
    name = settings.topic(settings.alerts_topic)
    new = NewTopic(
        name,
        num_partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication,
    )
    kafkaio.ensure_topics(settings.kafka_bootstrap, [new])


def alert_headers(alert_json: dict[str, Any]) -> list[tuple[str, str | bytes | None]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(alert_json["alert_id"]).encode()),
        ("ce_type", f"alert.{alert_json['action']}".encode()),
        ("ce_source", b"/scv/views"),
        ("ce_time", str(alert_json["occurred_at"]).encode()),
        ("ce_subject", str(alert_json["subject"]).encode()),
        ("scv_alert_kind", str(alert_json["kind"]).encode()),
        ("content-type", b"application/json"),
    ]


class Evaluator:
    """Book + Monitor: one event in, position changes and alerts out (no I/O)."""

    def __init__(self, book: Book, monitor: Monitor) -> None:
        self.book = book
        self.monitor = monitor

    def promised_ship(self, order_id: str) -> date | None:
        order = self.book.orders.get(order_id)
        if order is None:
            return None
        dates = [
            line.promised_ship_date
            for line_id in order.lines
            if (line := self.book.lines.get(line_id)) is not None and line.promised_ship_date
        ]
        return min(dates) if dates else None

    def open_orders(self) -> Iterator[tuple[str, str | None, date]]:
        for order_id, order in self.book.orders.items():
            if order.shipped_at is not None:
                continue
            dates = [
                line.promised_ship_date
                for line_id in order.lines
                if (line := self.book.lines.get(line_id)) is not None
                and not line.closed
                and line.promised_ship_date
            ]
            if dates:
                yield order_id, order.site_id, min(dates)

    def apply(self, event: CanonicalEvent) -> list[Alert]:
        alerts: list[Alert] = []
        for change in self.book.apply(event):
            alerts.extend(self.monitor.position_changed(change.key, change.after, event))
        if isinstance(event, ShipmentDispatched):
            alerts.extend(self.monitor.dispatched(event, self.promised_ship(event.order_id)))
        elif isinstance(event, TemperatureRecorded):
            alerts.extend(self.monitor.temperature(event))
        today = event.occurred_at.date().isoformat()
        if self.monitor.state.get("clock", {}).get("date", "") < today:
            # The stream's day moved on: orders past their promised ship date are late.
            self.monitor.state["clock"] = {"date": today}
            self.monitor.dirty.add("clock")
            alerts.extend(self.monitor.overdue(event, self.open_orders()))
        return alerts


class ViewProcess:
    """Consume → apply → one DB transaction per batch → publish alerts."""

    def __init__(
        self,
        settings: ViewsSettings,
        store: Store,
        *,
        log: Log = lambda _: None,
        metrics: ViewMetrics | None = None,
    ):
        self.settings = settings
        self.metrics = metrics if metrics is not None else ViewMetrics()
        self.store = store
        self.log = log
        self.book = Book()
        self.monitor = Monitor(settings.policy())
        self.evaluator = Evaluator(self.book, self.monitor)
        #: Order tracking, fed by the same events in the same transactions (views.orders).
        self.orders = OrderFeed(settings)
        self.supply = self._supply()
        self.stats = ViewStats()
        self._stop: str | None = None
        #: For the metadata refreshes (one client, not one per refresh).
        self._admin: AdminClient | None = None

    def stop(self, reason: str) -> None:
        self._stop = reason

    def _supply(self) -> Supply:
        return Supply(self.settings.supplier_policy(), self.settings.demand_policy())

    def run(self, *, until_idle: bool = False) -> ViewStats:
        started = time.monotonic()
        self.store.ensure_schema()
        self.store.lock()
        offsets = self.store.load(self.book, self.monitor, self.supply)
        self.orders.start(self.store.conn)
        self.log(
            f"views: {len(self.book.positions)} positions, {len(offsets)} partition offsets "
            f"loaded from schema {self.settings.db_schema}"
        )
        ensure_alerts_topic(self.settings)
        self._admin = kafkaio.admin_client(self.settings.kafka_bootstrap)
        producer = Producer(
            client_config(self.settings.kafka_bootstrap, {"enable.idempotence": True})
        )
        consumer = _consumer(self.settings, "live")
        try:
            with kafkaio.stop_on_signals(self.stop):
                self._publish(producer)
                self._loop(consumer, producer, offsets, until_idle=until_idle)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            # Lost or rolled back (a database restart, a cut connection, a deadlock), not
            # refused: every batch is one transaction, so the open one was not committed and
            # a restart reads it again from the stored offsets.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreUnavailable(
                f"the serving database lost the connection or the batch ({reason}); it was not "
                "committed: start again (`scv run` restarts the views by itself)"
            ) from None
        finally:
            consumer.close()
            producer.flush(10)
            self.stats.seconds = time.monotonic() - started
            self.stats.positions = len(self.book.positions)
        return self.stats

    def _assign(
        self,
        consumer: Consumer,
        offsets: dict[TopicPartitionKey, int],
        known: set[TopicPartitionKey],
    ) -> None:
        topics = self.settings.source_topics
        new = [tp for tp in _partitions(self.settings, topics, self._admin) if tp not in known]
        if not new:
            return
        consumer.incremental_assign(self._starts(new, offsets))
        known.update(new)
        self.orders.expect(known)
        self.log(f"views: reading {len(known)} partitions")

    def _starts(
        self, parts: Sequence[TopicPartitionKey], offsets: dict[TopicPartitionKey, int]
    ) -> list[TopicPartition]:
        """Where each partition starts (``kafkaio.start_positions``): its stored offset, or the
        beginning of its log if it has none. A stored offset no longer in the log raises
        ``OffsetGap`` unless ``allow_gap``: then it is logged, counted, and the partition
        starts at its log start."""
        settings = self.settings
        positions, gaps = kafkaio.resume_positions(
            settings.kafka_bootstrap,
            {part: offsets.get(part, -1) for part in parts},
            admin=self._admin,
        )
        if gaps and not settings.allow_gap:
            raise OffsetGap(
                f"canonical events were deleted before the views applied them: "
                f"{kafkaio.describe_gaps(gaps)}. Nothing was skipped; to read on from the log "
                "start, losing them, run `scv views run --allow-gap` (SCV_VIEWS_ALLOW_GAP=1)",
                gaps,
            )
        for gap in gaps:
            self.log(
                f"views: gap skipped (allow_gap): {gap.describe()}; reading on from {gap.log_start}"
            )
            self.stats.gaps.append(gap)
        return [TopicPartition(t, p, offset) for (t, p), offset in positions.items()]

    def _reassign(
        self,
        consumer: Consumer,
        offsets: dict[TopicPartitionKey, int],
        known: set[TopicPartitionKey],
    ) -> None:
        """A partition's fetch stopped on an offset reset: assign every partition again from
        the stored offsets (a stopped fetch cannot be sought, librdkafka answers ``_STATE``).
        Every record consumed was applied and stored, so the stored offsets are where each
        partition is."""
        consumer.assign(self._starts(sorted(known), offsets))
        self.log(f"views: reading {len(known)} partitions again from the stored offsets")

    def _loop(
        self,
        consumer: Consumer,
        producer: Producer,
        offsets: dict[TopicPartitionKey, int],
        *,
        until_idle: bool,
    ) -> None:
        settings = self.settings
        known: set[TopicPartitionKey] = set()
        at_end: set[TopicPartitionKey] = set()
        refreshed = 0.0
        quiet_since = time.monotonic()
        while self._stop is None:
            if time.monotonic() - refreshed >= TopicsRefresh:
                self._assign(consumer, offsets, known)
                refreshed = time.monotonic()
            messages = consumer.consume(settings.batch_size, timeout=settings.batch_timeout_s)
            triaged = kafkaio.triage(messages, fatal=_consumer_failed)
            triaged.track_ends(at_end)
            for note in triaged.notes:
                self.log(f"views: consumer: {note}")
            batch = triaged.records
            # A partition's fetch stopped: its offset is not in the log any more.
            reset = triaged.stopped
            if batch:
                quiet_since = time.monotonic()
                self._batch(batch, offsets)
                self._publish(producer)
            if reset:
                self._reassign(consumer, offsets, known)
            elif (
                until_idle
                and known
                and at_end >= known
                and time.monotonic() - quiet_since >= settings.idle_s
                and self._drained(consumer, known, offsets)
            ):
                self.stop("idle")
        self.log(f"views: stopping: {self._stop}")

    def _drained(
        self,
        consumer: Consumer,
        known: set[TopicPartitionKey],
        offsets: dict[TopicPartitionKey, int],
    ) -> bool:
        """Every partition read up to its high watermark. End-of-partition alone is not enough:
        a ``read_committed`` consumer reports it at the last stable offset, in front of an
        open transaction that may still commit."""
        parts = sorted(known)
        done = kafkaio.at_high_watermark(
            consumer, self.settings.kafka_bootstrap, parts, started=offsets, admin=self._admin
        )
        return done >= known

    def _batch(self, messages: Sequence[Message], offsets: dict[TopicPartitionKey, int]) -> None:
        next_offsets: dict[TopicPartitionKey, int] = {}
        parsed: list[tuple[Message, CanonicalEvent]] = []
        rejected: list[tuple[Message, Rejected]] = []
        for message in messages:
            value = message.value()
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if topic is None or partition is None or offset is None:
                raise KafkaError("consumer returned a message without topic/partition/offset")
            next_offsets[(topic, partition)] = offset + 1
            if value is None:
                continue
            event = read_event(value)
            if isinstance(event, Rejected):
                rejected.append((message, event))
            else:
                parsed.append((message, event))
        seen = self.store.already_applied(e.event_id for _, e in parsed)
        while True:
            try:
                alerts, applied, duplicates, by_type = self._apply(parsed, seen)
                break
            except _ApplyFailed as failed:
                # The book and the monitor may be half-changed by the failing event: back to
                # the last committed batch, and the batch again without it.
                cause = failed.cause
                rejected.append(
                    (
                        failed.message,
                        Rejected("apply_failed", _clean(f"{type(cause).__name__}: {cause}")),
                    )
                )
                parsed = [(m, e) for m, e in parsed if m is not failed.message]
                self._reload()
        records = [self._rejected(message, why) for message, why in rejected]
        started = time.perf_counter()
        batch = batch_from(
            self.book, self.monitor, alerts, applied, next_offsets, records, self.supply
        )
        self.store.write(replace(batch, extra=(self.orders.writes(),)))
        self.metrics.committed(
            messages=len(messages),
            applied=applied_events(parsed, (a.event_id for a in applied)),
            duplicates=duplicates,
            rejected=Counter(record.reason for record in records),
            alerts=len(alerts),
            commit_s=time.perf_counter() - started,
            positions=len(self.book.positions),
        )
        offsets.update(next_offsets)
        self.stats.messages += len(messages)
        self.stats.applied += len(applied)
        self.stats.duplicates += duplicates
        self.stats.alerts += len(alerts)
        self.stats.batches += 1
        for event_type, count in by_type.items():
            self.stats.by_type[event_type] = self.stats.by_type.get(event_type, 0) + count
        for record in records:
            self.stats.rejected[record.reason] += 1

    def _apply(
        self, parsed: Sequence[tuple[Message, CanonicalEvent]], already: set[uuid.UUID]
    ) -> tuple[list[Alert], list[Applied], int, Counter[str]]:
        """Apply the batch's events to the book and the monitor (nothing is written yet)."""
        seen = set(already)
        alerts: list[Alert] = []
        applied: list[Applied] = []
        duplicates = 0
        by_type: Counter[str] = Counter()
        for message, event in parsed:
            if event.event_id in seen:
                duplicates += 1
                continue
            seen.add(event.event_id)
            try:
                alerts.extend(self.evaluator.apply(event))
                topic, partition = message.topic() or "", message.partition() or 0
                alerts.extend(self.orders.apply(event, topic, partition))
                alerts.extend(self.supply.apply(event, topic, partition, self.monitor))
            except MemoryError:
                raise
            except Exception as exc:  # rejected with its type (see _batch)
                raise _ApplyFailed(message, exc) from exc
            applied.append(
                Applied(
                    event.event_id,
                    message.topic() or "",
                    message.partition() or 0,
                    message.offset() or 0,
                )
            )
            by_type[event.event_type] += 1
        return alerts, applied, duplicates, by_type

    def _reload(self) -> None:
        """Book and monitor as the serving tables hold them (the last committed batch)."""
        self.book = Book()
        self.monitor = Monitor(self.settings.policy())
        self.evaluator = Evaluator(self.book, self.monitor)
        self.supply = self._supply()
        self.store.load(self.book, self.monitor, self.supply)
        self.orders.rollback()

    def _rejected(self, message: Message, why: Rejected) -> RejectedRecord:
        topic, partition, offset = (
            message.topic() or "",
            message.partition() or 0,
            message.offset() or 0,
        )
        self.log(
            f"views: record {topic}[{partition}]@{offset} rejected: {why.reason}: {why.detail}"
        )
        return RejectedRecord(
            topic, partition, offset, why.reason, why.detail, message.key(), message.value()
        )

    def _publish(self, producer: Producer) -> None:
        rows = self.store.unpublished()
        if not rows:
            return
        topic = self.settings.topic(self.settings.alerts_topic)
        for _seq, subject, value in rows:
            producer.produce(
                topic, key=subject.encode(), value=value, headers=alert_headers(orjson.loads(value))
            )
            producer.poll(0)
        if producer.flush(30) != 0:
            raise KafkaError("alerts not acknowledged by the broker within 30 s")
        self.store.mark_published(rows[-1][0])


# --- replays ---------------------------------------------------------------------------------


def replay_until(settings: ViewsSettings, as_of: datetime | None) -> Book:
    """Positions rebuilt from the canonical topics as of ``as_of`` (None: the whole log)."""
    bootstrap = settings.kafka_bootstrap
    partitions = _partitions(settings, settings.source_topics)
    ends = kafkaio.high_watermarks(bootstrap, partitions)
    if as_of is not None:
        after = as_of.astimezone(UTC) + timedelta(milliseconds=1)
        for part, offset in kafkaio.offsets_for_time(bootstrap, partitions, after).items():
            if offset >= 0:  # first record after as_of; -1: none, read to the end
                ends[part] = offset
    book = Book()
    seen: set[uuid.UUID] = set()
    for message in kafkaio.read_range(bootstrap, {}, ends):
        value = message.value()
        if value is None:
            continue
        event = read_event(value)
        if isinstance(event, Rejected):
            continue  # the live process keeps it in rejected_records
        if event.event_id not in seen:
            seen.add(event.event_id)
            book.apply(event)
    return book


def tail_alerts(
    settings: ViewsSettings, *, follow: bool, stop: Callable[[], bool] = lambda: False
) -> Iterator[dict[str, Any]]:
    """Alerts from the beginning of the topic; with ``follow``, keep waiting for more."""
    topic = settings.topic(settings.alerts_topic)
    if not follow:
        for message in kafkaio.read_committed(settings.kafka_bootstrap, [topic]):
            if stop():
                return
            if (value := message.value()) is not None:
                yield orjson.loads(value)
        return
    partitions = _partitions(settings, [topic])
    if not partitions:
        return
    # A tail shows what the topic holds: an alert expired meanwhile is no gap to stop on.
    consumer = _consumer(settings, "tail", reset="earliest")
    try:
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in partitions])
        while not stop():
            for message in consumer.consume(1000, timeout=0.5):
                if message.error() is None and (value := message.value()) is not None:
                    yield orjson.loads(value)
    finally:
        consumer.close()


def now() -> datetime:
    return datetime.now(UTC)
