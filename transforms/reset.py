"""Start a pipeline over for a new legacy world: its reference state and its group's offsets.

The runner's reference state (items, unit conversions, WMS orders, locations) is keyed by
the legacy systems' own numbers. When the legacy databases are re-created (``scv sim init``,
or an ERP restored from a backup), the same numbers come back with other meanings, and a
pipeline that kept the earlier world's state would map the new world's orders with the old
conversions: wrong quantities, silently. ``reset_pipeline`` therefore deletes the state topic
(the next ``scv pipeline run`` creates it empty) and points the group at the raw topics'
current ends, so neither the earlier world's facts nor its unread changes reach the new one.
It refuses while an instance of the pipeline is running.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka.admin import AdminClient

import kafkaio
from kafkaio import client_config
from transforms.errors import KafkaError, TransformsError
from transforms.settings import TransformsSettings


class PipelineRunning(TransformsError):
    """The pipeline to reset has running instances."""

    exit_code = 2


#: A commit from outside the group is refused with these while members are in it.
_GROUP_ACTIVE = frozenset(
    {
        RdKafkaError.UNKNOWN_MEMBER_ID,
        RdKafkaError.REBALANCE_IN_PROGRESS,
        RdKafkaError.ILLEGAL_GENERATION,
    }
)


@dataclass(frozen=True)
class ResetReport:
    state_topic: str
    #: Whether there was a state topic to delete (a pipeline had run in this namespace).
    state_deleted: bool
    group: str
    #: Raw partitions the group now starts at the end of.
    partitions: int


def reset_pipeline(settings: TransformsSettings, *, timeout_s: float = 30.0) -> ResetReport:
    """Delete the pipeline's reference state and move its group to the raw topics' ends."""
    config: dict[str, Any] = client_config(settings.kafka_bootstrap)
    admin = AdminClient(config)
    group = settings.group_id
    try:
        (described,) = admin.describe_consumer_groups([group]).values()
        members = described.result(timeout_s).members
    except KafkaException as exc:
        raise KafkaError(f"cannot describe group {group}: {exc.args[0].str()}") from None
    if members:
        hosts = ", ".join(sorted({m.client_id for m in members}))
        raise PipelineRunning(
            f"the pipeline of group {group} is running ({hosts}): stop it before re-seeding"
        )
    state_topic = settings.topic(settings.state_topic)
    topics = admin.list_topics(timeout=timeout_s).topics
    deleted = state_topic in topics
    if deleted:
        for name, future in admin.delete_topics([state_topic]).items():
            try:
                future.result(timeout_s)
            except KafkaException as exc:
                if exc.args[0].code() != RdKafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise KafkaError(f"cannot delete {name}: {exc.args[0].str()}") from None
        _await_gone(admin, state_topic, timeout_s)
    ends = _raw_ends(settings)
    if ends:
        consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False})
        try:
            consumer.commit(offsets=ends, asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() in _GROUP_ACTIVE:  # an instance joined since the check
                raise PipelineRunning(
                    f"the pipeline of group {group} started meanwhile: stop it before re-seeding"
                ) from None
            raise KafkaError(f"cannot move group {group}: {exc.args[0].str()}") from None
        finally:
            consumer.close()
    return ResetReport(state_topic, deleted, group, len(ends))


def _await_gone(admin: AdminClient, topic: str, timeout_s: float) -> None:
    """Topic deletion is asynchronous: a runner started at once must not find it."""
    deadline = time.monotonic() + timeout_s
    while topic in admin.list_topics(timeout=timeout_s).topics:
        if time.monotonic() > deadline:
            raise KafkaError(f"{topic} still exists {timeout_s:.0f}s after its deletion")
        time.sleep(0.2)


def _raw_ends(settings: TransformsSettings) -> list[TopicPartition]:
    """The high watermark of every raw partition (read-uncommitted: not the stable offset)."""
    pattern = re.compile(settings.source_pattern)
    bootstrap = settings.kafka_bootstrap
    parts = kafkaio.partitions(bootstrap, lambda name: pattern.match(name) is not None)
    ends = kafkaio.high_watermarks(bootstrap, parts)
    return [TopicPartition(t, p, ends[(t, p)]) for t, p in parts]
