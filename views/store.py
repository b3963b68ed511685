"""The serving tables in the ``scv`` PostgreSQL database (not captured by CDC).

Why a serving table and not a compacted ``scv.inventory.position.v1`` topic plus a local
store: the positions, the document state behind them, the alert state, the alerts to publish
and the consumed offsets are written in **one database transaction per batch**. The offsets
live in the same table space as the positions, so a batch is applied completely or not at
all and a restarted process resumes exactly after the last committed batch: exactly once
without Kafka transactions, and the positions survive any restart (``kill -9`` included).
Operations and ``scv reconcile`` query them with plain SQL; nothing else has to be rebuilt
before the first answer. Every applied ``event_id`` is kept as well, so an event the pipeline
emits twice (a replay of the raw topics) is applied once.

Alerts go through an outbox (``alert_outbox``): written in the batch's transaction, published
to Kafka after the commit, marked published after the broker acknowledged them. A crash in
between publishes them again with the same ``alert_id`` (at least once, deduplicable).

Tables (schema from the settings, one view process per schema, held by an advisory lock):

    inventory_positions  (site_id, item_id) → buckets; ``available`` generated
    documents            (kind, key) → JSON state of order lines, allocations, orders, PO lines
    alert_state          key → JSON: open alert episodes, probe excursions
    alert_outbox         alerts in order, ``published``
    consumed_offsets     (topic, partition) → next offset
    applied_events       event_id → where it was read
    rejected_records     (topic, partition, offset) → why a record was not applied, and its
                         key and value as read (``scv views rejected`` lists them)

A record the process cannot apply (not JSON, an unknown event type, an impossible value, or
the arithmetic raising on it) is rejected, not fatal: its row in ``rejected_records`` is
written in the batch's transaction together with the offsets that move past it, so it is
skipped exactly once and its reason stays where an operator can read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

import dsn as dsn_check
from views.alerts import Alert, Monitor
from views.errors import StoreError, ViewLocked
from views.positions import BUCKETS, Book, Key, Position, doc_to_json
from views.supply import DDL as SUPPLY_DDL
from views.supply import Supply, SupplyWrites

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.inventory_positions (
    site_id text NOT NULL,
    item_id text NOT NULL,
    on_hand numeric NOT NULL DEFAULT 0,
    allocated numeric NOT NULL DEFAULT 0,
    on_hold numeric NOT NULL DEFAULT 0,
    in_transit numeric NOT NULL DEFAULT 0,
    on_order numeric NOT NULL DEFAULT 0,
    reserved numeric NOT NULL DEFAULT 0,
    picked numeric NOT NULL DEFAULT 0,
    available numeric GENERATED ALWAYS AS (on_hand - allocated - on_hold) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, item_id)
);
CREATE TABLE IF NOT EXISTS {s}.documents (
    kind text NOT NULL, key text NOT NULL, value jsonb NOT NULL, PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS {s}.alert_state (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.alert_outbox (
    seq bigserial PRIMARY KEY,
    alert_id uuid NOT NULL UNIQUE,
    subject text NOT NULL,
    value jsonb NOT NULL,
    published boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS {s}.consumed_offsets (
    topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS {s}.applied_events (
    event_id uuid PRIMARY KEY, topic text NOT NULL, partition integer NOT NULL,
    "offset" bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.rejected_records (
    topic text NOT NULL, partition integer NOT NULL, "offset" bigint NOT NULL,
    reason text NOT NULL, detail text NOT NULL, key bytea, value bytea,
    rejected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);
"""

TopicPartitionKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Applied:
    event_id: uuid.UUID
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A consumed record the process did not apply, and why (``views.process.Rejected``)."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class WriterSession:
    """The database session of a running view process (the one holding the schema's lock)."""

    pid: int
    #: Where the process connects from (None: a Unix socket).
    client_addr: str | None
    application_name: str
    #: When the session, so the process, started.
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Batch:
    """Everything one consumed batch changed, written in one transaction."""

    positions: Mapping[Key, Position]
    documents: Mapping[tuple[str, str], dict[str, Any] | None]
    alert_state: Mapping[str, dict[str, Any] | None]
    alerts: Sequence[Alert]
    applied: Sequence[Applied]
    offsets: Mapping[TopicPartitionKey, int]
    rejected: Sequence[RejectedRecord] = ()
    #: Further writes of the batch (other views fed by the same events: order tracking), run
    #: in its transaction before the offsets.
    extra: Sequence[Callable[[psycopg.Cursor[Any]], None]] = ()
    #: The supply views' state and serving rows (``views.supply``).
    supply: SupplyWrites | None = None


def _ident(schema: str) -> sql.Identifier:
    return sql.Identifier(schema)


class Store:
    """One connection to the serving schema; ``lock`` before writing."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.schema = schema
        wrong = dsn_check.problem(dsn) if "://" in dsn else None
        if wrong:  # before libpq, which would quote the pieces of a mis-parsed password
            raise StoreError(f"serving database DSN (SCV_STORE_DSN): {wrong}")
        try:
            self.conn = psycopg.connect(dsn, autocommit=False)
        except psycopg.Error as exc:
            reason = dsn_check.redact(str(exc).strip(), dsn)
            raise StoreError(f"cannot connect to the serving database: {reason}") from None

    def close(self) -> None:
        self.conn.close()

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=_ident(self.schema))

    def ensure_schema(self) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(self._q("SELECT pg_advisory_xact_lock(hashtext('scv-views-ddl'))"))
            for statement in (_DDL + SUPPLY_DDL).split(";"):
                if statement.strip():
                    cur.execute(self._q(statement))

    def lock(self) -> None:
        """Hold the schema's session lock: one writer per schema (released on exit/kill)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"scv-views:{self.schema}",))
            row = cur.fetchone()
        self.conn.commit()
        if not row or not row[0]:
            raise ViewLocked(f"another view process serves schema {self.schema!r}")

    # -- reads ---------------------------------------------------------------------------------

    def offsets(self) -> dict[TopicPartitionKey, int]:
        """The next offset of each canonical partition, as the last committed batch left it."""
        with self.conn.cursor() as cur:
            cur.execute(self._q("SELECT topic, partition, next_offset FROM {s}.consumed_offsets"))
            offsets = {(t, p): o for t, p, o in cur}
        self.conn.commit()
        return offsets

    def writers(self) -> int:
        """Sessions holding the schema's writer lock (``lock``): 1 while a view process runs."""
        with self.conn.cursor() as cur:
            # An advisory lock on a bigint key shows as its high and low 32 bits.
            cur.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND classid::bigint = (hashtext(%(k)s)::bigint >> 32) "
                "& 4294967295 AND objid::bigint = hashtext(%(k)s)::bigint & 4294967295",
                {"k": f"scv-views:{self.schema}"},
            )
            row = cur.fetchone()
        self.conn.commit()
        return int(row[0]) if row else 0

    def writer_sessions(self) -> list[WriterSession]:
        """The sessions ``writers`` counts, with who they are (for the console's instances)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT a.pid, host(a.client_addr), a.application_name, a.backend_start "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid::bigint = (hashtext(%(k)s)::bigint >> 32) & 4294967295 "
                "AND l.objid::bigint = hashtext(%(k)s)::bigint & 4294967295 ORDER BY a.pid",
                {"k": f"scv-views:{self.schema}"},
            )
            found = [WriterSession(int(p), a, str(n or ""), t) for p, a, n, t in cur]
        self.conn.commit()
        return found

    def load(
        self, book: Book, monitor: Monitor, supply: Supply | None = None
    ) -> dict[TopicPartitionKey, int]:
        """Fill ``book``, ``monitor`` (and ``supply``) from the tables; returns the next
        offsets."""
        with self.conn.cursor() as cur:
            if supply is not None:
                supply.load(cur, self.schema)
            for key, position in self.positions().items():
                book.load_position(key, position)
            cur.execute(self._q("SELECT kind, key, value FROM {s}.documents"))
            for kind, key, value in cur:
                book.load_doc(kind, key, value)
            cur.execute(self._q("SELECT key, value FROM {s}.alert_state"))
            for key, value in cur:
                monitor.load(key, value)
            cur.execute(self._q("SELECT topic, partition, next_offset FROM {s}.consumed_offsets"))
            offsets = {(t, p): o for t, p, o in cur}
        self.conn.commit()
        return offsets

    def positions(
        self, site_id: str | None = None, item_id: str | None = None
    ) -> dict[Key, Position]:
        columns = sql.SQL(", ").join(sql.Identifier(b) for b in BUCKETS)
        query = sql.SQL(
            "SELECT site_id, item_id, {c} FROM {s}.inventory_positions "
            "WHERE (%(site)s::text IS NULL OR site_id = %(site)s) "
            "AND (%(item)s::text IS NULL OR item_id = %(item)s) ORDER BY site_id, item_id"
        ).format(c=columns, s=_ident(self.schema))
        with self.conn.cursor() as cur:
            cur.execute(query, {"site": site_id, "item": item_id})
            found = {(r[0], r[1]): Position(*(Decimal(v) for v in r[2:])) for r in cur}
        self.conn.commit()
        return found

    def already_applied(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(ids)
        if not wanted:
            return set()
        with self.conn.cursor() as cur:
            cur.execute(
                self._q("SELECT event_id FROM {s}.applied_events WHERE event_id = ANY(%s)"),
                (wanted,),
            )
            return {row[0] for row in cur}

    # -- the batch transaction -----------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        """Positions, state, outbox, applied ids and offsets: all or nothing."""
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                self._write(cur, batch)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # lost or rolled back, not refused: retryable (``views.process``)
        except psycopg.Error as exc:
            raise StoreError(f"batch not written: {exc}") from None

    def _write(self, cur: psycopg.Cursor[Any], batch: Batch) -> None:
        columns = sql.SQL(", ").join(sql.Identifier(b) for b in BUCKETS)
        values = sql.SQL(", ").join(sql.Placeholder() for _ in BUCKETS)
        updates = sql.SQL(", ").join(
            sql.SQL("{b} = EXCLUDED.{b}").format(b=sql.Identifier(b)) for b in BUCKETS
        )
        cur.executemany(
            sql.SQL(
                "INSERT INTO {s}.inventory_positions (site_id, item_id, {c}) "
                "VALUES (%s, %s, {v}) ON CONFLICT (site_id, item_id) DO UPDATE SET {u}, "
                "updated_at = now()"
            ).format(s=_ident(self.schema), c=columns, v=values, u=updates),
            [(k[0], k[1], *(getattr(p, b) for b in BUCKETS)) for k, p in batch.positions.items()],
        )
        upserts = [(k, v) for k, v in batch.documents.items() if v is not None]
        cur.executemany(
            self._q(
                "INSERT INTO {s}.documents (kind, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (kind, key) DO UPDATE SET value = EXCLUDED.value"
            ),
            [(kind, key, Jsonb(value)) for (kind, key), value in upserts],
        )
        cur.executemany(
            self._q("DELETE FROM {s}.alert_state WHERE key = %s"),
            [(k,) for k, v in batch.alert_state.items() if v is None],
        )
        cur.executemany(
            self._q(
                "INSERT INTO {s}.alert_state (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            [(k, Jsonb(v)) for k, v in batch.alert_state.items() if v is not None],
        )
        cur.executemany(
            self._q(
                "INSERT INTO {s}.alert_outbox (alert_id, subject, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (alert_id) DO NOTHING"
            ),
            [
                (a.alert_id, a.subject, Jsonb(orjson.loads(a.model_dump_json())))
                for a in batch.alerts
            ],
        )
        cur.executemany(
            self._q(
                'INSERT INTO {s}.applied_events (event_id, topic, partition, "offset") '
                "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
            ),
            [(a.event_id, a.topic, a.partition, a.offset) for a in batch.applied],
        )
        cur.executemany(
            self._q(
                'INSERT INTO {s}.rejected_records (topic, partition, "offset", reason, detail, '
                "key, value) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                'ON CONFLICT (topic, partition, "offset") DO NOTHING'
            ),
            [
                (r.topic, r.partition, r.offset, r.reason, r.detail, r.key, r.value)
                for r in batch.rejected
            ],
        )
        for write in batch.extra:
            write(cur)
        cur.executemany(
            self._q(
                "INSERT INTO {s}.consumed_offsets (topic, partition, next_offset) "
                "VALUES (%s, %s, %s) ON CONFLICT (topic, partition) "
                "DO UPDATE SET next_offset = EXCLUDED.next_offset"
            ),
            [(t, p, o) for (t, p), o in batch.offsets.items()],
        )
        if batch.supply is not None:
            batch.supply.write(cur, self.schema)

    def rejected(self, limit: int = 100) -> list[RejectedRecord]:
        """The latest rejected records, newest first."""
        with self.conn.cursor() as cur:
            cur.execute(
                self._q(
                    'SELECT topic, partition, "offset", reason, detail, key, value '
                    "FROM {s}.rejected_records ORDER BY rejected_at DESC, topic, partition, "
                    '"offset" DESC LIMIT %s'
                ),
                (limit,),
            )
            found = [
                RejectedRecord(t, p, o, reason, detail, None if k is None else bytes(k),
                               None if v is None else bytes(v))
                for t, p, o, reason, detail, k, v in cur
            ]  # fmt: skip
        self.conn.commit()
        return found

    def alert_log(self, after_seq: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """The alerts in the outbox after ``after_seq``, oldest first, as (seq, alert record):
        every alert ever raised or resolved, published or about to be (the console's read)."""
        with self.conn.cursor() as cur:
            cur.execute(
                self._q("SELECT seq, value FROM {s}.alert_outbox WHERE seq > %s ORDER BY seq"),
                (after_seq,),
            )
            rows = [(int(seq), dict(value)) for seq, value in cur]
        self.conn.commit()
        return rows

    # -- the outbox ----------------------------------------------------------------------------

    def unpublished(self) -> list[tuple[int, str, bytes]]:
        with self.conn.cursor() as cur:
            cur.execute(
                self._q(
                    "SELECT seq, subject, value::text FROM {s}.alert_outbox "
                    "WHERE NOT published ORDER BY seq"
                )
            )
            rows = [(seq, subject, value.encode()) for seq, subject, value in cur]
        self.conn.commit()
        return rows

    def mark_published(self, up_to: int) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                self._q("UPDATE {s}.alert_outbox SET published = true WHERE seq <= %s"), (up_to,)
            )


def batch_from(
    book: Book,
    monitor: Monitor,
    alerts: Sequence[Alert],
    applied: Sequence[Applied],
    offsets: Mapping[TopicPartitionKey, int],
    rejected: Sequence[RejectedRecord] = (),
    supply: Supply | None = None,
) -> Batch:
    """Collect what ``book`` and ``monitor`` changed since the last batch."""
    docs, keys = book.take_dirty()
    documents: dict[tuple[str, str], dict[str, Any] | None] = {}
    for kind, key in docs:
        doc = book.doc(kind, key)
        documents[(kind, key)] = None if doc is None else doc_to_json(doc)
    return Batch(
        positions={k: book.position(k) for k in keys},
        documents=documents,
        alert_state={k: monitor.state.get(k) for k in monitor.take_dirty()},
        alerts=alerts,
        applied=applied,
        offsets=offsets,
        rejected=rejected,
        supply=None if supply is None else supply.writes(),
    )


@contextmanager
def opened(dsn: str, schema: str) -> Iterator[Store]:
    store = Store(dsn, schema)
    try:
        yield store
    finally:
        store.close()
