"""The runner's output topics and their configs, stated in one place.

    canonical (order, inventory, inbound, shipment)   delete, retention.ms = canonical_retention_ms
                                                      (SCV_TRANSFORMS_CANONICAL_RETENTION_MS,
                                                      7 days by default), retention.bytes=-1
    scv.item.v1, the reference-state topic            compacted (the latest record per key is
                                                      kept for ever)
    quarantine                                        delete, retention.ms=-1, retention.bytes=-1:
                                                      a record not replayed yet must never expire

Missing topics are created with these configs; on existing ones the retention keys are set
to them (IncrementalAlterConfigs, one log line per change), so a quarantine topic created
earlier with a finite retention is fixed at the next start, or the runner refuses to start
with the ``kafka-configs`` line that fixes it. Raw (Debezium) topics are Kafka Connect's: their
retention is the connector spec's ``topics.retention_ms``.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

import kafkaio
from transforms.errors import KafkaError
from transforms.events import CANONICAL_TOPICS, COMPACTED_TOPICS
from transforms.settings import TransformsSettings

#: Quarantined records are kept until someone replays or dismisses them: never by time or size.
QUARANTINE_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
COMPACTED_CONFIG = {"cleanup.policy": "compact"}
#: The keys set on existing topics too (the cleanup policy of an existing topic is left alone).
ENFORCED_KEYS = ("retention.ms", "retention.bytes")


def canonical_config(settings: TransformsSettings) -> dict[str, str]:
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(settings.canonical_retention_ms),
        "retention.bytes": "-1",
    }


def topic_configs(settings: TransformsSettings) -> dict[str, dict[str, str]]:
    """Every output topic of the runner (prefixed) and the config it must have."""
    configs = {
        settings.topic(t): COMPACTED_CONFIG if t in COMPACTED_TOPICS else canonical_config(settings)
        for t in CANONICAL_TOPICS
    }
    configs[settings.topic(settings.state_topic)] = COMPACTED_CONFIG
    configs[settings.topic(settings.quarantine_topic)] = QUARANTINE_CONFIG
    return dict(sorted(configs.items()))


def ensure_topics(
    settings: TransformsSettings, admin: AdminClient, log: Callable[[str], None] = lambda _: None
) -> None:
    """Create the missing output topics (waiting for their leaders on a fresh cluster) and
    set the retention of the existing ones to what ``topic_configs`` states."""
    configs = topic_configs(settings)
    new = [
        NewTopic(
            name,
            num_partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication,
            config=dict(config),
        )
        for name, config in configs.items()
    ]
    bootstrap = settings.kafka_bootstrap
    created = set(kafkaio.ensure_topics(bootstrap, new, admin=admin))
    enforced = {
        name: {k: v for k, v in config.items() if k in ENFORCED_KEYS}
        for name, config in configs.items()
        if name not in created and any(k in ENFORCED_KEYS for k in config)
    }
    try:
        changes = kafkaio.ensure_topic_configs(bootstrap, enforced, admin=admin)
    except kafkaio.KafkaIORetryableError:
        raise  # the broker is not ready: waited for like the creation
    except kafkaio.KafkaIOError as exc:
        raise KafkaError(f"output topic config: {exc}") from None
    for change in changes:
        log(f"topic {change.topic}: {change.key} {change.before} -> {change.after}")
