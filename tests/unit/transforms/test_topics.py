"""The runner's output topics: configs stated in one place, the quarantine's retention for
ever, and existing topics brought to the stated retention (the admin client is faked)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException
from pydantic import ValidationError

from transforms.errors import KafkaError
from transforms.settings import TransformsSettings
from transforms.topics import QUARANTINE_CONFIG, ensure_topics, topic_configs

WEEK_MS = "604800000"


def test_every_output_topic_has_its_config_stated() -> None:
    configs = topic_configs(TransformsSettings(topic_prefix="t."))
    assert configs["t.scv.quarantine.v1"] == {
        "cleanup.policy": "delete",
        "retention.ms": "-1",
        "retention.bytes": "-1",
    }
    for name in ("order", "inventory", "inbound", "shipment"):
        assert configs[f"t.scv.{name}.v1"] == {
            "cleanup.policy": "delete",
            "retention.ms": WEEK_MS,  # the stated default: Kafka's own
            "retention.bytes": "-1",
        }
    assert configs["t.scv.item.v1"] == {"cleanup.policy": "compact"}
    assert configs["t.scv.transforms.state.v1"] == {"cleanup.policy": "compact"}
    assert len(configs) == 7


def test_canonical_retention_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCV_TRANSFORMS_CANONICAL_RETENTION_MS", "-1")
    assert topic_configs(TransformsSettings())["scv.order.v1"]["retention.ms"] == "-1"
    monkeypatch.setenv("SCV_TRANSFORMS_CANONICAL_RETENTION_MS", str(30 * 24 * 3600 * 1000))
    assert topic_configs(TransformsSettings())["scv.order.v1"]["retention.ms"] == "2592000000"


@pytest.mark.parametrize("value", [0, -2, 1000])
def test_a_retention_shorter_than_an_hour_is_refused(value: int) -> None:
    with pytest.raises(ValidationError, match="canonical_retention_ms"):
        TransformsSettings(canonical_retention_ms=value)


@dataclass
class Partition:
    leader: int = 1
    error: None = None


@dataclass
class Topic:
    partitions: dict[int, Partition]
    error: None = None


@dataclass
class Metadata:
    topics: dict[str, Topic]


@dataclass
class Entry:
    value: str | None


def _done(value: Any = None, error: RdKafkaError | None = None) -> Future[Any]:
    future: Future[Any] = Future()
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(value)
    return future


@dataclass
class FakeAdmin:
    """A cluster of topic configs: creates topics, describes and alters their configs."""

    configs: dict[str, dict[str, str]]
    alter_error: RdKafkaError | None = None
    created: list[str] = field(default_factory=list)
    altered: list[tuple[str, str, str]] = field(default_factory=list)

    def list_topics(self, timeout: float) -> Metadata:
        return Metadata({name: Topic({0: Partition()}) for name in self.configs})

    def create_topics(self, topics: list[Any], **_: Any) -> dict[str, Future[Any]]:
        for topic in topics:
            self.configs[topic.topic] = {"retention.ms": WEEK_MS, **topic.config}
            self.created.append(topic.topic)
        return {topic.topic: _done() for topic in topics}

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        return {r: _done({k: Entry(v) for k, v in self.configs[r.name].items()}) for r in resources}

    def incremental_alter_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        futures = {}
        for resource in resources:
            if self.alter_error is None:
                for entry in resource.incremental_configs:
                    self.configs[resource.name][entry.name] = entry.value
                    self.altered.append((resource.name, entry.name, entry.value))
            futures[resource] = _done(error=self.alter_error)
        return futures


def test_missing_topics_are_created_with_their_configs() -> None:
    admin = FakeAdmin({})
    settings = TransformsSettings()
    ensure_topics(settings, admin)  # type: ignore[arg-type]
    assert sorted(admin.created) == sorted(topic_configs(settings))
    assert admin.configs["scv.quarantine.v1"]["retention.ms"] == "-1"
    assert admin.altered == []  # nothing to fix on topics it just created


def test_an_existing_quarantine_topic_with_a_finite_retention_is_fixed_and_logged() -> None:
    settings = TransformsSettings()
    existing = {name: dict(config) for name, config in topic_configs(settings).items()}
    existing["scv.quarantine.v1"] = {"cleanup.policy": "delete", "retention.ms": WEEK_MS}
    admin = FakeAdmin(existing)
    lines: list[str] = []
    ensure_topics(settings, admin, lines.append)  # type: ignore[arg-type]
    assert admin.created == []
    assert sorted(admin.altered) == [
        ("scv.quarantine.v1", "retention.bytes", "-1"),
        ("scv.quarantine.v1", "retention.ms", "-1"),
    ]
    assert admin.configs["scv.quarantine.v1"] == QUARANTINE_CONFIG
    assert "topic scv.quarantine.v1: retention.ms 604800000 -> -1" in lines


def test_a_quarantine_topic_that_cannot_be_fixed_stops_the_runner_with_the_fix() -> None:
    settings = TransformsSettings()
    existing = {name: dict(config) for name, config in topic_configs(settings).items()}
    existing["scv.quarantine.v1"]["retention.ms"] = WEEK_MS
    admin = FakeAdmin(
        existing, alter_error=RdKafkaError(RdKafkaError.POLICY_VIOLATION, "no alter here")
    )
    with pytest.raises(KafkaError) as failed:
        ensure_topics(settings, admin)  # type: ignore[arg-type]
    message = str(failed.value)
    assert "topic scv.quarantine.v1 has retention.ms=604800000 and needs retention.ms=-1" in message
    assert "--entity-name scv.quarantine.v1 --add-config retention.ms=-1" in message
