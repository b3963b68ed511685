"""Rows the runner holds back: for reference data that may still come, and for their turn in
commit order.

Reference data arrives on other topics than the rows that need it (an order line can be read
before its item). A row whose mapping misses reference data that may still come (item, UoM
conversion, WMS order, location: ``AWAITED_REFERENCES``) is *held* (``Holds``): its
partition's offset is committed up to the row, not past it, and the partition pauses and is
re-read after ``reference_retry_s`` (sooner, at the next batch, once reference rows were
committed after it paused). The hold ends when the row maps, or it is quarantined once every
reference partition has been committed up to where it ended when the hold began (whatever
instance owns it) and the state topic has been read again, or after ``reference_wait_s`` at
most. Nothing is skipped, so nothing is lost or produced twice.

A reference fact that *changed* is joined in source commit order (``transforms.sequencing``):
each source is mapped as a merge of its partitions by commit order, and a row that a partition
of the other kind may still precede waits in memory (``Waiting``, counted as held for
``commit_order``), its partition committed up to it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from transforms.clients import METADATA_REFRESH_S
from transforms.errors import KafkaError
from transforms.registry import MapperRegistry
from transforms.replays import ReplayGuard
from transforms.sequencing import CommitOrderMerge, PartitionReading
from transforms.settings import TransformsSettings

TopicKey = tuple[str, int]
Log = Callable[[str], None]

#: The count of rows that waited in memory for their turn in commit order.
COMMIT_ORDER = "commit_order"
#: Rows waiting that long for their turn with none moving are reported (one line).
PENDING_REPORT_S = 30.0


class ReferenceTopics:
    """Which raw topics carry reference data (items, conversions, WMS orders, locations)."""

    def __init__(self, registry: MapperRegistry) -> None:
        self._tables = {(m.system, m.table) for m in registry if m.reference}
        self._known: dict[str, bool] = {}

    def __contains__(self, topic: str) -> bool:
        known = self._known.get(topic)
        if known is None:
            parts = topic.split(".")
            known = self._known[topic] = (parts[0], parts[-1]) in self._tables
        return known


def system_of(topic: str) -> str:
    return topic.split(".", 1)[0]


class Ends:
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


@dataclass
class Hold:
    """A partition waiting at ``offset`` for reference data (see the module docstring)."""

    offset: int
    reason: str
    since: float
    #: Reference partitions and their end offsets when the hold began.
    ends: Ends
    #: Every reference partition was committed up to ``ends`` (checked before a state read).
    settled: bool = False
    paused_at: float = 0.0


class Holds:
    """The held partitions of this instance, by (topic, partition)."""

    def __init__(self, settings: TransformsSettings, references: ReferenceTopics) -> None:
        self.settings = settings
        self.references = references
        self.held: dict[TopicKey, Hold] = {}
        #: When reference facts last reached the store: a committed batch with reference rows,
        #: or other instances' records read from the state topic.
        self.news_at = 0.0
        self.admin: AdminClient | None = None
        self._source = re.compile(settings.source_pattern)
        self._partitions: tuple[float, list[TopicPartition]] = (-METADATA_REFRESH_S, [])
        #: Reference ends fetched for the batch in progress (one request per batch, not per
        #: held partition); reset when a batch starts.
        self._batch_ends: Ends | None = None

    def __contains__(self, key: TopicKey) -> bool:
        return key in self.held

    def __bool__(self) -> bool:
        return bool(self.held)

    def news(self) -> None:
        """Reference facts reached the store just now."""
        self.news_at = time.monotonic()

    def batch_started(self) -> None:
        self._batch_ends = None

    def hold(self, consumer: Consumer, key: TopicKey, offset: int, reason: str) -> bool:
        """Whether to hold the row at ``offset`` of ``key`` back (its reference data may still
        come)."""
        hold = self.held.get(key)
        now = time.monotonic()
        if hold is None or hold.offset != offset:
            if self._batch_ends is None:
                self._batch_ends = self._reference_ends(consumer)
            self.held[key] = Hold(offset, reason, now, self._batch_ends)
            return True
        return not hold.settled and now - hold.since < self.settings.reference_wait_s

    def release(self, key: TopicKey) -> None:
        """The partition's row mapped (or is quarantined): no hold any more."""
        self.held.pop(key, None)

    def pause(self, consumer: Consumer, held: dict[TopicKey, int]) -> None:
        """Re-read each held partition from its row, after a pause."""
        now = time.monotonic()
        for (topic, partition), offset in held.items():
            tp = TopicPartition(topic, partition, offset)
            consumer.pause([tp])
            consumer.seek(tp)
            self.held[(topic, partition)].paused_at = now

    def review(self, consumer: Consumer) -> None:
        """Settle holds whose reference partitions are committed to their ends; resume the
        paused partitions that waited ``reference_retry_s``. Runs before the state catch-up,
        so a settled hold is re-tried against every reference fact committed so far."""
        now = time.monotonic()
        retry_s = self.settings.reference_retry_s
        # A held row is tried again at the next batch once reference facts arrived after it
        # paused (on a backlog, its item or order is usually a batch or two behind it), and
        # after ``reference_retry_s`` at the latest.
        news = self.news_at
        due = [
            (key, hold)
            for key, hold in self.held.items()
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

    def _reference_partitions(self, consumer: Consumer) -> list[TopicPartition]:
        # Topics change as rarely as the consumer's own metadata refresh notices them, so the
        # list is kept that long rather than asked for on every batch with a hold.
        fetched_at, cached = self._partitions
        if time.monotonic() - fetched_at < METADATA_REFRESH_S:
            return cached
        topics = consumer.list_topics(timeout=10).topics
        found = [
            TopicPartition(name, p)
            for name, meta in sorted(topics.items())
            if self._source.match(name) and name in self.references
            for p in meta.partitions
        ]
        self._partitions = (time.monotonic(), found)
        return found

    def _reference_ends(self, consumer: Consumer) -> Ends:
        # One ListOffsets request for all reference partitions (latest = the high watermark),
        # sent now and read when the hold is reviewed, so no batch waits for it here.
        if self.admin is None:
            raise KafkaError("the runner's admin client is not open")
        wanted = {
            TopicPartition(tp.topic, tp.partition): OffsetSpec.latest()  # type: ignore[no-untyped-call]
            for tp in self._reference_partitions(consumer)
        }
        return Ends(self.admin.list_offsets(wanted, request_timeout=10) if wanted else {})


class Waiting:
    """Rows read but not mapped yet: they wait for their turn in commit order
    (``transforms.sequencing``); a partition is committed up to its first."""

    def __init__(self, settings: TransformsSettings, references: ReferenceTopics, log: Log) -> None:
        self.settings = settings
        self.references = references
        self.log = log
        self.merge = CommitOrderMerge()
        #: Partitions paused because ``batch_size`` rows of theirs wait in ``merge``.
        self.full: set[TopicKey] = set()
        #: When rows last left ``merge`` or it was empty (a long wait is logged).
        self._moved_at = time.monotonic()

    def __len__(self) -> int:
        return len(self.merge)

    def readings(
        self,
        consumer: Consumer,
        *,
        start_offsets: dict[TopicKey, int],
        replays: ReplayGuard,
        holds: Holds,
    ) -> list[PartitionReading]:
        """How far each partition this instance reads has been read, the batch just consumed
        included (the consumer's positions are past it)."""
        readings = []
        for tp in consumer.position(consumer.assignment()):
            key = (tp.topic, tp.partition)
            # The ends the consumer saw in its last fetch (a local call: no request).
            low, high = consumer.get_watermark_offsets(tp, cached=True)
            position = tp.offset if tp.offset >= 0 else start_offsets.get(key, -1)
            if position < 0:
                position = low  # nothing committed: the consumer starts at the earliest
            readings.append(
                PartitionReading(
                    key,
                    system_of(tp.topic),
                    tp.topic in self.references,
                    at_end=0 <= high <= position,
                    last_order=replays.order(*key),
                    held=key in holds,
                )
            )
        return readings

    def note(self, moved: bool) -> None:
        """One line when rows have waited for their turn for ``PENDING_REPORT_S`` without any
        moving: which partition they wait for (it is not read to its end)."""
        now = time.monotonic()
        if moved or not len(self.merge):
            self._moved_at = now
            return
        if now - self._moved_at < PENDING_REPORT_S:
            return
        self._moved_at = now
        for system, (topic, partition) in sorted(self.merge.waiting_for.items()):
            self.log(
                f"{len(self.merge)} rows wait in commit order: {system} waits for "
                f"{topic}[{partition}] to be read further (it is behind its end)"
            )

    def limit(self, consumer: Consumer) -> None:
        """Past ``pending_max_rows`` rows waiting, pause the partitions with a batch or more
        of them until half of them are mapped. A partition paused drops what the client had
        fetched for it and each ``consume`` then waits for a full batch, hence no pausing early,
        at a batch per partition (docs/benchmarks.md)."""
        limit = self.settings.pending_max_rows
        waiting = len(self.merge)
        if waiting > limit:
            batch = self.settings.batch_size
            full = {key for key, rows in self.merge.waiting().items() if rows >= batch}
            if full - self.full:
                consumer.pause([TopicPartition(t, p) for t, p in full - self.full])
                self.full |= full
        elif self.full and waiting <= limit // 2:
            consumer.resume([TopicPartition(t, p) for t, p in self.full])
            self.full.clear()

    def forget(self, keys: Iterable[TopicKey]) -> None:
        """Revoked partitions: their rows wait no more here (the next owner reads them)."""
        wanted = set(keys)
        self.merge.drop(wanted)
        self.full.difference_update(wanted)

    def resume_all(self, consumer: Consumer) -> None:
        """Nothing waits any more (it is all read again): resume what was paused."""
        self.merge.clear()
        if self.full:
            consumer.resume([TopicPartition(t, p) for t, p in self.full])
            self.full.clear()
