"""Reviewing held rows: when a hold counts as settled (the runner's Kafka client is faked)."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import TopicPartition

from transforms.holds import Ends, Hold, TopicKey
from transforms.registry import default_registry
from transforms.runner import Runner
from transforms.settings import TransformsSettings

ITEMS = ("erp.proddta.f4101", 0)
WMS_ORDERS = ("wms.wmwhse1.ORDERS", 1)


class FakeConsumer:
    """The two calls ``Holds.review`` makes: the group's committed offsets, and resume."""

    def __init__(self, committed: dict[TopicKey, int]) -> None:
        self._committed = committed
        self.resumed: list[TopicKey] = []

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(
                tp.topic, tp.partition, self._committed.get((tp.topic, tp.partition), -1)
            )
            for tp in partitions
        ]

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.resumed += [(tp.topic, tp.partition) for tp in partitions]


class KnownEnds(Ends):
    def __init__(self, ends: dict[TopicKey, int]) -> None:
        super().__init__({})
        self._ends = ends


def _review(held: TopicKey, at: int, committed: dict[TopicKey, int]) -> Hold:
    runner = Runner(TransformsSettings(reference_retry_s=0.5), default_registry())
    hold = Hold(at, "unknown_location", since=0.0, ends=KnownEnds({ITEMS: 50, WMS_ORDERS: 90}))
    hold.paused_at = 1.0  # paused long ago: due
    runner.holds.held[held] = hold
    consumer: Any = FakeConsumer(committed)
    runner.holds.review(consumer)
    assert consumer.resumed == [held]
    return hold


def test_a_held_reference_row_does_not_wait_for_its_own_partition() -> None:
    # A WMS order held at offset 40 of its partition: that partition is committed up to 40
    # (the held row) and can never reach its end while the row is held.
    assert _review(WMS_ORDERS, 40, {ITEMS: 50, WMS_ORDERS: 40}).settled


def test_a_revoked_held_partition_is_resumed_before_it_goes() -> None:
    runner = Runner(TransformsSettings(), default_registry())
    runner.holds.held[WMS_ORDERS] = Hold(40, "unknown_location", since=0.0, ends=KnownEnds({}))
    consumer: Any = FakeConsumer({})
    revoked = [TopicPartition(*WMS_ORDERS), TopicPartition(*ITEMS)]
    runner._on_revoke(consumer, revoked)
    assert consumer.resumed == [WMS_ORDERS]  # only the paused (held) one
    assert runner.holds.held == {}


def test_a_hold_waits_while_another_reference_partition_is_behind() -> None:
    assert not _review(WMS_ORDERS, 40, {ITEMS: 49, WMS_ORDERS: 40}).settled


def _paused_just_now(news_at: float) -> list[TopicKey]:
    runner = Runner(TransformsSettings(reference_retry_s=3600), default_registry())
    hold = Hold(40, "unknown_order", since=0.0, ends=KnownEnds({ITEMS: 50}))
    hold.paused_at = time.monotonic()
    runner.holds.held[WMS_ORDERS] = hold
    runner.holds.news_at = hold.paused_at + news_at
    consumer: Any = FakeConsumer({ITEMS: 10})
    runner.holds.review(consumer)
    return consumer.resumed


def test_a_held_row_is_tried_again_once_reference_rows_arrived_after_it_paused() -> None:
    assert _paused_just_now(news_at=0.001) == [WMS_ORDERS]


def test_a_held_row_waits_without_news_until_its_retry_time() -> None:
    assert _paused_just_now(news_at=-0.001) == []
