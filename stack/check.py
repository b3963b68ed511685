"""End-to-end checks of a running stack: a committed row arrives on Kafka as a Debezium event.

``scv stack check`` (and the demo) runs these so a user sees the whole capture path work; the
integration tests run the same functions. Each CDC check registers a throwaway connector on a
scratch table with a unique name, inserts one row, waits for its change event, and removes
everything it made (connector, replication slot, publication, table) whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition

from kafkaio import client_config
from stack.credentials import (
    ERP_CDC_USER,
    ERP_DATABASE,
    ERP_OWNER,
    WMS_DATABASE,
    Credentials,
)
from stack.endpoints import java_kafka_security, wms_owner_connection
from stack.errors import StackError
from stack.settings import StackSettings

POSTGRES_CONNECTOR = "io.debezium.connector.postgresql.PostgresConnector"
MARIADB_CONNECTOR = "io.debezium.connector.mariadb.MariaDbConnector"


class CheckFailed(StackError):
    """A check of the running stack did not see what it expected."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    #: Seconds from the source COMMIT returning to the change event being consumed.
    latency_s: float
    detail: str


def _consumer(settings: StackSettings, group: str) -> Consumer:
    return Consumer(
        client_config(
            settings.kafka_bootstrap,
            {
                "group.id": group,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "topic.metadata.refresh.interval.ms": 1000,
                "log_level": 2,  # an unknown topic until Debezium's first event is expected here
            },
        )
    )


def _probe(
    consumer: Consumer,
    insert: Callable[[int], object],
    deadline_s: float,
) -> tuple[dict[str, Any], float]:
    """Insert probe rows until one arrives as a create event; its event and latency.

    A connector reports RUNNING before it has fixed its start position (slot creation,
    binlog position), and a row committed in that gap is, correctly, never captured. So the
    check commits a new probe row every few seconds until one arrives, and times that one.
    """
    deadline = time.monotonic() + deadline_s
    committed: dict[int, float] = {}
    next_probe = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_probe:
            probe = len(committed) + 1
            insert(probe)
            committed[probe] = time.time()
            next_probe = time.monotonic() + 3.0
        msg = consumer.poll(0.1)
        raw = None if msg is None or msg.error() else msg.value()
        if raw is None:
            continue
        value = orjson.loads(raw)
        if isinstance(value, dict) and value.get("op") == "c":
            probe = int(value["after"]["id"])
            if probe in committed:
                return value, time.time() - committed[probe]
    raise CheckFailed(f"no probe row arrived as a change event within {deadline_s:.0f}s")


@contextlib.contextmanager
def _connector(
    settings: StackSettings, name: str, config: dict[str, str], deadline_s: float
) -> Iterator[None]:
    user, password = os.environ.get("SCV_CONNECT_USERNAME"), os.environ.get("SCV_CONNECT_PASSWORD")
    auth = (user, password) if user and password else None  # a secure stack's (`scv stack env`)
    with httpx.Client(base_url=settings.connect_url, timeout=30, auth=auth) as client:
        response = client.put(f"/connectors/{name}/config", json=config)
        if response.status_code not in (200, 201):
            raise CheckFailed(f"connector {name}: Connect answered {response.status_code}")
        try:
            deadline = time.monotonic() + deadline_s
            while True:
                body = client.get(f"/connectors/{name}/status").json()
                tasks = body.get("tasks", [])
                if tasks and tasks[0]["state"] == "FAILED":
                    trace = tasks[0].get("trace", "").splitlines()[:1]
                    raise CheckFailed(f"connector {name} failed: {' '.join(trace)}")
                connector_state = body.get("connector", {}).get("state")
                if connector_state == "RUNNING" and tasks and tasks[0]["state"] == "RUNNING":
                    break
                if time.monotonic() > deadline:
                    raise CheckFailed(f"connector {name} not RUNNING within {deadline_s:.0f}s")
                time.sleep(0.3)
            yield
        finally:
            client.delete(f"/connectors/{name}")


def check_postgres_cdc(
    settings: StackSettings, credentials: Credentials, deadline_s: float = 90
) -> CheckResult:
    tag = uuid.uuid4().hex[:8]
    schema = slot = f"scv_check_{tag}"
    prefix = f"scvcheck{tag}"
    owner = psycopg.connect(
        host=settings.host,
        port=settings.postgres_port,
        dbname=ERP_DATABASE,
        user=ERP_OWNER,
        password=credentials["SCV_ERP_OWNER_PASSWORD"],
        autocommit=True,
    )
    with owner:
        owner.execute(f"CREATE SCHEMA {schema}")
        try:
            owner.execute(f"CREATE TABLE {schema}.scratch (id int PRIMARY KEY, note text)")
            owner.execute(f"ALTER TABLE {schema}.scratch REPLICA IDENTITY FULL")
            owner.execute(f"CREATE PUBLICATION {slot} FOR TABLE {schema}.scratch")
            config = {
                "connector.class": POSTGRES_CONNECTOR,
                "database.hostname": settings.host,
                "database.port": str(settings.postgres_port),
                "database.user": ERP_CDC_USER,
                "database.password": "${env:SCV_ERP_CDC_PASSWORD}",
                "database.dbname": ERP_DATABASE,
                "topic.prefix": prefix,
                "plugin.name": "pgoutput",
                "slot.name": slot,
                "publication.name": slot,
                "publication.autocreate.mode": "disabled",
                "table.include.list": f"{schema}.scratch",
                "snapshot.mode": "no_data",
            }
            consumer = _consumer(settings, f"scv-check-{tag}")
            try:
                with _connector(settings, f"scv-check-pg-{tag}", config, deadline_s):
                    consumer.subscribe([f"{prefix}.{schema}.scratch"])
                    event, latency = _probe(
                        consumer,
                        lambda n: owner.execute(
                            f"INSERT INTO {schema}.scratch VALUES (%s, 'hello erp')", (n,)
                        ),
                        deadline_s,
                    )
            finally:
                consumer.close()
                _drop_slot(settings, slot)
                owner.execute(f"DROP PUBLICATION IF EXISTS {slot}")
        finally:
            owner.execute(f"DROP SCHEMA {schema} CASCADE")
    return CheckResult(
        "postgres → Debezium → Kafka",
        latency,
        f"op=c lsn={event['source'].get('lsn')} connector={event['source']['connector']}",
    )


def _drop_slot(settings: StackSettings, slot: str) -> None:
    """Drop the check's replication slot once its task has let go of it."""
    socket_dir = settings.data_dir / "postgres" / "socket"
    with psycopg.connect(
        host=str(socket_dir),
        port=settings.postgres_port,
        user="postgres",
        dbname=ERP_DATABASE,
        autocommit=True,
    ) as admin:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
            ).fetchone()
            if row is None:
                return
            if not row[0]:
                admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            time.sleep(0.3)
    raise CheckFailed(f"replication slot {slot} still active after 30s; drop it by hand")


def check_mariadb_cdc(
    settings: StackSettings, credentials: Credentials, deadline_s: float = 90
) -> CheckResult:
    tag = uuid.uuid4().hex[:8]
    table, prefix = f"scv_check_{tag}", f"scvcheck{tag}"
    owner = wms_owner_connection(settings, credentials)
    with owner, owner.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, note VARCHAR(40))")
        config = {
            "connector.class": MARIADB_CONNECTOR,
            "database.hostname": settings.host,
            "database.port": str(settings.mariadb_port),
            "database.user": "scv_cdc",
            "database.password": "${env:SCV_WMS_CDC_PASSWORD}",
            # Any id unlike the server's own and the real connector's; random per check.
            "database.server.id": str(900000 + int(tag[:5], 16) % 90000),
            "topic.prefix": prefix,
            "database.include.list": WMS_DATABASE,
            "table.include.list": f"{WMS_DATABASE}.{table}",
            "snapshot.mode": "no_data",
            "schema.history.internal.kafka.bootstrap.servers": settings.kafka_bootstrap,
            "schema.history.internal.kafka.topic": f"{prefix}.schema-history",
            **{
                f"schema.history.internal.{client}.{key}": value
                for key, value in java_kafka_security(settings).items()
                for client in ("producer", "consumer")
            },
        }
        consumer = _consumer(settings, f"scv-check-{tag}")
        try:
            with _connector(settings, f"scv-check-maria-{tag}", config, deadline_s):
                consumer.subscribe([f"{prefix}.{WMS_DATABASE}.{table}"])
                event, latency = _probe(
                    consumer,
                    lambda n: cur.execute(f"INSERT INTO {table} VALUES (%s, 'hello wms')", (n,)),
                    deadline_s,
                )
        finally:
            consumer.close()
            cur.execute(f"DROP TABLE {table}")
    source = event["source"]
    return CheckResult(
        "mariadb → Debezium → Kafka",
        latency,
        f"op=c binlog={source.get('file')}:{source.get('pos')} connector={source['connector']}",
    )


def check_transactions(settings: StackSettings, deadline_s: float = 30) -> CheckResult:
    """An aborted transaction stays invisible to read_committed; a committed one arrives whole."""
    tag = uuid.uuid4().hex[:8]
    topic = f"scv.check.txn.{tag}"
    producer = Producer(
        client_config(
            settings.kafka_bootstrap,
            {
                "transactional.id": f"scv-check-{tag}",
                "enable.idempotence": True,
            },
        )
    )
    producer.init_transactions(deadline_s)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"aborted")
    producer.flush()
    producer.abort_transaction(deadline_s)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, key=b"k", value=f"committed-{i}".encode())
    producer.commit_transaction(deadline_s)
    committed = time.time()

    consumer = _consumer(settings, f"scv-check-{tag}")
    seen: list[bytes] = []
    try:
        partitions = consumer.list_topics(topic, timeout=deadline_s).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        deadline = time.monotonic() + deadline_s
        while len(seen) < 3 and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            raw = None if msg is None or msg.error() else msg.value()
            if raw is not None:
                seen.append(raw)
        latency = time.time() - committed
        straggler = consumer.poll(2.0)  # the aborted record must never show up
    finally:
        consumer.close()
    if seen != [b"committed-0", b"committed-1", b"committed-2"]:
        raise CheckFailed(f"read_committed consumer saw {seen!r}")
    if straggler is not None and not straggler.error():
        raise CheckFailed(f"read_committed consumer saw {straggler.value()!r} after the commit")
    return CheckResult("Kafka transactions", latency, "aborted invisible, committed 3 of 3")
