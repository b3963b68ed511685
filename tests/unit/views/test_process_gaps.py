"""The view process never skips canonical events without a word: each partition starts at its
stored offset (or its log start when it has none), a stored offset that fell off the log stops
it unless told to go on, and a fetch whose offset is gone is handled (Kafka clients faked)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

import views.process
import views.store
from kafkaio import Gap
from scv.commands.views import views as views_group
from views.errors import OffsetGap
from views.process import ViewProcess, ViewStats
from views.settings import ViewsSettings

ORDERS = ("scv.order.v1", 0)
INVENTORY = ("scv.inventory.v1", 2)


@dataclass
class Answer:
    offset: int


@dataclass
class PartitionMeta:
    leader: int = 1
    error: None = None


@dataclass
class TopicMeta:
    partitions: dict[int, PartitionMeta]
    error: None = None


@dataclass
class Metadata:
    topics: dict[str, TopicMeta]


@dataclass
class FakeAdmin:
    """Topic metadata and each partition's log start (earliest) and end (latest)."""

    lows: dict[tuple[str, int], int]
    highs: dict[tuple[str, int], int]

    def list_topics(self, timeout: float) -> Metadata:
        topics: dict[str, TopicMeta] = {}
        for topic, partition in self.highs:
            topics.setdefault(topic, TopicMeta({})).partitions[partition] = PartitionMeta()
        return Metadata(topics)

    def list_offsets(self, wanted: dict[Any, Any], **_: Any) -> dict[Any, Future[Answer]]:
        futures: dict[Any, Future[Answer]] = {}
        for tp, spec in wanted.items():
            bounds = self.lows if "Earliest" in type(spec).__name__ else self.highs
            future: Future[Answer] = Future()
            future.set_result(Answer(bounds[(tp.topic, tp.partition)]))
            futures[tp] = future
        return futures


@dataclass
class FakeConsumer:
    assigned: list[list[tuple[str, int, int]]] = field(default_factory=list)

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned.append(sorted((tp.topic, tp.partition, tp.offset) for tp in partitions))

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned.append(sorted((tp.topic, tp.partition, tp.offset) for tp in partitions))


def _process(admin: FakeAdmin, **settings: Any) -> tuple[ViewProcess, list[str]]:
    lines: list[str] = []
    process = ViewProcess(ViewsSettings(**settings), store=None, log=lines.append)  # type: ignore[arg-type]
    process._admin = admin  # type: ignore[assignment]
    return process, lines


def test_the_live_consumer_never_resets_an_offset_by_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configs: list[dict[str, Any]] = []
    monkeypatch.setattr(views.process, "Consumer", configs.append)
    views.process._consumer(ViewsSettings(), "live")
    views.process._consumer(ViewsSettings(), "tail", reset="earliest")
    assert [c["auto.offset.reset"] for c in configs] == ["error", "earliest"]


def test_stored_partitions_go_on_where_they_were_new_ones_from_the_beginning() -> None:
    admin = FakeAdmin({ORDERS: 100, INVENTORY: 0}, {ORDERS: 900, INVENTORY: 40})
    process, _ = _process(admin)
    consumer = FakeConsumer()
    known: set[tuple[str, int]] = set()
    process._assign(consumer, {ORDERS: 300}, known)  # type: ignore[arg-type]
    assert consumer.assigned == [[(*INVENTORY, OFFSET_BEGINNING), (*ORDERS, 300)]]
    assert known == {ORDERS, INVENTORY}


def test_a_stored_offset_that_fell_off_the_log_stops_the_views_naming_the_range() -> None:
    admin = FakeAdmin({ORDERS: 500, INVENTORY: 0}, {ORDERS: 900, INVENTORY: 40})
    process, _ = _process(admin)
    consumer = FakeConsumer()
    with pytest.raises(OffsetGap) as stopped:
        process._assign(consumer, {ORDERS: 120}, set())  # type: ignore[arg-type]
    message = str(stopped.value)
    assert "scv.order.v1[0]: committed offset 120 is below the log start 500" in message
    assert "offsets 120..499 (380)" in message
    assert "scv views run --allow-gap" in message
    assert stopped.value.exit_code != 0
    assert consumer.assigned == []


def test_with_allow_gap_the_range_is_logged_counted_and_read_from_the_log_start() -> None:
    admin = FakeAdmin({ORDERS: 500, INVENTORY: 0}, {ORDERS: 900, INVENTORY: 40})
    process, lines = _process(admin, allow_gap=True)
    consumer = FakeConsumer()
    process._assign(consumer, {ORDERS: 120}, set())  # type: ignore[arg-type]
    assert consumer.assigned == [[(*INVENTORY, OFFSET_BEGINNING), (*ORDERS, 500)]]
    assert [g.skipped for g in process.stats.gaps] == ["offsets 120..499 (380)"]
    assert sum("gap skipped" in line for line in lines) == 1


def test_a_fetch_whose_offset_is_gone_assigns_again_from_the_stored_offsets() -> None:
    admin = FakeAdmin({ORDERS: 0, INVENTORY: 0}, {ORDERS: 900, INVENTORY: 40})
    process, _ = _process(admin)
    consumer = FakeConsumer()
    process._reassign(consumer, {ORDERS: 700}, {ORDERS, INVENTORY})  # type: ignore[arg-type]
    assert consumer.assigned == [[(*INVENTORY, OFFSET_BEGINNING), (*ORDERS, 700)]]
    admin.lows[ORDERS] = 800  # retention went past a slow reader
    with pytest.raises(OffsetGap, match="committed offset 700 is below the log start 800"):
        process._reassign(consumer, {ORDERS: 700}, {ORDERS, INVENTORY})  # type: ignore[arg-type]


class StubProcess:
    settings: ViewsSettings | None = None

    def __init__(self, settings: ViewsSettings, store: Any, *, log: Any, metrics: Any) -> None:
        StubProcess.settings = settings

    def run(self, *, until_idle: bool) -> ViewStats:
        stats = ViewStats()
        stats.gaps.append(Gap("scv.order.v1", 0, 120, 500, 900))
        return stats


def test_views_run_allow_gap_reports_the_skipped_range(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextmanager
    def opened(dsn: str, schema: str) -> Iterator[Any]:
        yield None

    monkeypatch.setenv("SCV_STORE_DSN", "postgresql://nobody@127.0.0.1:1/scv")
    monkeypatch.setattr(views.store, "opened", opened)
    monkeypatch.setattr(views.process, "ViewProcess", StubProcess)
    result = CliRunner().invoke(views_group, ["run", "--allow-gap"])
    assert result.exit_code == 0, result.output
    assert StubProcess.settings is not None
    assert StubProcess.settings.allow_gap
    assert "1 gaps skipped (--allow-gap)" in result.output
    assert "gap: scv.order.v1[0] offsets 120..499 (380) skipped" in result.output


def test_allow_gap_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCV_VIEWS_ALLOW_GAP", "true")
    assert ViewsSettings().allow_gap
