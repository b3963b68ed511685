"""The relay: the outbox produced to ``scv.shipment.v1``, exactly once.

Each step reads the outbox rows after the last one relayed, and in ONE Kafka transaction
(``transactional.id`` fixed per deployment) produces their canonical events, keyed by
shipment, plus a marker record on ``scv.carrier.relay.v1`` holding the last ``seq`` of the
batch; then it notes that ``seq`` in the database (a cache). On start it calls
``init_transactions`` (which fences a relay of the same id still alive and aborts the
transaction a killed one left open), then reads the marker topic ``read_committed``: the last
marker is exactly what reached Kafka, so the relay resumes after it. A crash before the Kafka
commit loses the batch's transaction and it is produced again; a crash after it leaves the
database behind the marker, and the marker wins: nothing is lost, nothing doubled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from carrier.errors import RelayError
from transforms.events import from_json, to_kafka

if TYPE_CHECKING:
    from confluent_kafka import Producer

    from carrier.settings import CarrierSettings
    from carrier.store import Store

MARKER_KEY = b"relay"
TX_TIMEOUT_S = 30.0


@dataclass
class RelayStats:
    produced: int = 0
    transactions: int = 0
    position: int = 0


class Relay:
    def __init__(self, settings: CarrierSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.stats = RelayStats()
        self._producer: Producer | None = None

    def start(self) -> int:
        """Create the topics, take over the transactional id, find where to resume."""
        from confluent_kafka import KafkaException, Producer
        from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

        import kafkaio

        settings = self.settings
        kafkaio.ensure_topics(
            settings.kafka_bootstrap,
            [
                NewTopic(
                    settings.shipment_topic,
                    num_partitions=settings.topic_partitions,
                    replication_factor=settings.topic_replication,
                ),
                NewTopic(
                    settings.progress_topic,
                    num_partitions=1,
                    replication_factor=settings.topic_replication,
                    config={"cleanup.policy": "compact"},
                ),
            ],
        )
        producer = Producer(
            kafkaio.client_config(
                settings.kafka_bootstrap,
                {
                    "transactional.id": settings.transactional_id,
                    "enable.idempotence": True,
                    "client.id": settings.transactional_id,
                    "linger.ms": 5,
                },
            )
        )
        try:
            producer.init_transactions(TX_TIMEOUT_S)
        except KafkaException as exc:
            raise RelayError(f"cannot take over {settings.transactional_id}: {exc}") from None
        self._producer = producer
        self.stats.position = self.committed_position()
        # The database may lag the marker (a crash after the Kafka commit): catch it up.
        if self.store.relayed_up_to() != self.stats.position:
            self.store.mark_relayed(self.stats.position)
        return self.stats.position

    def committed_position(self) -> int:
        """The last outbox seq a committed relay transaction carried (0: none yet)."""
        from kafkaio import read_committed

        position = 0
        topics = [self.settings.progress_topic]
        for message in read_committed(self.settings.kafka_bootstrap, topics):
            if message.key() == MARKER_KEY and message.value():
                position = max(position, int(message.value() or b"0"))
        return position

    def step(self) -> int:
        """Relay one batch; the number of events produced (0: the outbox had nothing new)."""
        from confluent_kafka import KafkaException

        producer = self._producer
        if producer is None:
            raise RelayError("the relay was not started")
        rows = self.store.pending(self.stats.position, self.settings.relay_batch)
        if not rows:
            return 0
        last = rows[-1].seq
        try:
            producer.begin_transaction()
            for row in rows:
                record = to_kafka(from_json(row.event), topic_prefix=self.settings.topic_prefix)
                headers = [*record.headers, ("scv_outbox_seq", str(row.seq).encode())]
                producer.produce(record.topic, record.value, record.key, headers=headers)
            producer.produce(self.settings.progress_topic, str(last).encode(), MARKER_KEY)
            producer.commit_transaction(TX_TIMEOUT_S)
        except KafkaException as exc:
            # Fenced, or the broker gone past the timeout: stop; a restart resumes exactly.
            raise RelayError(f"relay transaction up to outbox seq {last} failed: {exc}") from None
        self.stats.position = last
        self.stats.produced += len(rows)
        self.stats.transactions += 1
        self.store.mark_relayed(last)
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, sleeping ``relay_idle_s`` whenever there is nothing."""
        while not stop.is_set():
            if self.step() == 0:
                stop.wait(self.settings.relay_idle_s)

    def drain(self) -> int:
        """Relay everything in the outbox now; the number produced."""
        total = 0
        while (n := self.step()) > 0:
            total += n
        return total
