"""The functional core: one raw change message → ``Emit`` | ``Quarantine`` | ``Skip``.

No Kafka here. ``process`` parses the envelope, checks the row against the columns its mapper
was written for, and runs the mapper. A ``DataError`` becomes a ``Quarantine`` with its precise
reason; so does *any other* exception from decoding or a mapper, with the reason
``mapper_exception``. The legacy databases accept values no decoder foresaw (a negative time in
a NUMERIC(6,0), an epoch in year 40,000), and an exception that escaped here would stop the
runner before it commits, on the same record at every restart of every instance: a crash loop
over one row. Quarantined instead, the record keeps its bytes and its reason for a replay after
the fix, the partition moves on, and a bug that hits every row still stops the stream through
``QuarantineLimit`` (it counts these like any quarantine). Only ``KeyboardInterrupt``,
``SystemExit`` and ``MemoryError`` propagate: they are about the process, not the record.

``route`` passes a batch's events through the quality gate, which may send more messages to
quarantine. ``serialize`` turns an ``Emit`` into the records the runner produces and
quarantines a message whose record would be refused for its size (``output_too_large``).
``QuarantineLimit`` stops the stream when bad input stops looking like the exception.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

import orjson

from transforms.deadletter import DeadLetter
from transforms.envelope import ChangeEvent, Envelope, Op, parse_envelope
from transforms.errors import DataError, InvalidChangeEvent, QuarantineLimitExceeded
from transforms.events import (
    DEFAULT_SCHEMA_BASE_URL,
    CanonicalEvent,
    Headers,
    KafkaRecord,
    to_kafka,
)
from transforms.reference import Reference, StateUpdate
from transforms.registry import MapperRegistry
from transforms.replays import ReplayGuard

Stage = Literal["decode", "map", "gate", "serialize"]

#: ``MissingReference`` reasons whose fact may still arrive on another topic (the runner holds
#: such rows back for a while); a missing site zone is configuration and never comes.
AWAITED_REFERENCES = frozenset(
    {"unknown_item", "unknown_uom_conversion", "unknown_order", "unknown_location"}
)


#: A record's headers as read: any sequence of (name, value) pairs.
RawHeaders = Sequence[tuple[str, str | bytes | None]]


class RawMessage(NamedTuple):
    """One consumed record, exactly as it was read (quarantine keeps these bytes).

    A ``NamedTuple`` rather than a frozen dataclass: one is built per consumed record, and a
    frozen dataclass sets each field through ``object.__setattr__`` (docs/benchmarks.md).
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: RawHeaders = ()


@dataclass(frozen=True, slots=True)
class Emit:
    events: tuple[CanonicalEvent, ...]
    state: tuple[StateUpdate, ...] = ()


@dataclass(frozen=True, slots=True)
class Quarantine:
    stage: str
    reason: str  # the first failed rule (Confluent's ``__rule.name``)
    detail: str
    #: Every failed rule (gate: all failed expectations in suite order; else ``reason``).
    rules: tuple[str, ...] = ()
    #: The gate's suite(s) (``name@digest``) and the rejected events (id, type).
    suites: tuple[str, ...] = ()
    events: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


Outcome = Emit | Quarantine | Skip

# The two skips of nearly every message, made once (an outcome is immutable).
TOMBSTONE = Skip("tombstone")
NO_BUSINESS_CHANGE = Skip("no business change")
#: A change Debezium wrote again after a restart (``transforms.replays``).
REPLAYED = Skip("replayed")


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_columns(change: ChangeEvent, expected: frozenset[str]) -> None:
    for image in (change.before, change.after):
        # Nearly every row has exactly the known columns: one subset test in C decides it.
        if image is None or expected.issuperset(image.columns()):
            continue
        for column in sorted(image.columns() - expected):
            # A new column that is null or blank (a nullable column, or the legacy ``NOT NULL
            # DEFAULT ' '`` of CHAR columns) tells us nothing we would drop; a new column with a
            # value is a meaning the mapper does not know: schema drift, quarantine.
            if not _empty(image[column]):
                raise InvalidChangeEvent(
                    "unexpected_column",
                    f"{change.table}: column {column!r} is not known to the mapper",
                )


#: How much of an unexpected exception's message a quarantine detail keeps.
EXCEPTION_DETAIL_CHARS = 500


def exception_quarantine(stage: str, exc: Exception) -> Quarantine:
    """The quarantine of a record whose decoding or mapping raised ``exc`` (not a DataError)."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001  (an exception whose __str__ fails still names its type)
        message = "<message not printable>"
    if len(message) > EXCEPTION_DETAIL_CHARS:
        message = f"{message[:EXCEPTION_DETAIL_CHARS]}... ({len(message)} chars)"
    return Quarantine(
        stage=stage,
        reason="mapper_exception",
        detail=f"mapper_exception: {type(exc).__name__}: {message}",
    )


def decode(raw: RawMessage) -> Envelope | Outcome:
    """The envelope of ``raw`` (its row images not yet decoded), or the outcome decided without
    a mapper: ``TOMBSTONE``, or a ``Quarantine`` of bytes that are no change event.

    Never raises for a record (see ``process``). The runner decodes a batch first to put it in
    source commit order (``transforms.sequencing``), then hands each envelope to ``process``.
    """
    try:
        envelope = parse_envelope(raw.value)
    except DataError as exc:
        return Quarantine(stage=exc.stage, reason=exc.reason, detail=exc.detail)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (the safety net, as in ``process``)
        return exception_quarantine("decode", exc)
    return TOMBSTONE if envelope is None else envelope


def process(
    raw: RawMessage,
    registry: MapperRegistry,
    ref: Reference,
    replays: ReplayGuard | None = None,
    decoded: Envelope | Outcome | None = None,
) -> Outcome:
    """Map one raw message. Pure apart from reading ``ref`` and, when given, recognising a
    replay in ``replays`` (which then counts the message as handed on). ``decoded`` is
    ``decode(raw)`` when the caller has it already.

    Never raises for a record: a ``DataError`` is a ``Quarantine`` with its reason, any other
    exception a ``Quarantine`` ``mapper_exception`` (stage ``decode`` before the mapper runs,
    ``map`` from then on), so one record can never stop the runner at every restart (see the
    module docstring). ``KeyboardInterrupt``, ``SystemExit`` and ``MemoryError`` propagate.
    """
    if decoded is None:
        decoded = decode(raw)
    if not isinstance(decoded, Envelope):
        return decoded
    envelope = decoded
    stage = "decode"
    try:
        if replays is not None and not replays.admit(raw.topic, raw.partition, raw.key, envelope):
            return REPLAYED
        if envelope.op is Op.TRUNCATE:
            raise InvalidChangeEvent("truncate", f"{envelope.table} was truncated at the source")
        entry = registry.lookup(envelope.table)
        if envelope.op in entry.ignored_ops:
            return NO_BUSINESS_CHANGE  # the row images are never decoded (see ``Mapper``)
        change = envelope.change()
        _check_columns(change, entry.columns)
        stage = "map"
        events: list[CanonicalEvent] = []
        state: list[StateUpdate] = []
        for output in entry.fn(change, ref):
            if isinstance(output, StateUpdate):
                state.append(output)
            else:
                events.append(output)
    except DataError as exc:
        return Quarantine(stage=exc.stage, reason=exc.reason, detail=exc.detail)
    except MemoryError:
        raise  # the process is short of memory: no verdict on the record
    except Exception as exc:  # noqa: BLE001  (the safety net: quarantined with its type)
        return exception_quarantine(stage, exc)
    if not events and not state:
        return NO_BUSINESS_CHANGE
    return Emit(tuple(events), tuple(state))


#: librdkafka's default ``message.max.bytes``: ``produce`` refuses a bigger record
#: (MSG_SIZE_TOO_LARGE) in the middle of the batch's transaction.
LIBRDKAFKA_MESSAGE_MAX_BYTES = 1_000_000
#: Kept free below that for what ``record_size`` does not count: librdkafka's own framing of a
#: record (length, attributes, timestamp and offset deltas, header count: a few dozen bytes).
RECORD_HEADROOM = 16_384
#: The default largest output record (``TransformsSettings.max_record_bytes``).
MAX_RECORD_BYTES = LIBRDKAFKA_MESSAGE_MAX_BYTES - RECORD_HEADROOM


def record_size(key: bytes | None, value: bytes | None, headers: RawHeaders) -> int:
    """Bytes of a record as librdkafka's size check counts them, less its fixed framing:
    key, value, and each header's name and value with their two length varints."""
    size = len(key or b"") + len(value or b"")
    for name, header in headers:
        size += len(name.encode()) + 10
        if header is not None:
            size += len(header.encode() if isinstance(header, str) else header)
    return size


class Serialized(NamedTuple):
    """An ``Emit``'s records: its events in Kafka form, its state updates as (key, value)
    (the runner adds the state topic and its writer header)."""

    events: tuple[KafkaRecord, ...]
    state: tuple[tuple[bytes, bytes | None], ...]


def serialize(
    outcome: Emit,
    *,
    topic_prefix: str = "",
    max_record_bytes: int = MAX_RECORD_BYTES,
    state_headers: RawHeaders = (),
    schema_base_url: str = DEFAULT_SCHEMA_BASE_URL,
) -> Serialized | Quarantine:
    """The records an ``Emit`` writes, or a ``Quarantine`` ``output_too_large`` if one of them
    exceeds ``max_record_bytes`` (``record_size``).

    Checked before anything is produced: librdkafka refuses an oversized record in ``produce``,
    within the batch's open transaction, and the batch would fail on it at every restart. So the
    whole message is quarantined instead (none of its events is written, as for the gate).
    Serialization itself failing is a ``mapper_exception`` like a mapper's. ``state_headers``
    are the headers the runner puts on state records (counted in their size).
    """
    try:
        events = tuple(
            to_kafka(event, topic_prefix=topic_prefix, schema_base_url=schema_base_url)
            for event in outcome.events
        )
        state = tuple(
            (update.key.encode(), None if update.value is None else orjson.dumps(update.value))
            for update in outcome.state
        )
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (the safety net of ``process``, one step on)
        return exception_quarantine("serialize", exc)
    too_large = [
        (f"{event.event_type} {event.event_id}", size)
        for event, record in zip(outcome.events, events, strict=True)
        if (size := record_size(record.key, record.value, record.headers)) > max_record_bytes
    ] + [
        (f"state {key.decode()[:100]}", size)
        for key, value in state
        if (size := record_size(key, value, state_headers)) > max_record_bytes
    ]
    if too_large:
        return Quarantine(
            stage="serialize",
            reason="output_too_large",
            detail="; ".join(
                f"{what}: {size} bytes > {max_record_bytes}" for what, size in too_large
            ),
            events=tuple((str(e.event_id), e.event_type) for e in outcome.events),
        )
    return Serialized(events, state)


@dataclass(frozen=True, slots=True)
class Rejection:
    event: CanonicalEvent
    reason: str  # the first failed rule
    detail: str
    suite: str = ""
    rules: tuple[str, ...] = ()  # every failed rule, first first


class Gate(Protocol):
    """The quality gate step: returns the events of a batch that must not pass."""

    def reject(self, events: Sequence[CanonicalEvent]) -> Sequence[Rejection]: ...


class PassThroughGate:
    """Accepts everything (until the quality-gate issue plugs in the expectations suites)."""

    def reject(self, events: Sequence[CanonicalEvent]) -> Sequence[Rejection]:
        return ()


def route(
    batch: Sequence[tuple[RawMessage, Outcome]], gate: Gate
) -> list[tuple[RawMessage, Outcome]]:
    """Gate every event of a batch; a message with a rejected event is quarantined whole, so
    one source change is either fully visible or fully in quarantine."""
    events = [e for _, outcome in batch if isinstance(outcome, Emit) for e in outcome.events]
    if not events:
        return list(batch)
    rejected: dict[str, list[Rejection]] = {}
    for rejection in gate.reject(events):
        rejected.setdefault(str(rejection.event.event_id), []).append(rejection)
    if not rejected:
        return list(batch)
    routed: list[tuple[RawMessage, Outcome]] = []
    for raw, outcome in batch:
        if isinstance(outcome, Emit):
            hits = [r for e in outcome.events for r in rejected.get(str(e.event_id), [])]
            if hits:
                outcome = Quarantine(
                    stage="gate",
                    reason=hits[0].reason,
                    detail="; ".join(h.detail for h in hits),
                    rules=tuple(dict.fromkeys(r for h in hits for r in (h.rules or (h.reason,)))),
                    suites=tuple(dict.fromkeys(h.suite for h in hits if h.suite)),
                    events=tuple(
                        dict.fromkeys((str(h.event.event_id), h.event.event_type) for h in hits)
                    ),
                )
        routed.append((raw, outcome))
    return routed


def quarantine_headers(raw: RawMessage, quarantine: Quarantine, *, instance: str) -> Headers:
    """The original headers plus why, where and by whom the message was quarantined
    (``transforms.deadletter``)."""
    letter = DeadLetter.of(
        stage=quarantine.stage,
        reason=quarantine.reason,
        detail=quarantine.detail,
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        instance=instance,
        rules=quarantine.rules,
        suites=quarantine.suites,
        events=quarantine.events,
    )
    return [*raw.headers, *letter.to_headers()]


class QuarantineLimit:
    """Stops the stream after ``max_consecutive`` quarantines in a row, or when more than
    ``max_ratio`` of the last ``window`` messages were quarantined."""

    def __init__(self, max_consecutive: int, max_ratio: float, window: int) -> None:
        self.max_consecutive = max_consecutive
        self.max_ratio = max_ratio
        self._window: deque[bool] = deque(maxlen=window)
        self._bad_in_window = 0
        self._consecutive = 0

    def record_all(self, outcomes: Iterable[Outcome]) -> None:
        """``record`` each outcome; a batch without a quarantine, after a window without one,
        is taken in one step (the common case, once per batch instead of once per message)."""
        batch = list(outcomes)
        bad = [isinstance(outcome, Quarantine) for outcome in batch]
        if self._bad_in_window or any(bad):
            for outcome in batch:
                self.record(outcome)
            return
        self._window.extend(bad)
        self._consecutive = 0

    def record(self, outcome: Outcome) -> None:
        bad = isinstance(outcome, Quarantine)
        if len(self._window) == self._window.maxlen and self._window[0]:
            self._bad_in_window -= 1
        self._window.append(bad)
        self._bad_in_window += bad
        self._consecutive = self._consecutive + 1 if bad else 0
        if self._consecutive >= self.max_consecutive:
            raise QuarantineLimitExceeded(
                f"quarantine limit: {self._consecutive} messages in a row were quarantined "
                f"(last: {outcome.reason if isinstance(outcome, Quarantine) else ''}); "
                "stopping instead of quarantining everything: check the mappers and the source"
            )
        full = len(self._window) == self._window.maxlen
        if full and self._bad_in_window > self.max_ratio * len(self._window):
            raise QuarantineLimitExceeded(
                f"quarantine limit: {self._bad_in_window} of the last {len(self._window)} "
                f"messages were quarantined (limit {self.max_ratio:.0%}); stopping"
            )
