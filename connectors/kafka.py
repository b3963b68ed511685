"""The Kafka side the connectors rely on: the MariaDB schema-history topic, and the raw
topics' retention.

Debezium's binlog connectors cannot work without the full DDL history, so the topic must keep
everything forever (``retention.ms=-1``, ``cleanup.policy=delete``, one partition); a compacted
or expiring history is the classic "db history topic is missing" failure.

The raw change topics keep a change for the spec's ``topics.retention_ms``: Connect gives it to
the topics it creates (``topic.creation.default.retention.ms``) but never changes an existing
topic, so ``prepare`` sets it on the captured tables' topics that exist already.
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic

import kafkaio
from connectors.preflight import Check
from connectors.specs import MariaDbSpec, PostgresSpec
from kafkaio import client_config

HISTORY_TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(client_config(bootstrap, {"socket.timeout.ms": 10000}))


def raw_topic_config(spec: PostgresSpec | MariaDbSpec) -> dict[str, str]:
    """The retention every raw topic of ``spec`` has (the template renders the same)."""
    return {"retention.ms": str(spec.topics.retention_ms), "retention.bytes": "-1"}


def ensure_raw_retention(
    bootstrap: str, spec: PostgresSpec | MariaDbSpec, admin: AdminClient | None = None
) -> list[str]:
    """Give the captured tables' existing topics the spec's retention; one line per change."""
    client = admin if admin is not None else _admin(bootstrap)
    topics = [spec.topic(table) for table in spec.tables]
    existing = sorted({topic for topic, _ in kafkaio.partitions(bootstrap, topics, admin=client)})
    wanted = dict.fromkeys(existing, raw_topic_config(spec))
    changes = kafkaio.ensure_topic_configs(bootstrap, wanted, admin=client)
    return [f"topic {c.topic}: {c.key} {c.before} -> {c.after}" for c in changes]


def ensure_history_topic(bootstrap: str, topic: str) -> bool:
    """Create the topic with infinite retention if it is missing (and wait for its leader);
    True if it was created."""
    # -1: the broker's default.replication.factor (3 on a three-broker stack).
    new = NewTopic(topic, num_partitions=1, replication_factor=-1, config=HISTORY_TOPIC_CONFIG)
    return kafkaio.ensure_topics(bootstrap, [new], admin=_admin(bootstrap)) == [topic]


def check_history_topic(bootstrap: str, spec: MariaDbSpec) -> Check:
    name = f"schema history topic {spec.schema_history_topic}"
    admin = _admin(bootstrap)
    topic = spec.schema_history_topic
    found = kafkaio.partitions(bootstrap, [topic], admin=admin)
    if not found:
        return Check(name, "fail", "does not exist", f"`scv connectors prepare {spec.name}`")
    resource = ConfigResource("topic", topic)
    config = kafkaio.retrying(
        lambda: admin.describe_configs([resource])[resource].result(10),
        what=f"describe the configuration of topic {topic} at {bootstrap}",
    )
    values = {k: v.value for k, v in config.items()}
    partitions = len(found)
    bad = [
        f"{k}={values.get(k)}"
        for k in ("retention.ms", "cleanup.policy")
        if values.get(k) != HISTORY_TOPIC_CONFIG[k]
    ]
    if partitions != 1:
        bad.append(f"{partitions} partitions")
    if bad:
        return Check(
            name,
            "fail",
            f"{', '.join(bad)}: history can be lost",
            "kafka-configs --alter --add-config retention.ms=-1,cleanup.policy=delete",
        )
    return Check(name, "ok", "retention.ms=-1, delete, 1 partition")
