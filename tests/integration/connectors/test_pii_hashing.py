"""Consignee names and addresses reach Kafka only hashed, and the salt reaches no log.

On the real stack: a row written to the WMS ``ORDERS`` with a known consignee arrives on the raw
topic with ``C_Company``/``C_Address1``/``C_City`` replaced by the lowercase hex of
HMAC-SHA256 keyed by the stack's salt (``SCV_PII_HASH_SALT`` in ``.scv/secrets.env``), in the
after image of the insert and the before and after images of the update; the clear values
appear nowhere in the records (key, value, headers). Connect's log holds the transform's
config, masked, and never the salt.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pymysql
import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from connectors.specs import load_specs
from kafkaio import client_config
from stack.credentials import WMS_DATABASE, Credentials
from stack.endpoints import wms_owner_connection
from stack.settings import StackSettings

pytestmark = pytest.mark.usefixtures("connectors_applied")

TOPIC = load_specs()["wms"].topic("ORDERS")
PII = ("C_Company", "C_Address1", "C_City")


def _hash(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def wms_owner(
    stack_settings: StackSettings, credentials: Credentials
) -> Iterator[pymysql.connections.Connection[Any]]:
    conn = wms_owner_connection(stack_settings, credentials)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'ORDERS'",
                (WMS_DATABASE,),
            )
            columns = {str(row[0]) for row in cur.fetchall()}
        if not set(PII) <= columns:
            pytest.fail("ORDERS has no consignee columns: run `scv sim init` on this stack")
        yield conn
    finally:
        conn.close()


def _ends(consumer: Consumer) -> list[TopicPartition]:
    meta = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC]
    ends = []
    for p in meta.partitions:
        _low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
        ends.append(TopicPartition(TOPIC, p, high))
    return ends


def _records_of(consumer: Consumer, order_key: str, want: int, timeout: float) -> list[Message]:
    """The records (tombstone included) keyed by ``order_key``, until ``want`` of them."""
    found: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(found) < want and time.monotonic() < deadline:
        for message in consumer.consume(500, 1.0):
            if message.error() is None and order_key.encode() in (message.key() or b""):
                found.append(message)
    return found


def test_consignee_columns_arrive_hashed_with_the_stacks_salt(
    wms_owner: pymysql.connections.Connection[Any],
    stack_settings: StackSettings,
    credentials: Credentials,
) -> None:
    salt = credentials["SCV_PII_HASH_SALT"]
    tag = uuid.uuid4().hex[:9]
    order_key = f"T{tag}"
    clear = {
        "C_Company": f"Hashcheck Provisions {tag} LLC",
        "C_Address1": f"77 {tag} Quay",
        "C_City": f"Testville {tag}",
    }
    moved = {**clear, "C_Address1": f"78 {tag} Quay"}
    now = datetime.now().replace(microsecond=0)  # the WMS writes wall-clock time
    consumer = Consumer(
        client_config(
            stack_settings.kafka_bootstrap,
            {
                "group.id": f"test-pii-{tag}",
                "enable.auto.commit": False,
            },
        )
    )
    try:
        consumer.assign(_ends(consumer))
        with wms_owner.cursor() as cur:
            cur.execute(
                "INSERT INTO ORDERS (OrderKey, OrderDate, AddDate, EditDate, C_Company,"
                " C_Address1, C_City) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (order_key, now, now, now, *clear.values()),
            )
            cur.execute(
                "UPDATE ORDERS SET C_Address1 = %s WHERE OrderKey = %s",
                (moved["C_Address1"], order_key),
            )
            cur.execute("DELETE FROM ORDERS WHERE OrderKey = %s", (order_key,))
        records = _records_of(consumer, order_key, want=4, timeout=60)
    finally:
        consumer.close()
        with wms_owner.cursor() as cur:
            cur.execute("DELETE FROM ORDERS WHERE OrderKey = %s", (order_key,))

    assert len(records) == 4, f"expected c, u, d and a tombstone; got {len(records)}"
    envelopes = [orjson.loads(m.value()) for m in records if m.value() is not None]
    assert [e["op"] for e in envelopes] == ["c", "u", "d"]
    assert records[-1].value() is None  # the tombstone passes through
    created, updated, deleted = envelopes
    hashed = {c: _hash(salt, v) for c, v in clear.items()}
    assert {c: created["after"][c] for c in PII} == hashed
    assert created["before"] is None
    assert {c: updated["before"][c] for c in PII} == hashed
    assert {c: updated["after"][c] for c in PII} == {c: _hash(salt, v) for c, v in moved.items()}
    assert {c: deleted["before"][c] for c in PII} == {c: _hash(salt, v) for c, v in moved.items()}
    # Untouched columns stay clear.
    assert created["after"]["OrderKey"] == order_key
    assert created["after"]["ExternOrderKey"] == " "

    for message in records:
        raw = (message.key() or b"") + (message.value() or b"")
        raw += b"".join(value or b"" for _name, value in message.headers() or [])
        for value in {*clear.values(), *moved.values(), tag + " LLC", salt}:
            assert value.encode() not in raw, f"{value!r} in the raw topic record"


def test_connect_logs_the_transform_config_masked_and_never_the_salt(
    stack_settings: StackSettings, credentials: Credentials
) -> None:
    log = (stack_settings.logs_dir / "connect.log").read_text(errors="replace")
    # Connect (PASSWORD type) and Debezium's task start-up dump (name ending in "secret").
    assert "transforms.pii.secret = [hidden]" in log
    assert "transforms.pii.secret = ********" in log
    assert credentials["SCV_PII_HASH_SALT"] not in log
