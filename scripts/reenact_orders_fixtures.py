"""Dev script: re-record the WMS ``ORDERS`` fixtures after a column change, same business rows.

The ``ORDERS`` fixtures (``tests/fixtures/debezium/wms/ORDERS/<case>.json``) pin golden outcomes
and serve as the reference rows of the pick-detail cases, so re-recording them from a new
simulator world would change what they test. This re-enacts each one on the running stack
instead: it writes the fixture's own before/after images to the WMS as the owner, with the
consignee columns (``C_Company``, ``C_Address1``, ``C_City``) filled from the seed-1 demo world's
customer of that ``ConsigneeKey``, performs the fixture's operation (insert, update, delete,
incremental snapshot), and keeps the envelope Debezium publishes for it, in the recorder's
format. The business values are the fixture's; source positions, timestamps and the hashed
consignee columns are the stack's. Each row is deleted again afterwards. On the running stack::

    .venv/bin/scv connectors apply wms
    .venv/bin/python scripts/reenact_orders_fixtures.py     # the cases recorded before a drift
    .venv/bin/scv sim drift
    .venv/bin/python scripts/reenact_orders_fixtures.py     # those recorded after one

A case is re-enacted only while ``ORDERS`` has exactly its columns plus the consignee's.

Then regenerate the ORDERS golden outcomes and review the diff (event ids and source times move
with the new source positions; nothing else may).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Message, TopicPartition

import kafkaio
from connectors.ops import send_snapshot_signal
from connectors.record import fixture
from connectors.specs import load_specs
from kafkaio import client_config
from legacy_sim.profiles import PROFILES
from legacy_sim.seed import build_world
from scv.settings import connectors_settings
from stack.credentials import WMS_DATABASE, load_or_create
from stack.endpoints import wms_owner_connection
from stack.settings import StackSettings

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "debezium" / "wms" / "ORDERS"
SPEC = load_specs()["wms"]
TOPIC = SPEC.topic("ORDERS")
PII = {"C_Company", "C_Address1", "C_City"}
Row = dict[str, Any]


def _consignees() -> dict[str, Row]:
    world = build_world(1, PROFILES["demo"])
    return {
        str(p.an8): {"C_Company": p.company, "C_Address1": p.address1, "C_City": p.city}
        for p in world.customers
    }


def _sql_row(image: Row, datetimes: set[str], consignees: dict[str, Row]) -> Row:
    """A Debezium image back to column values (DATETIME: epoch millis read as UTC)."""
    row: Row = {}
    for column, value in image.items():
        if column in datetimes and isinstance(value, int):
            value = datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
        row[column] = value
    # No known consignee (the recorder's synthetic rows): the legacy blank, as the WMS writes.
    blank = dict.fromkeys(PII, " ")
    return row | blank | consignees.get(str(image["ConsigneeKey"]).strip(), {})


def _insert(cur: Any, row: Row) -> None:
    cols = ", ".join(f"`{c}`" for c in row)
    cur.execute(
        f"INSERT INTO ORDERS ({cols}) VALUES ({', '.join(['%s'] * len(row))})", tuple(row.values())
    )


def _await(
    consumer: Consumer, buffer: list[Message], key: str, op: str | None, timeout: float = 60
) -> Message:
    """The next record of ``key`` with ``op`` (None: the tombstone); ``buffer`` keeps what a
    batch held beyond it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not buffer:
            buffer.extend(m for m in consumer.consume(200, 0.5) if m.error() is None)
        while buffer:
            msg = buffer.pop(0)
            if orjson.loads(msg.key() or b"{}").get("OrderKey") != key:
                continue
            value = msg.value()
            if (value is None and op is None) or (
                value is not None and orjson.loads(value)["op"] == op
            ):
                return msg
    raise SystemExit(f"no {op or 'tombstone'} record for OrderKey {key} within {timeout:.0f}s")


def main() -> int:
    stack = StackSettings()
    creds = load_or_create(stack.state_dir)
    settings = connectors_settings()
    consignees = _consignees()
    conn = wms_owner_connection(stack, creds)
    consumer = Consumer(client_config(settings.kafka_bootstrap, {"group.id": "reenact-orders"}))
    try:
        cur: Any = conn.cursor()
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = 'ORDERS' AND data_type = 'datetime'",
            (WMS_DATABASE,),
        )
        datetimes = {str(r[0]) for r in cur.fetchall()}
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = 'ORDERS'",
            (WMS_DATABASE,),
        )
        columns = {str(r[0]) for r in cur.fetchall()}
        bootstrap = settings.kafka_bootstrap
        ends = kafkaio.high_watermarks(bootstrap, kafkaio.partitions(bootstrap, [TOPIC]))
        consumer.assign([TopicPartition(t, p, end) for (t, p), end in ends.items()])
        skipped: list[str] = []
        buffer: list[Message] = []
        cases = sorted(p for p in FIXTURES.glob("*.json") if not p.name.endswith(".expected.json"))
        for path in cases:
            if path.stem == "tombstone":
                continue  # written with its delete
            record = orjson.loads(path.read_bytes())
            envelope = orjson.loads(record["value"])
            op, before, after = envelope["op"], envelope["before"], envelope["after"]
            key = str((after or before)["OrderKey"])
            if set(after or before) | PII != columns:
                # Recorded before/after ``scv sim drift``: re-enact it in the same schema.
                skipped.append(path.name)
                continue
            cur.execute("DELETE FROM ORDERS WHERE OrderKey = %s", (key,))
            if op == "c":
                _insert(cur, _sql_row(after, datetimes, consignees))
            elif op == "u":
                _insert(cur, _sql_row(before, datetimes, consignees))
                new = _sql_row(after, datetimes, consignees)
                sets = ", ".join(f"`{c}` = %s" for c in new)
                cur.execute(f"UPDATE ORDERS SET {sets} WHERE OrderKey = %s", (*new.values(), key))
            elif op == "d":
                _insert(cur, _sql_row(before, datetimes, consignees))
                cur.execute("DELETE FROM ORDERS WHERE OrderKey = %s", (key,))
            elif op == "r":
                _insert(cur, _sql_row(after, datetimes, consignees))
                send_snapshot_signal(SPEC, settings, "ORDERS", f"`OrderKey` = '{key}'")
            message = _await(consumer, buffer, key, op, timeout=120 if op == "r" else 60)
            path.write_bytes(orjson.dumps(fixture(message), option=orjson.OPT_INDENT_2) + b"\n")
            print(f"wrote {path.name} ({op} {key})")  # noqa: T201
            if op == "d":
                tombstone = _await(consumer, buffer, key, None)
                out = FIXTURES / "tombstone.json"
                out.write_bytes(
                    orjson.dumps(fixture(tombstone), option=orjson.OPT_INDENT_2) + b"\n"
                )
                print(f"wrote {out.name} ({key})")  # noqa: T201
            cur.execute("DELETE FROM ORDERS WHERE OrderKey = %s", (key,))
    finally:
        consumer.close()
        conn.close()
    if skipped:
        print(f"skipped (other columns than ORDERS has now): {', '.join(skipped)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
