"""Debezium's replays recognised by source position, so that no copy is ever published.

Debezium on Kafka Connect delivers at least once: after a crash of the Connect worker (or a
task restart) a connector resumes from its last flushed offset and writes the changes since
then to the raw topics a second time, with the very same ``source`` block. A raw partition
holds one connector's changes in commit order, so a streamed change whose place in that
order (``envelope.stream_order``) is at or before the last one handed on from its partition
is a replay; it is skipped (``skip replayed``) instead of producing its events again.

Per raw partition the guard keeps a *mark*: the highest order handed on, and the digests of
the changes at exactly that order (a primary-key change is a delete and a create at one
position, and both are new). The mark travels with the partition's consumed offset as the
offset commit's metadata, in the same Kafka transaction as the batch's outputs, so a restart,
a rebalance or an aborted batch resumes with the mark that belongs to the committed offset.
Snapshot reads have no order and always pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
import orjson
from confluent_kafka import TopicPartition

from transforms.envelope import Envelope, StreamOrder

TopicKey = tuple[str, int]

#: The metadata format's version: a mark written by a newer format is ignored, not misread.
_FORMAT = 1

_Change = tuple[bytes | None, str, msgspec.Raw, msgspec.Raw]  # key, op, before, after


def _digest(change: _Change) -> str:
    key, op, before, after = change
    h = hashlib.blake2b(digest_size=8)
    for part in (key or b"", op.encode(), bytes(before), bytes(after)):
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class _Mark:
    order: StreamOrder
    #: The changes handed on at exactly ``order``, digested when first needed (most marks are
    #: replaced by the next change before anything asks).
    changes: tuple[_Change, ...] = ()
    digests: frozenset[str] = frozenset()

    def all_digests(self) -> frozenset[str]:
        if not self.changes:
            return self.digests
        return self.digests | {_digest(c) for c in self.changes}

    def metadata(self) -> str:
        return orjson.dumps(
            {"scv": _FORMAT, "at": list(self.order), "ids": sorted(self.all_digests())}
        ).decode()


def _parse(metadata: str | None) -> _Mark | None:
    if not metadata:
        return None
    try:
        document = orjson.loads(metadata)
    except orjson.JSONDecodeError:
        return None  # an offset committed by another tool: no mark
    if not isinstance(document, dict) or document.get("scv") != _FORMAT:
        return None
    order, ids = document.get("at"), document.get("ids")
    if not isinstance(order, list) or not all(isinstance(i, int) for i in order):
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    return _Mark(tuple(order), digests=frozenset(ids))


class ReplayGuard:
    """The marks of the raw partitions this instance owns (see the module docstring)."""

    def __init__(self) -> None:
        self._marks: dict[TopicKey, _Mark] = {}
        #: Each partition's mark before its last ``admit`` (``undo`` puts it back).
        self._before: dict[TopicKey, _Mark | None] = {}

    def admit(self, topic: str, partition: int, key: bytes | None, envelope: Envelope) -> bool:
        """Whether the change is new (and becomes the partition's mark), not a replay."""
        order = envelope.order
        if order is None:
            return True
        where = (topic, partition)
        mark = self._marks.get(where)
        self._before[where] = mark
        change: _Change = (key, envelope.op.value, envelope.before, envelope.after)
        if mark is None or order > mark.order:
            self._marks[where] = _Mark(order, (change,))
            return True
        if order < mark.order:
            return False
        digest = _digest(change)
        if digest in mark.all_digests():
            return False
        self._marks[where] = _Mark(order, (), mark.all_digests() | {digest})
        return True

    def order(self, topic: str, partition: int) -> StreamOrder | None:
        """The highest order handed on from the partition, ``None`` if none is known."""
        mark = self._marks.get((topic, partition))
        return None if mark is None else mark.order

    def undo(self, topic: str, partition: int) -> None:
        """Forget the partition's last admitted change (it is held, and will be read again)."""
        where = (topic, partition)
        if where in self._before:
            mark = self._before.pop(where)
            if mark is None:
                self._marks.pop(where, None)
            else:
                self._marks[where] = mark

    def stamp(self, positions: Iterable[TopicPartition]) -> list[TopicPartition]:
        """``positions`` with each partition's mark as the offset commit's metadata."""
        out = []
        for tp in positions:
            mark = self._marks.get((tp.topic, tp.partition))
            if mark is None:
                out.append(TopicPartition(tp.topic, tp.partition, tp.offset))
            else:
                out.append(TopicPartition(tp.topic, tp.partition, tp.offset, mark.metadata()))
        return out

    def restore(self, committed: Iterable[TopicPartition]) -> None:
        """Take the marks committed with these partitions' offsets (assigned, or rewound)."""
        for tp in committed:
            where = (tp.topic, tp.partition)
            self._before.pop(where, None)
            mark = _parse(tp.metadata)
            if mark is None:
                self._marks.pop(where, None)
            else:
                self._marks[where] = mark

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop the marks of revoked partitions (their next owner reads the committed ones)."""
        for tp in partitions:
            self._marks.pop((tp.topic, tp.partition), None)
            self._before.pop((tp.topic, tp.partition), None)
