"""``kafkaio.retrying``: retriable answers are asked again until a deadline, others fail at once."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

from kafkaio import KafkaIOError, KafkaIORetryableError, raise_for, retrying
from kafkaio.retry import BACKOFF_S, MAX_BACKOFF_S


class Clock:
    """A fake monotonic clock that ``sleep`` advances: no test waits for real."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(codes: list[int], result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """A call that raises ``KafkaException(KafkaError(code))`` for each code, then returns."""
    calls: list[int] = []

    def call() -> str:
        calls.append(len(calls))
        if len(calls) <= len(codes):
            raise KafkaException(KafkaError(codes[len(calls) - 1], "from the fake broker"))
        return result

    return call, calls


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError._TIMED_OUT,
    ],
)
def test_retriable_codes_are_asked_again_until_they_succeed(code: int) -> None:
    clock = Clock()
    call, calls = failing([code, code, code])
    assert retrying(call, what="list offsets", sleep=clock.sleep, clock=clock) == "ok"
    assert len(calls) == 4
    assert clock.sleeps == [BACKOFF_S, BACKOFF_S * 2, BACKOFF_S * 4]


def test_back_off_grows_to_its_cap() -> None:
    clock = Clock()
    call, _calls = failing([KafkaError.LEADER_NOT_AVAILABLE] * 10)
    retrying(call, what="x", deadline_s=1000, sleep=clock.sleep, clock=clock)
    assert max(clock.sleeps) == MAX_BACKOFF_S
    assert clock.sleeps == sorted(clock.sleeps)


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.INVALID_PARTITIONS,
        KafkaError._INVALID_ARG,
        KafkaError.SASL_AUTHENTICATION_FAILED,
    ],
)
def test_a_non_retriable_code_raises_at_once(code: int) -> None:
    clock = Clock()
    call, calls = failing([code])
    with pytest.raises(KafkaIOError) as raised:
        retrying(call, what="list offsets of t[0] at host:1", sleep=clock.sleep, clock=clock)
    assert len(calls) == 1
    assert clock.sleeps == []
    assert not isinstance(raised.value, KafkaIORetryableError)
    assert raised.value.retryable is False
    message = str(raised.value)
    assert message.startswith("list offsets of t[0] at host:1: ")
    assert KafkaError(code).name() in message


def test_the_deadline_gives_one_clear_retryable_error() -> None:
    clock = Clock()
    call, calls = failing([KafkaError.NOT_LEADER_FOR_PARTITION] * 1000)
    with pytest.raises(KafkaIORetryableError) as raised:
        retrying(call, what="high watermarks of demo.x[0]", deadline_s=5, sleep=clock.sleep,
                 clock=clock)  # fmt: skip
    assert clock.now == pytest.approx(5.0)  # the last pause is cut to the deadline
    assert raised.value.retryable is True
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__  # no chained traceback behind the one line
    message = str(raised.value)
    assert message.startswith("high watermarks of demo.x[0]: still failing after 5s (")
    assert f"{len(calls)} attempts" in message
    assert "NOT_LEADER_FOR_PARTITION" in message


def test_other_exceptions_pass_through_untouched() -> None:
    def call() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        retrying(call, what="x")


def test_raise_for_turns_a_per_partition_error_into_a_retried_failure() -> None:
    clock = Clock()
    answers = [KafkaError(KafkaError.LEADER_NOT_AVAILABLE), None]

    def call() -> str:
        raise_for([None, answers.pop(0)])
        return "led"

    assert retrying(call, what="x", sleep=clock.sleep, clock=clock) == "led"
    assert answers == []


def test_kafkaio_imports_no_other_package_of_the_project() -> None:
    root = Path(__file__).resolve().parents[3]
    project = {p.parent.name for p in root.glob("*/__init__.py")} - {"kafkaio"}
    assert {"transforms", "expectations", "views", "bench"} <= project
    for path in (root / "kafkaio").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in project, f"{path.name} imports {name}"
