"""Metadata, offsets, group offsets and topic creation, each retried while the cluster is not
ready (see ``kafkaio.retry``).

Ends are high watermarks asked with read-uncommitted isolation: a read-committed ListOffsets
answers the last stable offset, which stops in front of an open transaction and would end a
"read to the end" early without a word. Lookups by time are read-uncommitted for the same
reason (a read-committed lookup finds nothing at or after the last stable offset).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import (
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    OffsetSpec,
)

from kafkaio.config import client_config
from kafkaio.errors import KafkaIOError
from kafkaio.retry import DEADLINE_S, describe, is_retriable, raise_for, retrying

Partition = tuple[str, int]
Offsets = dict[Partition, int]
#: Which topics: names, or a predicate over a name, or a regular expression (``re.match``).
TopicFilter = Iterable[str] | Callable[[str], bool] | re.Pattern[str]

#: Seconds one request may take before it counts as timed out (and is retried).
REQUEST_TIMEOUT_S = 10.0


def admin_client(bootstrap: str, config: Mapping[str, Any] | None = None) -> AdminClient:
    return AdminClient(client_config(bootstrap, config))


def _matcher(topics: TopicFilter) -> Callable[[str], bool]:
    if isinstance(topics, str):  # one name, not its characters
        return topics.__eq__
    if isinstance(topics, re.Pattern):
        pattern = topics
        return lambda name: pattern.match(name) is not None
    if callable(topics):
        return topics
    return set(topics).__contains__


def partitions(
    bootstrap: str,
    topics: TopicFilter,
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> list[Partition]:
    """Every partition of the existing topics that match, sorted; missing topics are left out.

    A matching topic whose metadata says "not ready" (no leader yet) is asked again."""
    client = admin if admin is not None else admin_client(bootstrap)
    wanted = _matcher(topics)

    def ask() -> list[Partition]:
        metadata = client.list_topics(timeout=min(REQUEST_TIMEOUT_S, deadline_s))
        found: list[Partition] = []
        for name, topic in metadata.topics.items():
            if not wanted(name):
                continue
            if topic.error is not None and topic.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                continue  # deleted a moment ago: not there
            raise_for([topic.error])
            found.extend((name, p) for p in topic.partitions)
        return sorted(found)

    return retrying(ask, what=f"list the topics at {bootstrap}", deadline_s=deadline_s)


def _list_offsets(
    bootstrap: str,
    specs: Mapping[Partition, Any],
    what: str,
    admin: AdminClient | None,
    deadline_s: float,
) -> Offsets:
    if not specs:
        return {}
    client = admin if admin is not None else admin_client(bootstrap)
    wanted = {TopicPartition(t, p): spec for (t, p), spec in specs.items()}
    # One request may not outlast the whole deadline.
    timeout = min(REQUEST_TIMEOUT_S, deadline_s)

    def ask() -> Offsets:
        # ``client`` stays referenced until every future resolved (a collected client never
        # completes them).
        futures = client.list_offsets(
            wanted,
            isolation_level=IsolationLevel.READ_UNCOMMITTED,
            request_timeout=timeout,
        )
        return {
            (tp.topic, tp.partition): int(_result(future, timeout).offset)
            for tp, future in futures.items()
        }

    return retrying(ask, what=f"{what} of {_few(specs)} at {bootstrap}", deadline_s=deadline_s)


def high_watermarks(
    bootstrap: str,
    parts: Iterable[Partition],
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> Offsets:
    """Each partition's high watermark (the offset after its last record, whether committed,
    aborted or still in an open transaction), in one round trip."""
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    return _list_offsets(
        bootstrap, dict.fromkeys(parts, latest), "high watermarks", admin, deadline_s
    )


def low_watermarks(
    bootstrap: str,
    parts: Iterable[Partition],
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> Offsets:
    """Each partition's first offset still in the log."""
    earliest = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
    return _list_offsets(
        bootstrap, dict.fromkeys(parts, earliest), "low watermarks", admin, deadline_s
    )


def offsets_for_time(
    bootstrap: str,
    parts: Iterable[Partition],
    when: datetime,
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> Offsets:
    """Each partition's first offset with a timestamp at or after ``when`` (-1: none yet)."""
    spec = OffsetSpec.for_timestamp(int(when.timestamp() * 1000))
    return _list_offsets(
        bootstrap, dict.fromkeys(parts, spec), f"offsets at {when.isoformat()}", admin, deadline_s
    )


def committed_offsets(
    consumer: Consumer,
    parts: Iterable[Partition],
    *,
    group: str,
    deadline_s: float = DEADLINE_S,
) -> Offsets:
    """The group's committed offsets (negative: none) through ``consumer`` (of that group)."""
    tps = [TopicPartition(t, p) for t, p in parts]
    if not tps:
        return {}

    def ask() -> Offsets:
        found = consumer.committed(tps, timeout=min(REQUEST_TIMEOUT_S, deadline_s))
        raise_for(tp.error for tp in found)
        return {(tp.topic, tp.partition): int(tp.offset) for tp in found}

    return retrying(
        ask, what=f"committed offsets of group {group} for {_few(tps)}", deadline_s=deadline_s
    )


def commit_offsets(
    bootstrap: str,
    group: str,
    offsets: Mapping[Partition, int],
    *,
    deadline_s: float = DEADLINE_S,
) -> None:
    """Set the committed offsets of a group that is not running (its next start reads there)."""
    tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
    if not tps:
        return
    consumer = Consumer(client_config(bootstrap, {"group.id": group, "enable.auto.commit": False}))

    def commit() -> None:
        done = consumer.commit(offsets=tps, asynchronous=False)
        raise_for(tp.error for tp in done or [])

    try:
        retrying(
            commit,
            what=f"commit offsets of group {group} for {_few(tps)} at {bootstrap}",
            deadline_s=deadline_s,
        )
    finally:
        consumer.close()


def ensure_topics(
    bootstrap: str,
    topics: Sequence[NewTopic],
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> list[str]:
    """Create the missing ``topics`` and wait until every partition of each has a leader.

    Returns the names it created. A topic that exists already is left as it is; one created
    by someone else in between counts as existing."""
    if not topics:
        return []
    client = admin if admin is not None else admin_client(bootstrap)
    names = [t.topic for t in topics]
    created: list[str] = []

    def create() -> None:
        existing = client.list_topics(timeout=min(REQUEST_TIMEOUT_S, deadline_s)).topics
        missing = [t for t in topics if t.topic not in existing]
        if not missing:
            return
        futures = client.create_topics(
            missing, operation_timeout=REQUEST_TIMEOUT_S, request_timeout=REQUEST_TIMEOUT_S
        )
        retry: KafkaException | None = None
        for name, future in futures.items():
            try:
                _result(future, REQUEST_TIMEOUT_S)
                created.append(name)
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if not is_retriable(error):
                    raise KafkaIOError(
                        f"create topic {name} at {bootstrap}: {describe(error)}"
                    ) from None
                retry = exc
        if retry is not None:
            raise retry

    def led() -> None:
        metadata = client.list_topics(timeout=min(REQUEST_TIMEOUT_S, deadline_s)).topics
        for name in names:
            topic = metadata.get(name)
            if topic is None:
                raise KafkaException(
                    KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"{name} not in the metadata yet")
                )
            raise_for([topic.error])
            for p, partition in sorted(topic.partitions.items()):
                raise_for([partition.error])
                if partition.leader < 0:
                    raise KafkaException(
                        KafkaError(KafkaError.LEADER_NOT_AVAILABLE, f"{name}[{p}] has no leader")
                    )

    retrying(create, what=f"create topics {_few(names)} at {bootstrap}", deadline_s=deadline_s)
    retrying(
        led, what=f"wait for the leaders of {_few(names)} at {bootstrap}", deadline_s=deadline_s
    )
    return created


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A topic config ``ensure_topic_configs`` changed: ``key`` went from ``before`` (None:
    not reported) to ``after``."""

    topic: str
    key: str
    before: str | None
    after: str


def topic_configs(
    bootstrap: str,
    topics: Iterable[str],
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> dict[str, dict[str, str | None]]:
    """The effective configuration of each of the existing ``topics`` (DescribeConfigs)."""
    names = sorted(set(topics))
    if not names:
        return {}
    client = admin if admin is not None else admin_client(bootstrap)
    timeout = min(REQUEST_TIMEOUT_S, deadline_s)

    def ask() -> dict[str, dict[str, str | None]]:
        resources = [ConfigResource("topic", name) for name in names]
        futures = client.describe_configs(resources, request_timeout=timeout)
        return {
            resource.name: {key: entry.value for key, entry in _result(future, timeout).items()}
            for resource, future in futures.items()
        }

    return retrying(
        ask, what=f"describe the configs of {_few(names)} at {bootstrap}", deadline_s=deadline_s
    )


def ensure_topic_configs(
    bootstrap: str,
    wanted: Mapping[str, Mapping[str, str]],
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> list[ConfigChange]:
    """Give existing topics the ``wanted`` values where theirs differ (IncrementalAlterConfigs:
    only those keys are touched); returns what changed.

    A refused change (no AlterConfigs permission, a policy) raises ``KafkaIOError`` naming the
    topic, what it has, what it needs and the ``kafka-configs`` line that sets it."""
    client = admin if admin is not None else admin_client(bootstrap)
    current = topic_configs(bootstrap, wanted, admin=client, deadline_s=deadline_s)
    changes = [
        ConfigChange(topic, key, current[topic].get(key), value)
        for topic, config in sorted(wanted.items())
        for key, value in sorted(config.items())
        if current[topic].get(key) != value
    ]
    if not changes:
        return []
    by_topic: dict[str, list[ConfigChange]] = {}
    for change in changes:
        by_topic.setdefault(change.topic, []).append(change)
    timeout = min(REQUEST_TIMEOUT_S, deadline_s)

    def alter() -> None:
        resources = [
            ConfigResource(
                "topic",
                topic,
                incremental_configs=[
                    ConfigEntry(c.key, c.after, incremental_operation=AlterConfigOpType.SET)
                    for c in topic_changes
                ],
            )
            for topic, topic_changes in sorted(by_topic.items())
        ]
        futures = client.incremental_alter_configs(resources, request_timeout=timeout)
        retry: KafkaException | None = None
        for resource, future in futures.items():
            try:
                _result(future, timeout)
            except KafkaException as exc:
                error = exc.args[0]
                if is_retriable(error):
                    retry = exc
                    continue
                found = ", ".join(f"{c.key}={c.before}" for c in by_topic[resource.name])
                needed = ",".join(f"{c.key}={c.after}" for c in by_topic[resource.name])
                raise KafkaIOError(
                    f"topic {resource.name} has {found} and needs {needed}; it could not be "
                    f"changed ({describe(error)}): kafka-configs.sh --bootstrap-server "
                    f"{bootstrap} --alter --entity-type topics --entity-name {resource.name} "
                    f"--add-config {needed}"
                ) from None
        if retry is not None:
            raise retry

    retrying(
        alter,
        what=f"alter the configs of {_few(by_topic)} at {bootstrap}",
        deadline_s=deadline_s,
    )
    return changes


def _result(future: Future[Any], timeout: float) -> Any:
    """A future's result; one the client never resolved counts as a timed-out request."""
    try:
        return future.result(timeout * 3)
    except FutureTimeout:
        raise KafkaException(
            KafkaError(KafkaError._TIMED_OUT, f"no answer in {timeout * 3:.0f}s")
        ) from None


def _few(items: Iterable[object], shown: int = 3) -> str:
    """A short, stable naming of partitions or topics for messages: ``a[0], a[1] and 4 more``."""
    names = sorted(
        f"{i.topic}[{i.partition}]"
        if isinstance(i, TopicPartition)
        else f"{i[0]}[{i[1]}]"
        if isinstance(i, tuple)
        else str(i)
        for i in items
    )
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"
