"""Record real Debezium envelopes from the running stack as test fixtures.

For every captured table the recorder (optionally) drives one sample row through the source as
the table owner: INSERT, UPDATE, an incremental snapshot of just that row (signal table), then
DELETE. It consumes the connector's topics meanwhile and keeps the first record of each kind:

    <out>/<topic_prefix>/<table>/{c,u,r,d,tombstone}.json
    <out>/<topic_prefix>/_transaction/{begin,end}.json
    <out>/<topic_prefix>/_heartbeat/heartbeat.json
    <out>/<topic_prefix>/_schema_change/ddl.json          (MariaDB)

After a schema change at the source (``scv sim drift``: a column added to a captured table),
``record_drift`` keeps the envelopes of the changed table that carry the new column, and the DDL
event of the change:

    <out>/<topic_prefix>/_drift/<table>/blank.json        first one with the column null/blank
    <out>/<topic_prefix>/_drift/<table>/value.json        first one with a value in the column
    <out>/<topic_prefix>/_schema_change/alter.json        the ALTER TABLE event (MariaDB)

Each file keeps the record exactly: topic, partition, offset, timestamp, key and value as the
UTF-8 text of their bytes (the worker's JsonConverter writes UTF-8 JSON), and the headers.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Message, TopicPartition

import kafkaio
from connectors.errors import SourceError
from connectors.ops import _owner, send_snapshot_signal
from connectors.settings import ConnectorsSettings
from connectors.sources import maria_connect, pg_connect
from connectors.specs import MariaDbSpec, PostgresSpec
from kafkaio import client_config

Spec = PostgresSpec | MariaDbSpec
TABLE_OPS = ("c", "u", "r", "d", "tombstone")


@dataclass
class RecordResult:
    written: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def wanted(spec: Spec) -> set[tuple[str, str]]:
    kinds = {(t, op) for t in spec.tables for op in TABLE_OPS}
    kinds |= {("_transaction", "begin"), ("_transaction", "end"), ("_heartbeat", "heartbeat")}
    if isinstance(spec, MariaDbSpec) and spec.include_schema_changes:
        kinds.add(("_schema_change", "ddl"))
    return kinds


def classify(spec: Spec, topic: str, value: bytes | None) -> tuple[str, str] | None:
    """Which fixture a record is, or None if it is not one we keep."""
    if topic == spec.transaction_topic:
        if value is None:
            return None
        status = str(orjson.loads(value).get("status", "")).lower()
        return ("_transaction", status) if status in ("begin", "end") else None
    if topic == spec.heartbeat_topic:
        return ("_heartbeat", "heartbeat")
    if isinstance(spec, MariaDbSpec) and topic == spec.schema_change_topic:
        return ("_schema_change", "ddl")
    prefix = f"{spec.topic_prefix}.{spec.schema_name}."
    if not topic.startswith(prefix):
        return None
    table = topic[len(prefix) :]
    if value is None:
        return (table, "tombstone")
    op = orjson.loads(value).get("op")
    return (table, str(op)) if op in ("c", "u", "r", "d") else None


def _text(data: str | bytes | None) -> str | None:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _b64(data: str | bytes | None) -> str | None:
    if data is None:
        return None
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def fixture(msg: Message) -> dict[str, Any]:
    headers = [[str(h[0]), _b64(h[1])] for h in msg.headers() or []]
    return {
        "topic": msg.topic(),
        "partition": msg.partition(),
        "offset": msg.offset(),
        "timestamp_ms": msg.timestamp()[1],
        "key": _text(msg.key()),
        "value": _text(msg.value()),
        "headers_b64": headers,
    }


def _topics(spec: Spec) -> list[str]:
    topics = [spec.topic(t) for t in spec.tables]
    topics += [spec.transaction_topic, spec.heartbeat_topic]
    if isinstance(spec, MariaDbSpec):
        topics.append(spec.schema_change_topic)
    return topics


def _consumer(settings: ConnectorsSettings, spec: Spec) -> Consumer:
    """A throwaway group from the earliest offsets; topics created later are picked up."""
    consumer = Consumer(
        client_config(
            settings.kafka_bootstrap,
            {
                "group.id": f"scv-record-{random.getrandbits(32):08x}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "topic.metadata.refresh.interval.ms": 1000,
                "allow.auto.create.topics": False,
            },
        )
    )
    consumer.subscribe(_topics(spec))
    return consumer


def record(
    spec: Spec,
    settings: ConnectorsSettings,
    out: Path,
    timeout: float,
    drive: bool,
    progress: Callable[[str], None],
) -> RecordResult:
    todo = wanted(spec)
    result = RecordResult()
    consumer = _consumer(settings, spec)
    try:

        def pump(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while todo and time.monotonic() < deadline:
                for msg in consumer.consume(500, 0.5):
                    if msg.error():
                        continue
                    value = msg.value()
                    kind = classify(
                        spec, str(msg.topic()), value if value is None else bytes(value)
                    )
                    if kind is None or kind not in todo:
                        continue
                    path = out / spec.topic_prefix / kind[0] / f"{kind[1]}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(orjson.dumps(fixture(msg), option=orjson.OPT_INDENT_2) + b"\n")
                    result.written.append(path)
                    todo.discard(kind)

        pump(3.0)
        if drive:
            for table in spec.tables:
                if not {(table, op) for op in TABLE_OPS} & todo:
                    continue
                progress(f"{spec.name}: driving {table}")
                with _driver(spec, settings, table) as step:
                    step("insert")
                    step("update")
                    pump(2.0)
                    send_snapshot_signal(spec, settings, table, step("filter"))
                    pump(15.0 if (table, "r") in todo else 0.5)
                    step("delete")
                    pump(2.0)
        pump(timeout)
    finally:
        consumer.close()
    result.missing = sorted(f"{t}/{op}" for t, op in todo)
    return result


# -- after a schema change ----------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def drift_kind(value: bytes | None, column: str) -> str | None:
    """``blank``/``value`` for an envelope that carries ``column``; None if it does not."""
    if value is None:
        return None
    envelope = orjson.loads(value)
    images = [i for i in (envelope.get("after"), envelope.get("before")) if isinstance(i, dict)]
    if not images or not all(column in image for image in images):
        return None
    return "blank" if all(_blank(image[column]) for image in images) else "value"


def is_alter(value: bytes | None, table: str, column: str) -> bool:
    """Whether a schema-change record is the ``ALTER TABLE`` that added ``column``."""
    if value is None:
        return False
    ddl = str(orjson.loads(value).get("ddl") or "")
    words = ddl.replace("`", " ").split()
    upper = [w.upper() for w in words]
    return upper[:2] == ["ALTER", "TABLE"] and table in words and column in words


def _source_has_column(spec: Spec, settings: ConnectorsSettings, table: str, column: str) -> bool:
    from connectors.ops import cdc_connection

    with cdc_connection(spec, settings) as conn:
        cur: Any = conn.cursor()
        cur.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = %s AND lower(column_name) = lower(%s)",
            (spec.schema_name, table, column),
        )
        return cur.fetchone() is not None


def _assign_at_end(consumer: Consumer, bootstrap: str, topics: list[str]) -> None:
    """Read ``topics`` from their current ends: whatever arrives was written after the drift."""
    ends = kafkaio.high_watermarks(bootstrap, kafkaio.partitions(bootstrap, topics))
    consumer.assign([TopicPartition(t, p, end) for (t, p), end in ends.items()])


def record_drift(
    spec: Spec,
    settings: ConnectorsSettings,
    out: Path,
    table: str,
    column: str,
    timeout: float,
    drive: bool,
    progress: Callable[[str], None],
) -> RecordResult:
    """Envelopes of ``table`` carrying the added ``column`` (blank and with a value) and, for
    MariaDB, the ``ALTER TABLE`` schema-change event.

    The column must exist at the source (run the schema change first). The table's topic is read
    from its current end, so every envelope is from after the change: the simulator's traffic if
    it runs, else the sample row this drives (insert: the column takes its default; then an
    update that puts a value in it; then delete). The DDL topic is small and read from the start
    for the latest ``ALTER TABLE`` that added the column.
    """
    if table not in spec.tables:
        raise SourceError(f"{spec.name}: {table} is not a captured table")
    if not _source_has_column(spec, settings, table, column):
        raise SourceError(
            f"{spec.name}: {spec.schema_name}.{table} has no column {column}: apply the schema "
            "change first (scv sim drift)"
        )
    todo = {"blank", "value"}
    result = RecordResult()
    consumer = Consumer(
        client_config(
            settings.kafka_bootstrap,
            {
                "group.id": f"scv-record-{random.getrandbits(32):08x}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )

    def write(kind: tuple[str, ...], msg: Message) -> None:
        path = out.joinpath(spec.topic_prefix, *kind[:-1], f"{kind[-1]}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(fixture(msg), option=orjson.OPT_INDENT_2) + b"\n")
        result.written.append(path)

    try:
        if isinstance(spec, MariaDbSpec) and spec.include_schema_changes:
            topic = spec.schema_change_topic
            parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            consumer.assign([TopicPartition(topic, p, 0) for p in parts])
            pending, alter = set(parts), None
            while pending:
                for msg in consumer.consume(1000, 1.0):
                    if msg.error() is not None:
                        pending.discard(msg.partition())
                    elif is_alter(msg.value(), table, column):
                        alter = msg  # the latest wins: the change of the current world
            if alter is None:
                result.missing.append(f"_schema_change/alter ({table}.{column})")
            else:
                write(("_schema_change", "alter"), alter)
            consumer.unassign()

        _assign_at_end(consumer, settings.kafka_bootstrap, [spec.topic(table)])

        def pump(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while todo and time.monotonic() < deadline:
                for msg in consumer.consume(500, 0.5):
                    if msg.error() is not None:
                        continue
                    kind = drift_kind(msg.value(), column)
                    if kind in todo:
                        write(("_drift", table, kind), msg)
                        todo.discard(kind)

        pump(3.0)
        if drive and todo:
            progress(f"{spec.name}: driving {table} with {column}")
            with _driver(spec, settings, table, set_column=column) as step:
                step("insert")
                pump(5.0)
                step("set")
                pump(5.0)
                step("delete")
        pump(timeout)
    finally:
        consumer.close()
    result.missing += sorted(f"_drift/{table}/{kind}" for kind in todo)
    return result


# -- driving sample rows through the source -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    type: str
    length: int | None
    precision: int | None
    scale: int | None
    has_default: bool
    nullable: bool
    pk: bool


def _sample(col: _Column, rng: random.Random) -> Any:
    t = col.type.lower()
    if any(s in t for s in ("char", "text")):
        width = min(col.length or 10, 10)
        return f"Z{rng.getrandbits(40):010x}"[:width] if col.pk else "X"
    if t in ("numeric", "decimal"):
        digits = (col.precision or 6) - (col.scale or 0)
        return rng.randrange(10 ** (digits - 1), 10**digits) if col.pk else 0
    if "int" in t:
        return rng.randrange(900_000_000, 2_000_000_000) if col.pk else 0
    if "time" in t or t == "date":
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return 0


def _update_column(columns: list[_Column]) -> _Column:
    for col in columns:
        if not col.pk and any(s in col.type.lower() for s in ("char", "text")):
            return col
    for col in columns:
        if not col.pk:
            return col
    raise SourceError("no non-key column to update")


def _columns_sql(spec: Spec) -> str:
    if isinstance(spec, PostgresSpec):
        return (
            "SELECT c.column_name, c.data_type, c.character_maximum_length, c.numeric_precision,"
            " c.numeric_scale, c.column_default IS NOT NULL, c.is_nullable = 'YES',"
            " EXISTS (SELECT 1 FROM information_schema.key_column_usage k"
            "  JOIN information_schema.table_constraints tc"
            "  USING (constraint_schema, constraint_name)"
            "  WHERE tc.constraint_type = 'PRIMARY KEY' AND k.table_schema = c.table_schema"
            "  AND k.table_name = c.table_name AND k.column_name = c.column_name)"
            " FROM information_schema.columns c WHERE c.table_schema = %s AND c.table_name = %s"
            " ORDER BY c.ordinal_position"
        )
    return (
        "SELECT column_name, data_type, character_maximum_length, numeric_precision,"
        " numeric_scale, column_default IS NOT NULL OR extra LIKE '%%auto_increment%%',"
        " is_nullable = 'YES', column_key = 'PRI'"
        " FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position"
    )


@contextmanager
def _driver(
    spec: Spec, settings: ConnectorsSettings, table: str, set_column: str | None = None
) -> Iterator[Callable[[str], str]]:
    """``step(name)`` runs insert / update / delete of one sample row; ``filter`` returns the
    SQL condition that selects exactly that row (for the snapshot signal); ``set`` puts a
    value in ``set_column``."""
    owner = _owner(spec, settings)
    rng = random.Random()
    pg = isinstance(spec, PostgresSpec)

    def q(name: str) -> str:
        return f'"{name}"' if pg else f"`{name}`"

    qualified = f"{q(spec.schema_name)}.{q(table)}"
    ctx: Any = (
        pg_connect(owner.host, owner.port, owner.user, owner.password, owner.database)
        if pg
        else maria_connect(owner.host, owner.port, owner.user, owner.password, spec.schema_name)
    )
    with ctx as conn:
        cur: Any = conn.cursor()
        cur.execute(_columns_sql(spec), (spec.schema_name, table))
        columns = [_Column(*row) for row in cur.fetchall()]
        if not columns:
            raise SourceError(f"{spec.name}: table {table} not found")
        row = {
            c.name: _sample(c, rng) for c in columns if c.pk or not (c.has_default or c.nullable)
        }
        keys = {c.name: row[c.name] for c in columns if c.pk}
        if not keys:
            raise SourceError(f"{spec.name}: {table} has no primary key to drive")
        target = _update_column(columns)
        where = " AND ".join(f"{q(k)} = %s" for k in keys)

        def literal(value: Any) -> str:
            return (
                str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"
            )

        def step(name: str) -> str:
            if name == "insert":
                cols = ", ".join(q(k) for k in row)
                marks = ", ".join(["%s"] * len(row))
                cur.execute(
                    f"INSERT INTO {qualified} ({cols}) VALUES ({marks})", tuple(row.values())
                )
            elif name == "update":
                is_text = any(s in target.type.lower() for s in ("char", "text"))
                value = "Y" if is_text else 1
                cur.execute(
                    f"UPDATE {qualified} SET {q(target.name)} = %s WHERE {where}",
                    (value, *keys.values()),
                )
            elif name == "set":
                if set_column is None:
                    raise SourceError("step 'set' needs a set_column")
                column = next(c for c in columns if c.name.lower() == set_column.lower())
                value = _sample(replace(column, pk=True), rng)  # a non-blank sample
                cur.execute(
                    f"UPDATE {qualified} SET {q(column.name)} = %s WHERE {where}",
                    (value, *keys.values()),
                )
            elif name == "delete":
                cur.execute(f"DELETE FROM {qualified} WHERE {where}", tuple(keys.values()))
            elif name == "filter":
                return " AND ".join(f"{q(k)} = {literal(v)}" for k, v in keys.items())
            return ""

        try:
            yield step
        finally:
            cur.execute(f"DELETE FROM {qualified} WHERE {where}", tuple(keys.values()))
