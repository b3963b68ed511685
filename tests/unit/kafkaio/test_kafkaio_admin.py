"""``kafkaio.partitions`` and ``ensure_topics`` on a fake admin client: a topic without a leader
yet is asked about again, a topic that exists already is fine, a refused creation is one error."""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from kafkaio import KafkaIOError, ensure_topic_configs, ensure_topics, partitions


@dataclass
class Partition:
    leader: int = 1
    error: KafkaError | None = None


@dataclass
class Topic:
    partitions: dict[int, Partition]
    error: KafkaError | None = None


@dataclass
class Metadata:
    topics: dict[str, Topic]


@dataclass
class FakeAdmin:
    """Answers ``list_topics`` from a script of metadata snapshots (the last one repeats)."""

    snapshots: list[dict[str, Topic]]
    create_errors: dict[str, KafkaError] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    asked: int = 0

    def list_topics(self, timeout: float) -> Metadata:
        self.asked += 1
        return Metadata(self.snapshots[min(self.asked, len(self.snapshots)) - 1])

    def create_topics(self, topics: list[Any], **_: Any) -> dict[str, Future[None]]:
        futures: dict[str, Future[None]] = {}
        for topic in topics:
            future: Future[None] = Future()
            error = self.create_errors.get(topic.topic)
            if error is None:
                self.created.append(topic.topic)
                future.set_result(None)
            else:
                future.set_exception(KafkaException(error))
            futures[topic.topic] = future
        return futures


def led(count: int = 1) -> Topic:
    return Topic({p: Partition() for p in range(count)})


def test_partitions_waits_for_a_topic_that_has_no_leader_yet() -> None:
    not_ready = Topic({}, KafkaError(KafkaError.LEADER_NOT_AVAILABLE))
    admin = FakeAdmin([{"a": not_ready, "b": led()}, {"a": led(2), "b": led(), "c": led()}])
    found = partitions("host:1", ["a", "b", "missing"], admin=admin, deadline_s=5)
    assert found == [("a", 0), ("a", 1), ("b", 0)]
    assert admin.asked == 2


def test_partitions_takes_a_pattern_or_a_predicate_or_one_name() -> None:
    admin = FakeAdmin([{"erp.x": led(), "wms.y": led(), "scv.z": led()}])
    assert partitions("h", re.compile(r"^(erp|wms)\."), admin=admin) == [("erp.x", 0), ("wms.y", 0)]
    assert partitions("h", lambda n: n.endswith("z"), admin=admin) == [("scv.z", 0)]
    assert partitions("h", "erp.x", admin=admin) == [("erp.x", 0)]


def test_ensure_topics_creates_the_missing_ones_and_waits_for_their_leaders() -> None:
    leaderless = Topic({0: Partition(leader=-1)})
    admin = FakeAdmin(
        [{"old": led()}, {"old": led(), "new": leaderless}, {"old": led(), "new": led()}]
    )
    created = ensure_topics("h", [NewTopic("old", 1, 1), NewTopic("new", 1, 1)], admin=admin)
    assert created == ["new"]
    assert admin.created == ["new"]
    assert admin.asked == 3  # before creating, leaderless after, led


def test_ensure_topics_takes_a_topic_someone_else_just_created_as_existing() -> None:
    admin = FakeAdmin(
        [{}, {"t": led()}], create_errors={"t": KafkaError(KafkaError.TOPIC_ALREADY_EXISTS)}
    )
    assert ensure_topics("h", [NewTopic("t", 1, 1)], admin=admin) == []


def test_ensure_topics_names_the_topic_a_refused_creation_was_for() -> None:
    admin = FakeAdmin(
        [{}], create_errors={"t": KafkaError(KafkaError.POLICY_VIOLATION, "replication factor")}
    )
    with pytest.raises(KafkaIOError, match=r"create topic t at h: POLICY_VIOLATION"):
        ensure_topics("h", [NewTopic("t", 1, 1)], admin=admin)


@dataclass
class IdleAdmin(FakeAdmin):
    """Like confluent-kafka's AdminClient, falsy while nothing is queued (``__len__`` 0)."""

    def __len__(self) -> int:
        return 0


def test_a_given_client_is_used_even_when_it_is_falsy() -> None:
    # ``admin or admin_client(...)`` made a new client per call for every idle AdminClient:
    # never closed, each reconnecting (and logging) every second while the broker was down.
    admin = IdleAdmin([{"a": led()}])
    assert partitions("host:1", ["a"], admin=admin) == [("a", 0)]
    assert admin.asked == 1
    ensure_topics("host:1", [NewTopic("a", 1, 1)], admin=admin)
    assert admin.asked > 1


@dataclass
class Entry:
    value: str | None


@dataclass
class ConfigAdmin:
    """``describe_configs`` from a dict of topic configs; ``incremental_alter_configs`` applies
    the SET entries it is given, or fails with ``alter_error``."""

    configs: dict[str, dict[str, str]]
    alter_error: KafkaError | None = None
    altered: list[tuple[str, str, str]] = field(default_factory=list)

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        futures: dict[Any, Future[Any]] = {}
        for resource in resources:
            future: Future[Any] = Future()
            config = self.configs[resource.name]
            future.set_result({k: Entry(v) for k, v in config.items()})
            futures[resource] = future
        return futures

    def incremental_alter_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        futures: dict[Any, Future[Any]] = {}
        for resource in resources:
            future: Future[Any] = Future()
            if self.alter_error is not None:
                future.set_exception(KafkaException(self.alter_error))
            else:
                for entry in resource.incremental_configs:
                    assert entry.incremental_operation.name == "SET"
                    self.configs[resource.name][entry.name] = entry.value
                    self.altered.append((resource.name, entry.name, entry.value))
                future.set_result(None)
            futures[resource] = future
        return futures


QUARANTINE = {"retention.ms": "-1", "retention.bytes": "-1"}


def test_ensure_topic_configs_changes_only_the_keys_that_differ() -> None:
    admin = ConfigAdmin(
        {
            "q": {"retention.ms": "604800000", "retention.bytes": "-1", "cleanup.policy": "delete"},
            "ok": {"retention.ms": "-1", "retention.bytes": "-1"},
        }
    )
    changes = ensure_topic_configs("h", {"q": QUARANTINE, "ok": QUARANTINE}, admin=admin)
    assert [(c.topic, c.key, c.before, c.after) for c in changes] == [
        ("q", "retention.ms", "604800000", "-1")
    ]
    assert admin.altered == [("q", "retention.ms", "-1")]
    assert admin.configs["q"]["cleanup.policy"] == "delete"  # untouched
    assert ensure_topic_configs("h", {"q": QUARANTINE}, admin=admin) == []  # now in place


def test_a_refused_config_change_says_what_to_run() -> None:
    admin = ConfigAdmin(
        {"q": {"retention.ms": "86400000", "retention.bytes": "-1"}},
        alter_error=KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "not allowed"),
    )
    with pytest.raises(KafkaIOError) as failed:
        ensure_topic_configs("h:1", {"q": QUARANTINE}, admin=admin)
    message = str(failed.value)
    assert "topic q has retention.ms=86400000 and needs retention.ms=-1" in message
    assert "TOPIC_AUTHORIZATION_FAILED" in message
    assert "kafka-configs.sh --bootstrap-server h:1 --alter --entity-type topics" in message
