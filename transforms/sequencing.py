"""Rows joined with reference data in source commit order, not in arrival order.

A reference fact (an item, a unit conversion, a WMS order, a location) and the rows that use it
reach the runner on different topics, each partition in its own time. Joined in arrival order,
an order line committed just before a unit conversion changed could be mapped with the new
factor, and one committed just after it with the old. The runner maps every source in commit
order instead, as a k-way merge of that source's partitions by ``envelope.stream_order`` (which
orders every change of one connector, all its topics, by commit):

- **Merged** (``CommitOrderMerge``): the rows of each source are handed out by commit order;
  each partition keeps its offset order (a replay stays where it is, behind what it repeats).
  Snapshot reads have no order: they come first, reference tables before the others, as
  Debezium's snapshot precedes its stream.
- **Waiting, across batches**: a row may only be mapped once no partition of the *other
  kind* can still bring a change committed before it: a reference change waits until the
  other rows of its source committed before it are mapped, and such a row waits until the
  reference changes committed before it are applied. A partition can still bring one if it is
  not read to its end and its last row read is older than the row. Rows of one kind never
  wait for each other (they do not share state).

A row that may not be mapped yet stays in the merge with the rows after it in its partition,
and is mapped with a later batch; its partition's offset is committed
up to it, not past it. A partition whose row is *held* for a fact that has not arrived yet (an
unknown item: ``AWAITED_REFERENCES``) holds nothing else back: that row waits for a fact, which
may well come later in commit order. Nothing here does I/O.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from transforms.envelope import Envelope, StreamOrder
from transforms.pipeline import Outcome, RawMessage

TopicKey = tuple[str, int]

#: No order at all: every streamed row is past it.
BEFORE_EVERYTHING: StreamOrder = ()


class Sequenced(NamedTuple):
    """A consumed row with what ordering it needs: its source, decoded envelope, kind."""

    raw: RawMessage
    #: ``pipeline.decode(raw)``: the envelope, or the outcome decided without a mapper.
    decoded: Envelope | Outcome
    #: The source system (the raw topic's first label: ``erp``, ``wms``).
    system: str
    #: Whether the row belongs to a reference table (its state feeds other rows).
    reference: bool

    @property
    def key(self) -> TopicKey:
        return (self.raw.topic, self.raw.partition)

    @property
    def order(self) -> StreamOrder | None:
        """The row's place in its source's commit order; ``None`` for a snapshot read or a
        record that is no change event."""
        decoded = self.decoded
        return decoded.order if isinstance(decoded, Envelope) else None


def _merge_key(row: Sequenced) -> tuple[int, int, StreamOrder]:
    order = row.order
    if order is None:
        return (0, 0 if row.reference else 1, BEFORE_EVERYTHING)
    return (1, 0, order)


@dataclass(frozen=True, slots=True)
class PartitionReading:
    """How far one partition this instance reads has been read (all it has consumed)."""

    key: TopicKey
    system: str
    reference: bool
    #: Read to the end the consumer last saw: nothing more is there.
    at_end: bool
    #: The highest commit order mapped from it so far, ``None`` if none is known.
    last_order: StreamOrder | None
    #: Its row is held for a fact (see the module docstring): it holds nothing else back.
    held: bool = False


class CommitOrderMerge:
    """The rows read and not yet mapped, handed out in commit order as far as they may be.

    Per source, a heap holds each partition's first waiting row. ``take`` pops the lowest while
    it may be mapped: no partition of the other kind can still bring a change committed before
    it. Such a partition is one with no row waiting that is not read to its end and whose last
    row mapped is older. Once the lowest row of a source may not be mapped, nothing later of
    that source may either (every later row of the other kind comes after it, and every later
    row of its own kind is past the same partition), so the source stops there until the next
    ``take``. Rows wait across batches without being merged again.
    """

    def __init__(self) -> None:
        #: Per partition, its waiting rows with the ticket of their arrival.
        self._queues: dict[TopicKey, deque[tuple[int, Sequenced]]] = {}
        self._heaps: dict[str, list[tuple[tuple[int, int, StreamOrder], int, TopicKey]]] = {}
        self._ticket = itertools.count()  # ties in the heap (snapshot reads) go by arrival
        #: Per source stopped by the last ``take``: the partition it waits for.
        self.waiting_for: dict[str, TopicKey] = {}

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def waiting(self) -> dict[TopicKey, int]:
        """Per partition with rows waiting: how many."""
        return {key: len(queue) for key, queue in self._queues.items() if queue}

    def first_offset(self, key: TopicKey) -> int | None:
        """The offset of the partition's first waiting row (its offset to commit)."""
        queue = self._queues.get(key)
        return queue[0][1].raw.offset if queue else None

    def add(self, rows: Iterable[Sequenced]) -> None:
        """Rows just read, each partition's in offset order."""
        for row in rows:
            queue = self._queues.setdefault(row.key, deque())
            queue.append((next(self._ticket), row))
            if len(queue) == 1:
                self._push(*queue[0])

    def drop(self, keys: Iterable[TopicKey]) -> list[Sequenced]:
        """Forget the partitions' waiting rows (they are read again from the committed
        offset, or from a held row); the rows forgotten."""
        dropped: list[Sequenced] = []
        for key in keys:
            # Heap entries left behind are skipped when popped.
            dropped.extend(row for _, row in self._queues.pop(key, ()))
        return dropped

    def clear(self) -> None:
        self._queues.clear()
        self._heaps.clear()

    def take(self, readings: Iterable[PartitionReading]) -> Iterator[Sequenced]:
        """The waiting rows that may be mapped now, in commit order per source. The caller
        maps each before asking for the next; ``drop`` of a row's partition (a held row)
        may come in between."""
        by_key = {reading.key: reading for reading in readings}
        limits: dict[tuple[str, bool], tuple[StreamOrder, TopicKey]] = {}
        self.waiting_for = {}
        for reading in by_key.values():
            if not self._queues.get(reading.key):
                _limit(limits, reading, reading.last_order)
        for system in sorted(self._heaps):  # the sources one after the other, by name
            heap = self._heaps[system]
            while heap:
                _, ticket, key = heap[0]
                queue = self._queues.get(key)
                if not queue or queue[0][0] != ticket:
                    heapq.heappop(heap)  # dropped meanwhile (and maybe read again since)
                    continue
                row = queue[0][1]
                order = row.order
                limit = limits.get((system, row.reference))
                if order is not None and limit is not None and order > limit[0]:
                    self.waiting_for[system] = limit[1]
                    break  # nothing later of this source may be mapped either
                heapq.heappop(heap)
                queue.popleft()
                yield row
                if key not in self._queues:
                    continue  # dropped by the caller (held)
                if queue:
                    self._push(*queue[0])
                else:
                    del self._queues[key]
                    done = by_key.get(key)
                    if done is not None:
                        last = done.last_order
                        newest = order if last is None or (order and order > last) else last
                        _limit(limits, done, newest)

    def _push(self, ticket: int, row: Sequenced) -> None:
        heap = self._heaps.setdefault(row.system, [])
        heapq.heappush(heap, (_merge_key(row), ticket, row.key))


def _limit(
    limits: dict[tuple[str, bool], tuple[StreamOrder, TopicKey]],
    reading: PartitionReading,
    last: StreamOrder | None,
) -> None:
    """A partition with no row waiting limits the other kind of its source to its last order,
    unless it is read to its end or held."""
    if reading.at_end or reading.held:
        return
    where = (reading.system, not reading.reference)
    order = last or BEFORE_EVERYTHING
    limit = limits.get(where)
    if limit is None or order < limit[0]:
        limits[where] = (order, reading.key)
