"""No raw record is skipped without a word: the runner places each assigned partition itself
(``auto.offset.reset=error``), stops on a committed offset that fell off the log unless told
to go on, and handles a fetch whose offset is gone (the Kafka clients are faked)."""

from __future__ import annotations

import gc
import sys
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition
from confluent_kafka import KafkaError as RdKafkaError

import scv.commands.pipeline as pipeline_cli
import transforms.placement as placement_module
import transforms.runner as runner_module
from transforms.clients import consumer_config
from transforms.errors import OffsetGap
from transforms.holds import Ends, Hold, TopicKey
from transforms.registry import default_registry
from transforms.runner import Runner, RunStats
from transforms.settings import TransformsSettings

ORDERS = ("erp.proddta.f4211", 0)
ITEMS = ("erp.proddta.f4101", 1)
NEW = ("wms.wmwhse1.ITRN", 2)


@dataclass
class Answer:
    offset: int


@dataclass
class FakeAdmin:
    """``list_offsets``: each partition's log start (earliest) and end (latest)."""

    lows: dict[TopicKey, int]
    highs: dict[TopicKey, int]
    fail: bool = False

    def list_offsets(self, wanted: dict[Any, Any], **_: Any) -> dict[Any, Future[Answer]]:
        futures: dict[Any, Future[Answer]] = {}
        for tp, spec in wanted.items():
            future: Future[Answer] = Future()
            if self.fail:
                future.set_exception(KafkaException(RdKafkaError(RdKafkaError._TRANSPORT)))
            else:
                bounds = self.lows if "Earliest" in type(spec).__name__ else self.highs
                future.set_result(Answer(bounds[(tp.topic, tp.partition)]))
            futures[tp] = future
        return futures


@dataclass
class FakeConsumer:
    """The group's committed offsets; records assignments and resumes."""

    committed_offsets: dict[TopicKey, int]
    assigned: list[list[tuple[str, int, int]]] = field(default_factory=list)
    resumed: list[TopicKey] = field(default_factory=list)

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.committed_offsets.get(key, -1001))
            for tp in partitions
            for key in [(tp.topic, tp.partition)]
        ]

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned.append(sorted((tp.topic, tp.partition, tp.offset) for tp in partitions))

    def assignment(self) -> list[TopicPartition]:
        last = self.assigned[-1] if self.assigned else []
        return [TopicPartition(t, p) for t, p, _ in last]

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.resumed += [(tp.topic, tp.partition) for tp in partitions]


def _runner(admin: FakeAdmin, **settings: Any) -> tuple[Runner, list[str]]:
    lines: list[str] = []
    runner = Runner(TransformsSettings(**settings), default_registry(), log=lines.append)
    runner.placement.admin = runner.holds.admin = admin  # type: ignore[assignment]
    return runner, lines


def _assign(runner: Runner, consumer: FakeConsumer, *parts: TopicKey) -> None:
    runner._on_assign(consumer, [TopicPartition(t, p) for t, p in parts])  # type: ignore[arg-type]


def test_the_consumer_never_resets_an_offset_by_itself() -> None:
    assert consumer_config(TransformsSettings())["auto.offset.reset"] == "error"


def test_a_first_start_reads_every_partition_from_its_beginning() -> None:
    # With auto.offset.reset=error a partition left without a committed offset would not be
    # read at all: the runner gives the beginning explicitly, and asks the cluster nothing.
    admin = FakeAdmin({}, {})
    runner, _ = _runner(admin)
    consumer = FakeConsumer({})
    _assign(runner, consumer, ORDERS, ITEMS)
    assert consumer.assigned == [
        [(*ITEMS, OFFSET_BEGINNING), (*ORDERS, OFFSET_BEGINNING)],
    ]


def test_committed_partitions_go_on_where_they_were_new_ones_from_the_beginning() -> None:
    admin = FakeAdmin({ORDERS: 500, ITEMS: 0}, {ORDERS: 900, ITEMS: 40})
    runner, _ = _runner(admin)
    consumer = FakeConsumer({ORDERS: 500, ITEMS: 40})
    _assign(runner, consumer, ORDERS, ITEMS, NEW)
    assert consumer.assigned == [[(*ITEMS, 40), (*ORDERS, 500), (*NEW, OFFSET_BEGINNING)]]
    assert runner.stats.gaps == []


def test_a_committed_offset_that_fell_off_the_log_stops_the_runner_naming_the_range() -> None:
    admin = FakeAdmin({ORDERS: 500, ITEMS: 0}, {ORDERS: 900, ITEMS: 40})
    runner, _ = _runner(admin)
    consumer = FakeConsumer({ORDERS: 120, ITEMS: 40})
    with pytest.raises(OffsetGap) as stopped:
        _assign(runner, consumer, ORDERS, ITEMS)
    message = str(stopped.value)
    assert "erp.proddta.f4211[0]: committed offset 120 is below the log start 500" in message
    assert "offsets 120..499 (380)" in message
    assert "--allow-gap" in message
    assert not stopped.value.retryable
    assert stopped.value.exit_code != 0
    assert [(g.topic, g.partition, g.committed, g.log_start) for g in stopped.value.gaps] == [
        ("erp.proddta.f4211", 0, 120, 500)
    ]
    assert consumer.assigned == []  # nothing read past the gap


def test_with_allow_gap_the_range_is_logged_counted_and_read_on_from_the_log_start() -> None:
    admin = FakeAdmin({ORDERS: 500, ITEMS: 0}, {ORDERS: 900, ITEMS: 40})
    runner, lines = _runner(admin, allow_gap=True)
    consumer = FakeConsumer({ORDERS: 120, ITEMS: 40})
    _assign(runner, consumer, ORDERS, ITEMS)
    assert consumer.assigned == [[(*ITEMS, 40), (*ORDERS, 500)]]
    assert [g.skipped for g in runner.stats.gaps] == ["offsets 120..499 (380)"]
    gap_lines = [line for line in lines if line.startswith("gap skipped")]
    assert len(gap_lines) == 1
    assert "erp.proddta.f4211[0]" in gap_lines[0]
    assert gap_lines[0].endswith("reading on from 500")


def test_without_the_log_bounds_the_committed_offsets_are_used_as_they_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A gap then shows when the fetch fails (an offset reset, handled in the loop).
    monkeypatch.setattr(placement_module, "LOG_BOUNDS_DEADLINE_S", 0.01)
    runner, lines = _runner(FakeAdmin({}, {}, fail=True))
    consumer = FakeConsumer({ORDERS: 120})
    _assign(runner, consumer, ORDERS, ITEMS)
    assert consumer.assigned == [[(*ITEMS, OFFSET_BEGINNING), (*ORDERS, 120)]]
    assert any("reading from the committed offsets" in line for line in lines)


class ResetMessage:
    """A consumer error as librdkafka reports an offset reset refused by the policy."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._where = (topic, partition, offset)

    def error(self) -> RdKafkaError:
        return RdKafkaError(RdKafkaError._AUTO_OFFSET_RESET, "fetch failed: offset out of range")

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._where[2]


def test_a_fetch_whose_offset_is_gone_is_noted_not_mapped() -> None:
    runner, lines = _runner(FakeAdmin({}, {}))
    assert runner._triage([ResetMessage(*ORDERS, 700)]) == []  # type: ignore[list-item]
    assert runner.placement.resets == {ORDERS: 700}
    assert "erp.proddta.f4211[0]" in lines[-1]


def test_after_a_reset_every_partition_is_assigned_again_from_the_committed_offsets() -> None:
    admin = FakeAdmin({ORDERS: 0, ITEMS: 0}, {ORDERS: 900, ITEMS: 40})
    runner, _ = _runner(admin)
    consumer = FakeConsumer({ORDERS: 600, ITEMS: 30})
    _assign(runner, consumer, ORDERS, ITEMS)
    runner.holds.held[ITEMS] = Hold(30, "unknown_item", since=0.0, ends=Ends({}))
    runner.placement.resets[ORDERS] = 700
    runner._reassign(consumer)  # type: ignore[arg-type]
    assert consumer.resumed == [ITEMS]  # a paused partition stays paused through an assignment
    assert runner.holds.held == {}
    assert runner.placement.resets == {}
    assert consumer.assigned[-1] == [(*ITEMS, 30), (*ORDERS, 600)]


def test_a_reader_slower_than_retention_stops_at_the_reset() -> None:
    admin = FakeAdmin({ORDERS: 0, ITEMS: 0}, {ORDERS: 900, ITEMS: 40})
    runner, _ = _runner(admin)
    consumer = FakeConsumer({ORDERS: 600, ITEMS: 30})
    _assign(runner, consumer, ORDERS, ITEMS)
    admin.lows[ORDERS] = 800  # retention deleted up to 800 while the runner was behind
    runner.placement.resets[ORDERS] = 650
    with pytest.raises(OffsetGap, match=r"committed offset 600 is below the log start 800"):
        runner._reassign(consumer)  # type: ignore[arg-type]


def test_allow_gap_comes_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from scv.settings import transforms_settings

    monkeypatch.delenv("SCV_TRANSFORMS_ALLOW_GAP", raising=False)
    assert not transforms_settings().allow_gap
    assert transforms_settings(allow_gap=True).allow_gap
    monkeypatch.setenv("SCV_TRANSFORMS_ALLOW_GAP", "1")
    assert transforms_settings().allow_gap


class StubRunner:
    """Stands in for the runner: remembers its settings, reports one skipped gap."""

    settings: TransformsSettings | None = None

    def __init__(self, settings: TransformsSettings, *_: Any, **__: Any) -> None:
        StubRunner.settings = settings
        self.stopping = False

    def run(self, *, until_idle: bool) -> RunStats:
        from kafkaio import Gap

        stats = RunStats()
        stats.gaps.append(Gap("erp.proddta.f4211", 0, 120, 500, 900))
        return stats


def test_pipeline_run_allow_gap_reports_the_skipped_range(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import transforms.quality

    # No stack and no ERP: no database is read here.
    monkeypatch.setenv("SCV_STATE_DIR", str(tmp_path / "no-stack"))
    monkeypatch.delenv("SCV_ERP_READ_DSN", raising=False)
    monkeypatch.setattr(runner_module, "Runner", StubRunner)
    monkeypatch.setattr(transforms.quality.QualityGate, "load", classmethod(lambda cls: None))
    monkeypatch.setattr(gc, "set_threshold", lambda *_: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda _: None)
    result = CliRunner().invoke(pipeline_cli.pipeline, ["run", "--allow-gap"])
    assert result.exit_code == 0, result.output
    assert StubRunner.settings is not None
    assert StubRunner.settings.allow_gap
    assert "1 gaps skipped (--allow-gap)" in result.output
    assert "gap        erp.proddta.f4211[0]" in result.output
    assert "offsets 120..499 (380) skipped" in result.output


def test_a_committed_offsets_leader_epoch_goes_with_it() -> None:
    placed: list[TopicPartition] = []

    class EpochConsumer(FakeConsumer):
        def committed(
            self, partitions: list[TopicPartition], timeout: float
        ) -> list[TopicPartition]:
            return [TopicPartition(*ORDERS, 500, leader_epoch=7)]

        def assign(self, partitions: list[TopicPartition]) -> None:
            placed.extend(partitions)

    runner, _ = _runner(FakeAdmin({ORDERS: 0}, {ORDERS: 900}))
    _assign(runner, EpochConsumer({}), ORDERS)
    assert [(tp.offset, tp.leader_epoch) for tp in placed] == [(500, 7)]  # as the client would
