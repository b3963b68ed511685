"""The commit in flight: a batch's offsets and commit travel on a thread while the next batch
maps; a failed commit rolls back both (the runner's Kafka clients are faked)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException, Message, TopicPartition

from transforms.batch import Mapped
from transforms.errors import KafkaTransientError, RunnerStalled
from transforms.reference import StateUpdate
from transforms.registry import default_registry
from transforms.runner import Runner
from transforms.settings import TransformsSettings
from transforms.transactions import client_logger


class FakeProducer:
    """Records the transactional calls; ``commit_transaction`` fails if told to."""

    def __init__(
        self, commit_error: RdKafkaError | None = None, stuck: threading.Event | None = None
    ) -> None:
        self.calls: list[str] = []
        self._commit_error = commit_error
        #: ``send_offsets_to_transaction`` blocks until this is set (librdkafka was seen
        #: blocked there for minutes past its timeout during a broker outage).
        self._stuck = stuck

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def produce(self, topic: str, **_record: Any) -> None:
        self.calls.append(f"produce {topic}")

    def poll(self, _timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(self, offsets: Any, group: Any, timeout: float) -> None:
        if self._stuck is not None:
            self._stuck.wait()
        self.calls.append("send_offsets")

    def commit_transaction(self, timeout: float) -> None:
        if self._commit_error is not None:
            raise KafkaException(self._commit_error)
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")


@pytest.fixture
def runner() -> Iterator[Runner]:
    settings = TransformsSettings(instance_id="7", commit_deadline_s=1.0, stop_grace_s=0.2)
    runner = Runner(settings, default_registry())
    runner.commits.open()
    yield runner
    runner.commits.close()


def _mapped(messages: int) -> Mapped:
    return Mapped(
        records=[("scv.order.v1", b"k", b"{}", None)],
        counts={
            "events": Counter({"order.placed": 1}),
            "skipped": Counter(),
            "quarantined": Counter(),
        },
        positions=[TopicPartition("erp.proddta.f4211", 0, 10)],
        group=None,
        messages=messages,
        reference=False,
    )


def test_a_committed_batch_is_final_and_the_next_stays_open(runner: Runner) -> None:
    producer: Any = FakeProducer()
    runner.store.apply(StateUpdate("item|1", {"v": 1}))
    runner.commits.send(producer, _mapped(messages=2))
    runner.store.apply(StateUpdate("item|2", {"v": 2}))  # the next batch, mapped meanwhile
    runner._await_commit()
    assert producer.calls == ["begin", "produce scv.order.v1", "send_offsets", "commit"]
    assert (runner.stats.batches, runner.stats.messages) == (1, 2)
    assert runner.stats.events == Counter({"order.placed": 1})
    runner.store.abort()  # the next batch fails: only its update goes
    assert (runner.store.get("item|1"), runner.store.get("item|2")) == ({"v": 1}, None)


def test_a_failed_commit_is_aborted_and_rolls_back_both_batches(runner: Runner) -> None:
    error = RdKafkaError(RdKafkaError._TIMED_OUT, "coordinator gone", txn_requires_abort=True)
    producer: Any = FakeProducer(commit_error=error)
    runner.store.apply(StateUpdate("item|1", {"v": 1}))
    runner.commits.send(producer, _mapped(messages=2))
    runner.store.apply(StateUpdate("item|2", {"v": 2}))
    with pytest.raises(KafkaTransientError, match="coordinator gone"):
        runner._await_commit()
    runner.store.abort()  # what the loop does with a transient error, before re-reading
    assert producer.calls[-1] == "abort"
    assert runner.stats.batches == runner.stats.messages == 0
    assert (runner.store.get("item|1"), runner.store.get("item|2")) == (None, None)


class _NoPartitions:
    def resume(self, partitions: list[TopicPartition]) -> None:
        assert partitions == []


def test_a_revocation_waits_for_the_commit_in_flight(runner: Runner) -> None:
    producer: Any = FakeProducer()
    runner.commits.send(producer, _mapped(messages=3))
    runner._on_revoke(_NoPartitions(), [])  # type: ignore[arg-type]
    assert runner.commits.in_flight is None
    assert runner.stats.messages == 3


def test_a_commit_that_fails_during_a_revocation_is_handled_after_consume(runner: Runner) -> None:
    error = RdKafkaError(RdKafkaError._TIMED_OUT, "fenced meanwhile", txn_requires_abort=True)
    runner.commits.send(FakeProducer(commit_error=error), _mapped(messages=3))  # type: ignore[arg-type]
    runner._on_revoke(_NoPartitions(), [])  # type: ignore[arg-type]
    assert isinstance(runner.commits.aborted, KafkaTransientError)


class FakeStateConsumer:
    def __init__(self, messages: list[Message]) -> None:
        self._batches = [messages]

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return self._batches.pop() if self._batches else []


def test_the_catch_up_skips_this_instances_own_records(runner: Runner) -> None:
    # Batch N-1 wrote v=1, batch N (in flight) v=2; N-1's record read back late must not put
    # v=1 back under the batch mapped next. (``probe|`` keys: their values stay valid state
    # records once the load checks them, ``decode_state_record``.)
    runner.store.apply(StateUpdate("probe|1", {"recent": [[2, 2]]}))
    own = Message(key=b"probe|1", value=b'{"recent": [[1, 1]]}', headers=runner.state.writer)
    # A predecessor with the same transactional id (a restart) is another writer.
    other = Message(
        key=b"probe|2", value=b'{"recent": [[5, 5]]}', headers=[("scv_writer", b"scv-transforms-7")]
    )
    runner.state.catch_up(FakeStateConsumer([own, other]), runner.holds.news)  # type: ignore[arg-type]
    assert runner.store.get("probe|1") == {"recent": [[2, 2]]}
    assert runner.store.get("probe|2") == {"recent": [[5, 5]]}


def test_a_stuck_commit_stalls_the_runner_past_its_deadline(runner: Runner) -> None:
    stuck = threading.Event()
    runner.commits.send(FakeProducer(stuck=stuck), _mapped(messages=3))  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(RunnerStalled, match="did not finish within 1s"):
        runner._await_commit()
    assert 1.0 <= time.monotonic() - started < 3
    stuck.set()


def test_a_stop_ends_the_wait_for_a_stuck_commit_after_the_grace(runner: Runner) -> None:
    stuck = threading.Event()
    runner.commits.send(FakeProducer(stuck=stuck), _mapped(messages=3))  # type: ignore[arg-type]
    runner.stop("SIGTERM")
    started = time.monotonic()
    with pytest.raises(RunnerStalled, match=r"^stopping"):
        runner._await_commit()
    assert time.monotonic() - started < 0.8  # the grace (0.2 s), not the deadline (1 s)
    stuck.set()


def test_a_fatal_producer_error_stalls_the_runner(runner: Runner) -> None:
    error = RdKafkaError(RdKafkaError._FENCED, "epoch bumped", fatal=True)
    runner.commits.send(FakeProducer(commit_error=error), _mapped(messages=1))  # type: ignore[arg-type]
    with pytest.raises(RunnerStalled, match="epoch bumped"):
        runner._await_commit()


def test_a_timed_out_commit_is_aborted_and_redone(runner: Runner) -> None:
    error = RdKafkaError(RdKafkaError._TIMED_OUT, "broker gone", retriable=True)
    producer: Any = FakeProducer(commit_error=error)
    runner.commits.send(producer, _mapped(messages=1))
    with pytest.raises(KafkaTransientError, match="broker gone"):
        runner._await_commit()
    assert producer.calls[-1] == "abort"


def test_client_logs_are_one_line_per_state_change(capsys: pytest.CaptureFixture[str]) -> None:
    logger = client_logger("unit-test")
    refused = (
        "FAIL [rdkafka#producer-1] [thrd:127.0.0.1:19092/bootstrap]: 127.0.0.1:19092/bootstrap: "
        "Connect to ipv4#127.0.0.1:19092 failed: Connection refused (after {}ms in state CONNECT)"
    )
    for attempt in range(20):
        logger.log(logging.ERROR, "%s", refused.format(attempt % 3))
    logger.log(logging.INFO, "%s", "FAIL [rdkafka#producer-1] [thrd:127.0.0.1:19092/bootstrap]: up")
    logger.log(logging.ERROR, "%s", refused.format(0))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
