"""The runner's Kafka clients: their configs, opening and closing them, and waiting for a
broker that does not answer yet.

Four clients: the transactional producer, the raw-topic consumer (the group's), the state
consumer (assigned, never committed: it catches up with what other instances wrote to the
state topic) and an admin client (log bounds, reference ends, topic creation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import kafkaio
from kafkaio import client_config
from transforms.errors import KafkaError, KafkaTransientError, RunnerStalled
from transforms.settings import TransformsSettings
from transforms.transactions import client_logger

#: How often the consumer, and the runner's list of reference partitions, see new topics.
METADATA_REFRESH_S = 10.0

#: The interpreter's thread switch interval for a runner process (``sys.setswitchinterval``).
#: The commit thread needs the GIL back after each client call, and at the default 5 ms it
#: waits behind the mapping thread for most of it (figures: docs/benchmarks.md).
COMMIT_SWITCH_INTERVAL_S = 0.0005


def _common(settings: TransformsSettings) -> dict[str, Any]:
    return client_config(
        settings.kafka_bootstrap,
        {
            "client.id": settings.transactional_id,
            # A broker outage is one line per state change, not one per reconnect attempt.
            "logger": client_logger(settings.transactional_id),
        },
    )


def producer_config(settings: TransformsSettings) -> dict[str, Any]:
    """The transactional producer's librdkafka config (the passthrough benchmark reuses it)."""
    return {
        **_common(settings),
        "transactional.id": settings.transactional_id,
        "transaction.timeout.ms": settings.transaction_timeout_ms,
        "linger.ms": 5,
        "compression.type": "lz4",
        # A transaction begun right after the previous commit often finds the coordinator
        # still writing that commit's markers (CONCURRENT_TRANSACTIONS) and is retried after
        # this back-off, which at the default 100 ms stalls batches (docs/benchmarks.md).
        # Repeated failures still back off exponentially.
        "retry.backoff.ms": 10,
    }


def consumer_config(settings: TransformsSettings) -> dict[str, Any]:
    """The raw-topic consumer's librdkafka config (the passthrough benchmark reuses it)."""
    return {
        **_common(settings),
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        # Never jump over records deleted before they were read: every partition is placed
        # explicitly on assignment (``transforms.placement``) and a fetch whose offset is gone
        # is an error the runner handles (``kafkaio.gaps``). With "earliest" it was a silent
        # skip.
        "auto.offset.reset": "error",
        # The eager protocol, stated: ``Runner._on_assign`` places the partitions with
        # ``assign`` (librdkafka's default may move to KIP-848's, where that is refused).
        "group.protocol": "classic",
        "partition.assignment.strategy": "range,roundrobin",
        # New raw topics (a table added to a connector) are picked up within 10 s.
        "topic.metadata.refresh.interval.ms": int(METADATA_REFRESH_S * 1000),
        # A killed instance's partitions move to the others after 10 s, not 45 s.
        "session.timeout.ms": settings.session_timeout_ms,
    }


def state_consumer_config(settings: TransformsSettings) -> dict[str, Any]:
    """The state consumer's config: its own group id, never committed (it is assigned)."""
    return {
        **_common(settings),
        "group.id": f"{settings.group_id}.state.{settings.instance_id}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }


@dataclass(frozen=True)
class Clients:
    admin: AdminClient
    producer: Producer
    consumer: Consumer
    state_consumer: Consumer

    @classmethod
    def open(cls, settings: TransformsSettings) -> Clients:
        admin_config: dict[str, Any] = client_config(
            settings.kafka_bootstrap, {"logger": client_logger(settings.transactional_id)}
        )
        return cls(
            admin=AdminClient(admin_config),
            producer=Producer(producer_config(settings)),
            consumer=Consumer(consumer_config(settings)),
            state_consumer=Consumer(state_consumer_config(settings)),
        )

    def close(self) -> None:
        """Close the consumers and flush the producer (not after a stall: a stalled client's
        close can block as long as its stuck call)."""
        self.consumer.close()
        self.state_consumer.close()
        flush(self.producer)


def flush(producer: Producer) -> None:
    """The producer's last delivery reports; a producer that failed fatally on the way (seen
    after a broker outage: INVALID_TXN_STATE) is replaced by a fresh runner process."""
    try:
        producer.flush(5)
    except KafkaException as exc:
        error = exc.args[0]
        if error.fatal():
            raise RunnerStalled(
                f"the transactional producer failed fatally: {error.str()}"
            ) from None
        raise KafkaError(f"producer: {error.str()}") from None


def committed(consumer: Consumer, partitions: list[TopicPartition]) -> list[TopicPartition]:
    """The group's committed offsets (with their replay marks) for ``partitions``."""
    try:
        return list(consumer.committed(partitions, timeout=30))
    except KafkaException as exc:
        error = exc.args[0].str()
        raise KafkaTransientError(f"cannot read the committed offsets: {error}") from None


def until_broker(
    what: str,
    call: Callable[[], object],
    *,
    deadline_s: float,
    stopping: Callable[[], bool],
    log: Callable[[str], None],
) -> None:
    """``call`` once the broker answers: a start during an outage (or right after one, a
    restart in place) waits for it, up to ``deadline_s``, with one line."""
    deadline = time.monotonic() + deadline_s
    waiting = False
    while True:
        try:
            call()
            return
        except (KafkaException, kafkaio.KafkaIORetryableError) as exc:
            fatal = isinstance(exc, KafkaException) and exc.args[0].fatal()
            why = exc.args[0].str() if isinstance(exc, KafkaException) else str(exc)
            if fatal or time.monotonic() >= deadline or stopping():
                raise RunnerStalled(f"{what}: the broker did not answer: {why}") from None
            if not waiting:
                log(f"{what}: waiting for the broker ({why})")
                waiting = True
            time.sleep(1)
