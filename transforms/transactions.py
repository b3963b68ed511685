"""The runner's Kafka transactions: one per batch (``BatchCommits``), the commit thread, their
failures, and the client logs.

A batch's offsets and commit run on a thread of their own while the next batch is mapped
(``transforms.runner``). The thread is a daemon and every wait for it is bounded: during a
broker outage librdkafka's ``send_offsets_to_transaction`` was seen blocked for minutes past
its own timeout, after the broker had already rolled the transaction back. A commit that has
not finished by its deadline raises ``RunnerStalled``; nothing of the batch is visible then
(the broker aborts a transaction that outlives ``transaction.timeout.ms``), and the runner
starts over from the committed offsets in a fresh process (``scv pipeline run``).
"""

from __future__ import annotations

import logging
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException, Producer, TopicPartition

from transforms.errors import KafkaError, KafkaTransientError, RunnerStalled
from transforms.reference import StateStore

_Job = tuple[Future[None], Callable[[], None]]


class CommitThread:
    """One daemon thread that runs commits in order; a stuck one never blocks an exit."""

    def __init__(self, name: str = "scv-commit") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        self._jobs.put((future, job))
        return future

    def close(self) -> None:
        """Let the thread end once it is idle (a stuck job is left behind: it is a daemon)."""
        self._jobs.put(None)

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, raised there
                future.set_exception(exc)
            else:
                future.set_result(None)


def wait(
    future: Future[None], *, deadline_s: float, stopping: Callable[[], bool], grace_s: float
) -> None:
    """Wait for a commit; raise ``RunnerStalled`` past ``deadline_s``, or ``grace_s`` after
    ``stopping()`` turned true (a SIGTERM must end the runner in bounded time)."""
    started = time.monotonic()
    stop_seen: float | None = None
    while True:
        now = time.monotonic()
        if stop_seen is None and stopping():
            stop_seen = now
        try:
            future.result(timeout=0.1)
            return
        except TimeoutError:
            now = time.monotonic()
        if stop_seen is not None and now - stop_seen >= grace_s:
            raise RunnerStalled(
                f"stopping: the commit in flight did not finish within {grace_s:.0f}s "
                "(broker unreachable?); nothing of that batch is visible"
            )
        if now - started >= deadline_s:
            raise RunnerStalled(
                f"a batch's commit did not finish within {deadline_s:.0f}s (broker unreachable "
                "or the transaction timed out); nothing of it is visible"
            )


def commit(producer: Producer, positions: list[TopicPartition], group: Any) -> None:
    """The commit thread's half of a transaction (the client releases the GIL meanwhile)."""
    try:
        producer.send_offsets_to_transaction(positions, group, 30)
        producer.commit_transaction(60)
    except KafkaException as exc:
        raise transaction_failed(producer, exc) from None


def transaction_failed(producer: Producer, exc: KafkaException) -> KafkaError:
    """The error to raise for a failed transaction, aborting it where the client requires.

    A fatal producer error (fenced, or an epoch the broker bumped after the transaction timed
    out during an outage) cannot be aborted: the producer must be replaced, which a fresh
    runner process does (``RunnerStalled``).
    """
    error: RdKafkaError = exc.args[0]
    if error.fatal():
        return RunnerStalled(f"the transactional producer failed fatally: {error.str()}")
    if error.txn_requires_abort():
        producer.abort_transaction(60)
        return KafkaTransientError(f"transaction aborted: {error.str()}")
    if error.retriable():
        # Timed out (broker unreachable): abort what is open, so the batch can be redone.
        abort_quietly(producer)
        return KafkaTransientError(f"transaction not committed: {error.str()}")
    return KafkaError(f"transaction failed: {error.str()}")


def abort_quietly(producer: Producer) -> None:
    try:
        producer.abort_transaction(30)
    except KafkaException as exc:
        code = exc.args[0].code()
        # No open transaction (the failure came before begin), the producer is fenced, or the
        # broker is gone: either way nothing of the batch is committed.
        if code not in (RdKafkaError._STATE, RdKafkaError._FENCED, RdKafkaError._TIMED_OUT):
            raise


#: The parts of a librdkafka log line that change on every retry of the same failure.
_VOLATILE = re.compile(r"\d+")


class _OncePerState(logging.Filter):
    """Passes a client log line only when it differs from the last one of its facility and
    thread (a broker outage is one line per state change, not one per reconnect attempt)."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[tuple[str, str], str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        # confluent-kafka logs "<facility> [<client>] [thrd:<thread>]: <text>".
        message = record.getMessage()
        facility, _, rest = message.partition(" [")
        client, _, rest = rest.partition("] ")
        thread = rest.split("]", 1)[0] if rest.startswith("[") else ""
        key = (f"{facility} {client}", thread)
        shape = _VOLATILE.sub("#", rest)
        if self._last.get(key) == shape:
            return False
        self._last[key] = shape
        return True


def client_logger(name: str) -> logging.Logger:
    """A logger for a Kafka client's ``logger`` setting: to stderr, repeats suppressed."""
    logger = logging.getLogger(f"scv.kafka.{name}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("kafka %(name)s: %(message)s"))
        handler.addFilter(_OncePerState())
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger


class _Batch(Protocol):
    """What a batch brings to its transaction (``transforms.batch.Mapped``)."""

    @property
    def records(self) -> Sequence[tuple[str, bytes | None, bytes | None, Any]]: ...
    @property
    def positions(self) -> list[TopicPartition]: ...
    @property
    def group(self) -> Any: ...


B = TypeVar("B", bound=_Batch)


@dataclass
class _InFlight(Generic[B]):
    """A produced batch whose offsets and commit are on their way (the commit thread)."""

    future: Future[None]
    #: The batch's reference-state updates end here in the store's undo log.
    savepoint: int
    batch: B


class BatchCommits(Generic[B]):
    """One Kafka transaction per batch, its commit on the commit thread while the next batch is
    mapped: ``send`` begins the transaction and produces the batch, the thread sends the
    offsets and commits, ``wait`` waits for it (bounded) and makes the batch's reference-state
    updates final. At most one batch is in flight."""

    def __init__(
        self,
        store: StateStore,
        *,
        commit_deadline_s: float,
        stop_grace_s: float,
        stopping: Callable[[], bool],
        timed: Callable[[Callable[[], None]], Callable[[], None]] = lambda job: job,
    ) -> None:
        self.store = store
        #: Wraps each commit job (the metrics time it: ``transforms.observe``).
        self.timed = timed
        self.commit_deadline_s = commit_deadline_s
        self.stop_grace_s = stop_grace_s
        self.stopping = stopping
        self.committer: CommitThread | None = None
        #: The batch being committed while the next one is mapped.
        self.in_flight: _InFlight[B] | None = None
        #: A commit that failed while a rebalance waited for it (handled after ``consume``).
        self.aborted: KafkaTransientError | None = None

    def open(self) -> None:
        self.committer = CommitThread()

    def close(self) -> None:
        if self.committer is not None:
            self.committer.close()

    def send(self, producer: Producer, batch: B) -> None:
        """Produce a batch in a new transaction; its commit goes to the commit thread (no other
        transaction may be open: ``wait`` first)."""
        if self.committer is None:
            raise KafkaError("the runner is not running")
        savepoint = self.store.savepoint()
        try:
            producer.begin_transaction()
            for topic, key, value, headers in batch.records:
                producer.produce(topic, value=value, key=key, headers=headers)
            # Serve delivery reports once per batch: a batch (``batch_size`` raw messages, a
            # few records each) is far below the producer's local queue; the commit flushes it.
            producer.poll(0)
        except KafkaException as exc:
            raise transaction_failed(producer, exc) from None
        except BaseException:
            abort_quietly(producer)
            raise
        positions, group = batch.positions, batch.group
        future = self.committer.submit(self.timed(lambda: commit(producer, positions, group)))
        self.in_flight = _InFlight(future, savepoint, batch)

    def wait(self) -> B | None:
        """Wait for the batch in flight (None: there is none); once committed, its state
        updates are final.

        Raises ``KafkaTransientError`` if it was aborted: the caller rolls back the store
        (this batch and any mapped since) and rewinds the consumer.
        """
        flight, self.in_flight = self.in_flight, None
        if flight is None:
            return None
        wait(
            flight.future,
            deadline_s=self.commit_deadline_s,
            stopping=self.stopping,
            grace_s=self.stop_grace_s,
        )
        self.store.commit(flight.savepoint)
        return flight.batch
