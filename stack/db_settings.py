"""The CDC-critical server settings, in one place.

The local launcher passes them on the command line and ``docker-compose.yml`` repeats them; a
unit test reads the compose file and refuses any drift between the two.
"""

from __future__ import annotations

from stack.credentials import CONNECT_SECRETS

#: The database server lines the stack is built and tested on (Debian 12's packages); the
#: compose images use the same.
POSTGRES_MAJOR = 15
MARIADB_SERIES = "10.11"

#: PostgreSQL (ERP): logical decoding for Debezium's pgoutput, room for slots, and a cap on the
#: WAL a stalled slot may pin (the slot is invalidated instead of filling the disk).
POSTGRES_SETTINGS: dict[str, str] = {
    "wal_level": "logical",
    "max_replication_slots": "10",
    "max_wal_senders": "10",
    "max_slot_wal_keep_size": "4GB",
    "wal_sender_timeout": "60s",
}

#: MariaDB (WMS): a full row image in ROW format is what Debezium needs for before/after
#: values; binlog retention is explicit so `scv connectors status` can reason about data loss.
MARIADB_SETTINGS: dict[str, str] = {
    "log-bin": "mariadb-bin",
    "binlog-format": "ROW",
    "binlog-row-image": "FULL",
    "server-id": "184054",
    "binlog-expire-logs-seconds": "604800",
}

#: Kafka, single node: every replication factor is 1 or transactions and Connect hang.
KAFKA_SETTINGS: dict[str, str] = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
    "num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "true",
}

#: Kafka, three brokers (``scv stack up --brokers 3``): every topic on all three, and an
#: acknowledged write (``acks=all``) on at least two: one broker may die without an outage
#: beyond a leader election and without losing an acknowledged record; with two down, writes
#: stop with NOT_ENOUGH_REPLICAS instead of being acknowledged by one copy.
KAFKA_CLUSTER_SETTINGS: dict[str, str] = {
    **KAFKA_SETTINGS,
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    # A replica that has not fetched for this long leaves the ISR (30 s by default): the
    # survivors of a killed broker take writes again after 10 s, not 30.
    "replica.lag.time.max.ms": "10000",
    # A clean shutdown's leadership moves, and no unclean election ever (a stale replica
    # becoming leader would drop acknowledged records).
    "unclean.leader.election.enable": "false",
}


def kafka_settings(brokers: int) -> dict[str, str]:
    """The broker settings for a stack of ``brokers`` nodes (1 or 3)."""
    return KAFKA_SETTINGS if brokers == 1 else KAFKA_CLUSTER_SETTINGS


#: Kafka Connect worker: internal topics at replication factor 1, secrets through
#: EnvVarConfigProvider so connector configs only ever hold ``${env:NAME}`` references.
CONNECT_SETTINGS: dict[str, str] = {
    "group.id": "scv-connect",
    "config.storage.topic": "scv-connect-configs",
    "offset.storage.topic": "scv-connect-offsets",
    "status.storage.topic": "scv-connect-status",
    "config.storage.replication.factor": "1",
    "offset.storage.replication.factor": "1",
    "status.storage.replication.factor": "1",
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "false",
    "value.converter.schemas.enable": "false",
    "offset.flush.interval.ms": "1000",
    # A worker that lost the group (a broker outage) gets its connectors back after this
    # long, not after the 5-minute default meant for many workers waiting for a peer.
    "scheduled.rebalance.max.delay.ms": "10000",
    "config.providers": "env",
    "config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
    # Any local process can POST a connector to the REST API: it may name only these variables.
    "config.providers.env.param.allowlist.pattern": "^(" + "|".join(CONNECT_SECRETS) + ")$",
}


def connect_settings(brokers: int) -> dict[str, str]:
    """The worker settings for a stack of ``brokers`` nodes: internal topics on all of them."""
    if brokers == 1:
        return CONNECT_SETTINGS
    return {
        **CONNECT_SETTINGS,
        "config.storage.replication.factor": str(brokers),
        "offset.storage.replication.factor": str(brokers),
        "status.storage.replication.factor": str(brokers),
    }
