"""Errors of the Kafka I/O module.

    KafkaIOError                    root: one clear line for the user; ``exit_code``
    └── KafkaIORetryableError       retryable: the cluster was not ready in time (no leader
        │                           yet, coordinator loading, unreachable); trying again later
        │                           may succeed
        └── ReadIncomplete          a bounded read did not reach the end of some partitions
                                    (an open transaction held them back); names them and
                                    where they stopped

Messages name the operation, the bootstrap servers and the partitions; never a credential.
"""

from __future__ import annotations


class KafkaIOError(Exception):
    """Root of the Kafka I/O errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3
    retryable = False


class KafkaIORetryableError(KafkaIOError):
    """A retriable condition that outlasted its deadline."""

    retryable = True


class ReadIncomplete(KafkaIORetryableError):
    """A bounded read stopped short; ``stopped`` maps (topic, partition) to (position, end)."""

    def __init__(self, message: str, stopped: dict[tuple[str, int], tuple[int, int]]) -> None:
        super().__init__(message)
        self.stopped = stopped
