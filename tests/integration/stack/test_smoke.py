"""Smoke tests of the real stack: CDC from both databases, and Kafka transactions.

Each CDC test registers a throwaway Debezium connector on a scratch table with a unique name,
inserts a row, and waits for its change event on Kafka; the connector (and, for PostgreSQL,
its replication slot and publication) is removed afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import psycopg
import pymysql
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from stack.credentials import Credentials
from stack.settings import StackSettings

DEADLINE_S = 90.0


def _consumer(bootstrap: str, topics: list[str]) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )
    consumer.subscribe(topics)
    return consumer


def _await_value(consumer: Consumer, predicate: object, deadline_s: float) -> dict[str, object]:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None or msg.error() or msg.value() is None:
            continue
        value = orjson.loads(msg.value())
        if callable(predicate) and predicate(value):
            return value  # type: ignore[no-any-return]
    pytest.fail(f"no matching change event within {deadline_s:.0f}s")


@pytest.fixture
def connect(stack_settings: StackSettings) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack_settings.connect_url, timeout=30) as client:
        yield client


def _register(client: httpx.Client, name: str, config: dict[str, str]) -> None:
    response = client.put(f"/connectors/{name}/config", json=config)
    assert response.status_code in (200, 201), response.text
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        status = client.get(f"/connectors/{name}/status")
        if status.status_code == 200:
            body = status.json()
            tasks = body.get("tasks", [])
            if tasks and tasks[0]["state"] == "FAILED":
                pytest.fail(f"{name} task failed: {tasks[0].get('trace', '')[:2000]}")
            if body["connector"]["state"] == "RUNNING" and tasks and tasks[0]["state"] == "RUNNING":
                return
        time.sleep(0.5)
    pytest.fail(f"{name} not RUNNING within {DEADLINE_S:.0f}s")


def test_postgres_insert_arrives_as_change_event(
    stack_settings: StackSettings, credentials: Credentials, connect: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    name, slot, schema = f"smoke-pg-{tag}", f"smoke_{tag}", f"smoke_{tag}"
    owner = psycopg.connect(
        host=stack_settings.host,
        port=stack_settings.postgres_port,
        dbname="erp",
        user="scv_owner",
        password=credentials["SCV_ERP_OWNER_PASSWORD"],
        autocommit=True,
    )
    with owner:
        owner.execute(f"CREATE SCHEMA {schema}")
        owner.execute(f"CREATE TABLE {schema}.scratch (id int PRIMARY KEY, note text)")
        owner.execute(f"ALTER TABLE {schema}.scratch REPLICA IDENTITY FULL")
        owner.execute(f"CREATE PUBLICATION {slot} FOR TABLE {schema}.scratch")
        try:
            _register(
                connect,
                name,
                {
                    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
                    "database.hostname": stack_settings.host,
                    "database.port": str(stack_settings.postgres_port),
                    "database.user": "scv_cdc",
                    "database.password": "${env:SCV_ERP_CDC_PASSWORD}",
                    "database.dbname": "erp",
                    "topic.prefix": f"smoke{tag}",
                    "plugin.name": "pgoutput",
                    "slot.name": slot,
                    "publication.name": slot,
                    "publication.autocreate.mode": "disabled",
                    "table.include.list": f"{schema}.scratch",
                    "snapshot.mode": "no_data",
                },
            )
            consumer = _consumer(stack_settings.kafka_bootstrap, [f"smoke{tag}.{schema}.scratch"])
            try:
                owner.execute(f"INSERT INTO {schema}.scratch VALUES (1, 'hello erp')")
                event = _await_value(
                    consumer,
                    lambda v: v.get("op") == "c" and v["after"]["note"] == "hello erp",
                    DEADLINE_S,
                )
                assert event["source"]["connector"] == "postgresql"  # type: ignore[index]
            finally:
                consumer.close()
        finally:
            connect.delete(f"/connectors/{name}")
            _drop_slot(stack_settings, slot)
            owner.execute(f"DROP PUBLICATION IF EXISTS {slot}")
            owner.execute(f"DROP SCHEMA {schema} CASCADE")


def _drop_slot(settings: StackSettings, slot: str) -> None:
    socket_dir = settings.data_dir / "postgres" / "socket"
    with psycopg.connect(
        host=str(socket_dir), port=settings.postgres_port, user="postgres", dbname="erp",
        autocommit=True,
    ) as admin:  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the slot stays active until the task has stopped
            row = admin.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
            ).fetchone()
            if row is None:
                return
            if not row[0]:
                admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            time.sleep(0.5)


def test_mariadb_insert_arrives_as_change_event(
    stack_settings: StackSettings, credentials: Credentials, connect: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    name, table = f"smoke-maria-{tag}", f"smoke_{tag}"
    owner = pymysql.connect(
        host=stack_settings.host,
        port=stack_settings.mariadb_port,
        user="scv_owner",
        password=credentials["SCV_WMS_OWNER_PASSWORD"],
        database="wmwhse1",
        autocommit=True,
    )
    with owner, owner.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, note VARCHAR(40))")
        try:
            _register(
                connect,
                name,
                {
                    "connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
                    "database.hostname": stack_settings.host,
                    "database.port": str(stack_settings.mariadb_port),
                    "database.user": "scv_cdc",
                    "database.password": "${env:SCV_WMS_CDC_PASSWORD}",
                    "database.server.id": str(5400 + int(tag[:4], 16) % 1000),
                    "topic.prefix": f"smoke{tag}",
                    "database.include.list": "wmwhse1",
                    "table.include.list": f"wmwhse1.{table}",
                    "snapshot.mode": "no_data",
                    "schema.history.internal.kafka.bootstrap.servers": (
                        stack_settings.kafka_bootstrap
                    ),
                    "schema.history.internal.kafka.topic": f"smoke{tag}.schema-history",
                },
            )
            consumer = _consumer(stack_settings.kafka_bootstrap, [f"smoke{tag}.wmwhse1.{table}"])
            try:
                cur.execute(f"INSERT INTO {table} VALUES (1, 'hello wms')")
                event = _await_value(
                    consumer,
                    lambda v: v.get("op") == "c" and v["after"]["note"] == "hello wms",
                    DEADLINE_S,
                )
                assert event["source"]["connector"] in ("mysql", "mariadb")  # type: ignore[index]
            finally:
                consumer.close()
        finally:
            connect.delete(f"/connectors/{name}")
            cur.execute(f"DROP TABLE {table}")


def test_transaction_commits_and_aborts_are_seen_read_committed(
    stack_settings: StackSettings,
) -> None:
    tag = uuid.uuid4().hex[:8]
    topic = f"smoke.txn.{tag}"
    producer = Producer(
        {
            "bootstrap.servers": stack_settings.kafka_bootstrap,
            "transactional.id": f"smoke-{tag}",
            "enable.idempotence": True,
        }
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"aborted")
    producer.flush()
    producer.abort_transaction(30)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, key=b"k", value=f"committed-{i}".encode())
    producer.commit_transaction(30)

    consumer = Consumer(
        {
            "bootstrap.servers": stack_settings.kafka_bootstrap,
            "group.id": f"smoke-{tag}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(3)])
        seen: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().retriable() or "UNKNOWN_TOPIC" in str(msg.error()):
                    continue
                raise KafkaException(msg.error())
            seen.append(msg.value())
        # Nothing more may arrive: the aborted record must stay invisible.
        extra = consumer.poll(3.0)
        assert extra is None or extra.error() is not None
    finally:
        consumer.close()
    assert seen == [b"committed-0", b"committed-1", b"committed-2"]
