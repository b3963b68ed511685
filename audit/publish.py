"""The outbox's Kafka side: rows of ``audit.operator_actions`` to ``scv.audit.v1``.

One partition, so the topic keeps the table's order; kept for ever (``retention.ms=-1``), as the
table is. Key: the action id (its ``requested`` and outcome rows side by side); value: the row as
JSON (``Row.record``); header ``audit.id``: the row id, which a reader uses to keep the first
copy of a row published twice (a crash between the broker's acknowledgement and the outbox
commit).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

import kafkaio
from audit.entry import Row
from audit.errors import AuditPublishError
from audit.settings import AuditSettings

TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def ensure_topic(settings: AuditSettings) -> None:
    topic = NewTopic(
        settings.topic,
        num_partitions=1,
        replication_factor=settings.topic_replication,
        config=TOPIC_CONFIG,
    )
    kafkaio.ensure_topics(settings.kafka_bootstrap, [topic], deadline_s=settings.publish_timeout_s)


def publish(settings: AuditSettings, rows: Sequence[Row]) -> None:
    """Send ``rows`` and wait for every acknowledgement; raise if any is missing."""
    if not rows:
        return
    ensure_topic(settings)
    producer = Producer(
        kafkaio.client_config(
            settings.kafka_bootstrap,
            {
                "enable.idempotence": True,
                "acks": "all",
                "message.timeout.ms": int(settings.publish_timeout_s * 1000),
                "log_level": 2,
            },
        )
    )
    failures: list[str] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(err.str())

    for row in rows:
        producer.produce(
            settings.topic,
            key=str(row.action_id).encode(),
            value=orjson.dumps(row.record()),
            headers=[("audit.id", str(row.id).encode())],
            on_delivery=delivered,
        )
    left = producer.flush(settings.publish_timeout_s + 5)
    if left or failures:
        why = failures[0] if failures else f"{left} not acknowledged in time"
        raise AuditPublishError(
            f"audit: {len(rows)} row(s) not published to {settings.topic} ({why}); they stay "
            "in the outbox"
        )
