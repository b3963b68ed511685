"""The reference state on the compacted state topic: loaded at start, caught up between batches.

At start the store is rebuilt from the state topic up to its end. The end is the high
watermark, and the read waits for an open transaction (another instance's batch) rather than
stopping in front of it: a part of the state would map rows with facts missing. Between
batches the state consumer applies what other instances committed since; this instance's own
records are recognised by their writer header and skipped (the store had them when they were
written, and read back late they would put back a value a newer batch has changed).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient

import kafkaio
from transforms.errors import InvalidStateRecord
from transforms.reference import StateStore, decode_state_record
from transforms.settings import TransformsSettings
from transforms.stats import RunStats


class StateTopic:
    """Loads and catches up ``store`` from the state topic; ``writer`` marks this process's
    own state records."""

    def __init__(
        self,
        settings: TransformsSettings,
        store: StateStore,
        stats: RunStats,
        log: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.stats = stats
        self.log = log
        #: The header of this process's state records (its catch-up skips them). Unique per
        #: process: a restarted instance must read back what its predecessor wrote.
        writer = f"{settings.transactional_id}:{uuid.uuid4().hex[:12]}"
        self.writer: list[tuple[str, bytes]] = [("scv_writer", writer.encode())]

    def load(self, admin: AdminClient, state_consumer: Consumer) -> None:
        """Rebuild the store from the state topic up to its end; the catch-up
        (``state_consumer``) goes on from there."""
        topic = self.settings.topic(self.settings.state_topic)
        bootstrap = self.settings.kafka_bootstrap
        parts = kafkaio.partitions(bootstrap, [topic], admin=admin)
        ends = kafkaio.high_watermarks(bootstrap, parts, admin=admin)
        for message in kafkaio.read_range(bootstrap, {}, ends, admin=admin):
            self.load_record(message)
        state_consumer.assign([TopicPartition(t, p, ends[(t, p)]) for t, p in parts])
        self.log(f"reference state: {len(self.store)} keys loaded from {topic}")

    def load_record(self, message: Message) -> None:
        try:
            loaded = decode_state_record(message.key(), message.value())
        except InvalidStateRecord as exc:
            # Stopping here would stop every start on the same record; a later record of the
            # key replaces it (compaction), and the rows needing it quarantine with a reason.
            self.stats.bad_state[exc.reason] += 1
            self.log(
                f"state record {message.topic()}[{message.partition()}]@{message.offset()} "
                f"skipped: {exc}"
            )
            return
        if loaded is not None:
            self.store.load(*loaded)

    def catch_up(self, state_consumer: Consumer, news: Callable[[], None]) -> None:
        """Apply what other instances committed since the last batch (never blocks); ``news``
        is called after each read that brought some."""
        writer = self.writer
        while True:
            messages = state_consumer.consume(num_messages=10_000, timeout=0)
            if not messages:
                return
            found = False
            for message in messages:
                if not message.error() and message.headers() != writer:
                    self.load_record(message)
                    found = True
            if found:
                news()
