"""What a consumer's ``consume`` returned, sorted once for every loop that reads Kafka, and
whether a reader has reached the end of its partitions.

``consume`` mixes records with error events. ``triage`` sorts a batch: the records; the
partitions that reported their end (``_PARTITION_EOF``, with ``enable.partition.eof``); the
partitions whose fetch stopped because their offset is not in the log (``_AUTO_OFFSET_RESET``
under ``auto.offset.reset=error``: only an assignment restarts them, ``kafkaio.gaps``); and
transient errors (broker down, rebalance in progress), which librdkafka retries by itself and
which carry no data: they are only worth a log line. A fatal error raises.

End-of-partition is not the end of a ``read_committed`` read: the client reports it at the last
stable offset, in front of an open transaction that may still commit. ``at_high_watermark``
compares the consumer's positions with the high watermarks instead (``kafkaio.admin``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from kafkaio.admin import Partition, high_watermarks, low_watermarks
from kafkaio.errors import KafkaIOError
from kafkaio.retry import DEADLINE_S, describe


def _consumer_failed(error: KafkaError) -> BaseException:
    return KafkaIOError(f"consumer: {describe(error)}")


def consume_batch(consumer: Consumer, size: int, timeout: float, linger: float) -> list[Message]:
    """Up to ``size`` records (and error events): the first one as soon as it arrives (at most
    ``timeout`` seconds), then whatever else arrives within ``linger`` seconds of it.

    ``Consumer.consume(size, timeout)`` returns only once ``size`` records are there or
    ``timeout`` passed: at a business rate a batch never fills, so every record waited up to
    the whole timeout before anything looked at it. Here a batch is small when records
    trickle in and full under a backlog, where the client has the next ``size`` records
    fetched already (figures: docs/benchmarks.md).
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    if size == 1:
        return [first]
    return [first, *consumer.consume(num_messages=size - 1, timeout=linger)]


@dataclass
class Triaged:
    """One ``consume`` answer, sorted (see the module docstring)."""

    records: list[Message] = field(default_factory=list)
    #: Each partition that had a record or an end-of-partition in the batch: True if its last
    #: event was the end (a record after the end in the same batch means it is not there).
    ends: dict[Partition, bool] = field(default_factory=dict)
    #: Partitions whose fetch stopped on an offset reset, with the offset it wanted (-1: none).
    resets: dict[Partition, int] = field(default_factory=dict)
    #: A fetch stopped on an offset reset (also one whose partition the client did not name).
    stopped: bool = False
    #: The errors worth a log line, in order: ``topic[partition]: text`` for a stopped fetch,
    #: the client's text for a transient error.
    notes: list[str] = field(default_factory=list)

    def track_ends(self, at_end: set[Partition]) -> None:
        """Update the set of partitions known to be at their end with this batch."""
        for where, ended in self.ends.items():
            if ended:
                at_end.add(where)
            else:
                at_end.discard(where)


def triage(
    messages: Iterable[Message],
    *,
    fatal: Callable[[KafkaError], BaseException] = _consumer_failed,
) -> Triaged:
    """Sort a ``consume`` answer; a fatal error raises ``fatal(error)`` (each stage its own
    error type; ``KafkaIOError`` by default)."""
    triaged = Triaged()
    for message in messages:
        error = message.error()
        where = (message.topic() or "", message.partition() or 0)
        if error is None:
            triaged.records.append(message)
            triaged.ends[where] = False
        elif error.code() == KafkaError._PARTITION_EOF:
            triaged.ends[where] = True
        elif error.code() == KafkaError._AUTO_OFFSET_RESET:
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if topic is not None and partition is not None:
                triaged.resets[(topic, partition)] = -1 if offset is None else offset
            triaged.stopped = True
            triaged.notes.append(f"{topic}[{partition}]: {error.str()}")
        elif error.fatal():
            raise fatal(error)
        else:
            triaged.notes.append(str(error.str()))
    return triaged


def at_high_watermark(
    consumer: Consumer,
    bootstrap: str,
    parts: Sequence[Partition],
    *,
    started: Mapping[Partition, int],
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> set[Partition]:
    """The partitions of ``parts`` the consumer has read up to their high watermark (past
    every record, committed, aborted or in an open transaction: the latter still to come).

    A partition the consumer has delivered nothing from yet has no position: it stands where
    it was placed, ``started`` (its stored or committed offset; negative: none), or at its
    log start if that is further on."""
    if not parts:
        return set()
    ends = high_watermarks(bootstrap, parts, admin=admin, deadline_s=deadline_s)
    lows = low_watermarks(bootstrap, parts, admin=admin, deadline_s=deadline_s)
    done: set[Partition] = set()
    for tp in consumer.position([TopicPartition(t, p) for t, p in parts]):
        where = (tp.topic, tp.partition)
        at = tp.offset if tp.offset >= 0 else max(started.get(where, 0), lows[where])
        if at >= ends[where]:
            done.add(where)
    return done
