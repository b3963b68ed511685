"""One retry rule for every metadata, offsets and admin call on a cluster that may not be ready.

A topic created a moment ago has no leader yet, a freshly started broker is still loading its
group and transaction coordinators, and a request can time out while it elects them: these
answers mean "ask again shortly". ``retrying`` asks again with exponential back-off until a
deadline, then raises one ``KafkaIORetryableError`` naming what failed; any other Kafka error
raises ``KafkaIOError`` at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

from kafkaio.errors import KafkaIOError, KafkaIORetryableError

T = TypeVar("T")

#: The answers of a cluster (or partition) that is not ready yet.
RETRIABLE_CODES: frozenset[int] = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.NOT_CONTROLLER,
        KafkaError.OFFSET_NOT_AVAILABLE,
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.UNKNOWN_LEADER_EPOCH,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._WAIT_COORD,
        KafkaError._UNKNOWN_PARTITION,
    }
)

#: First pause between two tries and the longest one (seconds).
BACKOFF_S = 0.1
MAX_BACKOFF_S = 2.0
#: How long a call may keep failing with retriable errors by default (seconds).
DEADLINE_S = 60.0


def is_retriable(error: KafkaError) -> bool:
    """True for the answers that mean "not ready yet, ask again"."""
    return error.code() in RETRIABLE_CODES or bool(error.retriable())


def describe(error: KafkaError) -> str:
    return f"{error.name()}: {error.str()}"


def raise_for(errors: Iterable[KafkaError | None]) -> None:
    """Raise the first error of a per-partition result (``TopicPartition.error``, topic
    metadata) as ``KafkaException``, so that ``retrying`` sees it like a failed call."""
    for error in errors:
        if error is not None and error.code() != KafkaError.NO_ERROR:
            raise KafkaException(error)


def retrying(
    call: Callable[[], T],
    *,
    what: str,
    deadline_s: float = DEADLINE_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``call()``, again after each retriable ``KafkaException`` until ``deadline_s`` passed.

    ``what`` names the operation and where ("list offsets of 3 partitions at host:port"); it
    begins every error message.
    """
    deadline = clock() + deadline_s
    pause = BACKOFF_S
    tries = 0
    while True:
        tries += 1
        try:
            return call()
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not isinstance(error, KafkaError):
                raise KafkaIOError(f"{what}: {exc}") from None
            if not is_retriable(error):
                raise KafkaIOError(f"{what}: {describe(error)}") from None
            left = deadline - clock()
            if left <= 0:
                raise KafkaIORetryableError(
                    f"{what}: still failing after {deadline_s:.0f}s "
                    f"({tries} attempt{'' if tries == 1 else 's'}; {describe(error)})"
                ) from None
            sleep(min(pause, left))
            pause = min(pause * 2, MAX_BACKOFF_S)
