"""The EDI stage's tables in the ``scv`` PostgreSQL database (not captured by CDC).

As the views do (``views/store.py``), ``scv edi run`` keeps its consumed offsets in the
database, beside what it produced, and writes **one transaction per batch**: the state a
document needs, the documents built (their bytes, status ``pending``), the rejects, the
processed event ids, the partners' next control numbers and the next offsets. A batch is
applied whole or not at all, and a restart (``kill -9`` included) reads on from the last
committed batch: no document is skipped, none is built twice, no control number is reused.

Files are written after the commit (``edi.outbox``) and marked ``written`` by a later
transaction. A crash in between leaves the document ``pending``: the next start (and every
batch) writes every ``pending`` document again, under its name, with its bytes.

The control numbers are read ``FOR UPDATE`` in the transaction that uses them, so
``scv edi emit 846`` beside a running ``scv edi run`` takes the next numbers, never the same.

Tables (schema from the settings, default ``edi``; one ``scv edi run`` per schema, held by an
advisory lock):

    consumed_offsets   (topic, partition) → next offset
    processed_events   event_id → where it was read (an event emitted twice acts once)
    control_numbers    partner → next ISA13/GS06, next ST02
    documents          (partner, ISA13) → type, first ST02, sets, business key, event ids,
                       file name, sha256, bytes, pending | written; unique per
                       (partner, type, business key)
    rejects            why a document (or a record) was not built: reason, detail,
                       partner, type, business key, event id, where it was read
    state              (kind, key) → JSON: open orders, items, held events, 846 schedule
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

import dsn as dsn_check
from edi.errors import StageLocked, StoreError
from edi.plan import Controls, Item, Planned, State, StockRow

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.consumed_offsets (
    topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS {s}.processed_events (
    event_id uuid PRIMARY KEY, topic text NOT NULL, partition integer NOT NULL,
    "offset" bigint NOT NULL, processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.control_numbers (
    partner_id text PRIMARY KEY,
    next_interchange bigint NOT NULL,
    next_transaction_set bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.documents (
    partner_id text NOT NULL,
    interchange bigint NOT NULL,
    doc_type text NOT NULL,
    first_set bigint NOT NULL,
    sets integer NOT NULL,
    business_key text NOT NULL,
    event_ids uuid[] NOT NULL,
    file_name text NOT NULL,
    sha256 text NOT NULL,
    content bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'written')),
    created_at timestamptz NOT NULL,
    written_at timestamptz,
    PRIMARY KEY (partner_id, interchange),
    UNIQUE (partner_id, doc_type, business_key)
);
CREATE INDEX IF NOT EXISTS documents_pending ON {s}.documents (partner_id, interchange)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS documents_business_key ON {s}.documents (business_key);
CREATE TABLE IF NOT EXISTS {s}.rejects (
    id bigserial PRIMARY KEY,
    reason text NOT NULL,
    detail text NOT NULL,
    partner_id text,
    doc_type text,
    business_key text,
    event_id uuid,
    topic text,
    partition integer,
    "offset" bigint,
    rejected_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.state (
    kind text NOT NULL, key text NOT NULL, value jsonb NOT NULL, PRIMARY KEY (kind, key)
);
"""

Partition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PendingFile:
    """A committed document whose file may not be in the outbox yet."""

    partner_id: str
    interchange: int
    file_name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A document as ``scv edi documents`` lists it."""

    partner_id: str
    doc_type: str
    interchange: int
    first_set: int
    sets: int
    business_key: str
    file_name: str
    sha256: str
    status: str
    created_at: datetime
    written_at: datetime | None


@dataclass(frozen=True, slots=True)
class RejectRow:
    """A reject as ``scv edi rejects`` lists it."""

    reason: str
    detail: str
    partner_id: str | None
    doc_type: str | None
    business_key: str | None
    event_id: uuid.UUID | None
    where: str | None
    rejected_at: datetime


class Store:
    """One connection to the stage's schema; ``lock`` before consuming."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.schema = schema
        wrong = dsn_check.problem(dsn) if "://" in dsn else None
        if wrong:  # before libpq, which would quote the pieces of a mis-parsed password
            raise StoreError(f"EDI database DSN (SCV_EDI_STORE_DSN / SCV_STORE_DSN): {wrong}")
        try:
            self.conn = psycopg.connect(dsn, autocommit=False)
        except psycopg.Error as exc:
            reason = dsn_check.redact(str(exc).strip(), dsn)
            raise StoreError(f"cannot connect to the EDI database: {reason}") from None

    def close(self) -> None:
        self.conn.close()

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=sql.Identifier(self.schema))

    def ensure_schema(self) -> None:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('scv-edi-ddl'))")
                for statement in _DDL.split(";"):
                    if statement.strip():
                        cur.execute(self._q(statement))
        except psycopg.Error as exc:
            raise StoreError(f"EDI tables not created in schema {self.schema!r}: {exc}") from None

    def lock(self) -> None:
        """Hold the schema's session lock: one ``scv edi run`` per schema (released on exit)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"scv-edi:{self.schema}",))
            row = cur.fetchone()
        self.conn.commit()
        if not row or not row[0]:
            raise StageLocked(f"another `scv edi run` serves schema {self.schema!r}")

    # -- reads ---------------------------------------------------------------------------------

    def load(self, state: State) -> dict[Partition, int]:
        """Fill ``state`` from the tables; returns the next offsets."""
        with self.conn.cursor() as cur:
            cur.execute(self._q("SELECT kind, key, value FROM {s}.state"))
            for kind, key, value in cur:
                state.load(kind, key, value)
            cur.execute(self._q("SELECT topic, partition, next_offset FROM {s}.consumed_offsets"))
            offsets = {(t, p): o for t, p, o in cur}
        self.conn.commit()
        return offsets

    def pending(self) -> list[PendingFile]:
        """Committed documents not marked written, in the order they were numbered."""
        with self.conn.cursor() as cur:
            cur.execute(
                self._q(
                    "SELECT partner_id, interchange, file_name, content FROM {s}.documents "
                    "WHERE status = 'pending' ORDER BY partner_id, interchange"
                )
            )
            found = [PendingFile(p, i, f, bytes(c)) for p, i, f, c in cur]
        self.conn.commit()
        return found

    def mark_written(self, files: Iterable[PendingFile]) -> None:
        keys = [(f.partner_id, f.interchange) for f in files]
        if not keys:
            return
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(
                    self._q(
                        "UPDATE {s}.documents SET status = 'written', written_at = now() "
                        "WHERE partner_id = %s AND interchange = %s AND status = 'pending'"
                    ),
                    keys,
                )
        except psycopg.Error as exc:
            raise StoreError(f"documents not marked written: {exc}") from None

    def documents(self, limit: int, partner_id: str | None = None) -> list[DocumentRow]:
        """The latest documents, newest first."""
        with self.conn.cursor() as cur:
            cur.execute(
                self._q(
                    "SELECT partner_id, doc_type, interchange, first_set, sets, business_key, "
                    "file_name, sha256, status, created_at, written_at FROM {s}.documents "
                    "WHERE (%(p)s::text IS NULL OR partner_id = %(p)s) "
                    "ORDER BY created_at DESC, partner_id, interchange DESC LIMIT %(n)s"
                ),
                {"p": partner_id, "n": limit},
            )
            found = [DocumentRow(*row) for row in cur]
        self.conn.commit()
        return found

    def rejects(self, limit: int) -> list[RejectRow]:
        """The latest rejects, newest first."""
        with self.conn.cursor() as cur:
            cur.execute(
                self._q(
                    "SELECT reason, detail, partner_id, doc_type, business_key, event_id, "
                    'topic, partition, "offset", rejected_at FROM {s}.rejects '
                    "ORDER BY id DESC LIMIT %s"
                ),
                (limit,),
            )
            found = [
                RejectRow(
                    reason, detail, partner, doc_type, key, event_id,
                    None if topic is None else f"{topic}[{partition}]@{offset}", at,
                )
                for reason, detail, partner, doc_type, key, event_id, topic, partition, offset, at
                in cur
            ]  # fmt: skip
        self.conn.commit()
        return found

    # -- the batch transaction -----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                yield Transaction(cur, self.schema)
        except psycopg.Error as exc:
            raise StoreError(f"batch not written: {exc}") from None


class Transaction:
    """What a batch reads and writes inside its transaction."""

    def __init__(self, cur: psycopg.Cursor[Any], schema: str) -> None:
        self.cur = cur
        self.schema = schema

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=sql.Identifier(self.schema))

    def controls(self, partners: Iterable[str]) -> dict[str, Controls]:
        """The partners' next control numbers, locked until the transaction ends."""
        wanted = sorted(set(partners))
        if not wanted:
            return {}
        self.cur.execute(
            self._q(
                "INSERT INTO {s}.control_numbers (partner_id, next_interchange, "
                "next_transaction_set) SELECT unnest(%s::text[]), 1, 1 "
                "ON CONFLICT (partner_id) DO NOTHING"
            ),
            (wanted,),
        )
        self.cur.execute(
            self._q(
                "SELECT partner_id, next_interchange, next_transaction_set "
                "FROM {s}.control_numbers WHERE partner_id = ANY(%s) "
                "ORDER BY partner_id FOR UPDATE"
            ),
            (wanted,),
        )
        return {p: Controls(i, t) for p, i, t in self.cur.fetchall()}

    def processed(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(ids)
        if not wanted:
            return set()
        self.cur.execute(
            self._q("SELECT event_id FROM {s}.processed_events WHERE event_id = ANY(%s)"),
            (wanted,),
        )
        return {row[0] for row in self.cur.fetchall()}

    def emitted(self, business_keys: Iterable[str]) -> set[tuple[str, str, str]]:
        wanted = list(business_keys)
        if not wanted:
            return set()
        self.cur.execute(
            self._q(
                "SELECT partner_id, doc_type, business_key FROM {s}.documents "
                "WHERE business_key = ANY(%s)"
            ),
            (wanted,),
        )
        return {(p, t, k) for p, t, k in self.cur.fetchall()}

    def items(self) -> dict[str, Item]:
        """The item master as the stage keeps it (for ``scv edi emit 846``)."""
        self.cur.execute(self._q("SELECT key, value FROM {s}.state WHERE kind = 'item'"))
        return {k: Item(v["gtin"], v["base_uom"]) for k, v in self.cur.fetchall()}

    def stock(self, positions_schema: str) -> list[StockRow] | None:
        """The views' positions (read only), or None if the views' table cannot be read."""
        query = sql.SQL(
            "SELECT site_id, item_id, on_hand, allocated, on_hold, available "
            "FROM {p}.inventory_positions ORDER BY site_id, item_id"
        ).format(p=sql.Identifier(positions_schema))
        try:
            with self.cur.connection.transaction():  # a savepoint: a missing table is no failure
                self.cur.execute(query)
                rows = self.cur.fetchall()
        except (
            psycopg.errors.UndefinedTable,
            psycopg.errors.InvalidSchemaName,
            psycopg.errors.InsufficientPrivilege,
        ):
            return None
        return [StockRow(s, i, *(Decimal(v) for v in rest)) for s, i, *rest in rows]

    def write(self, planned: Planned, offsets: Mapping[Partition, int]) -> None:
        """State, documents, rejects, processed ids, control numbers and offsets."""
        cur = self.cur
        changes = planned.state
        cur.executemany(
            self._q("DELETE FROM {s}.state WHERE kind = %s AND key = %s"),
            [key for key, value in changes.items() if value is None],
        )
        cur.executemany(
            self._q(
                "INSERT INTO {s}.state (kind, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (kind, key) DO UPDATE SET value = EXCLUDED.value"
            ),
            [
                (kind, key, Jsonb(value))
                for (kind, key), value in changes.items()
                if value is not None
            ],
        )
        cur.executemany(
            self._q(
                "INSERT INTO {s}.documents (partner_id, interchange, doc_type, first_set, sets, "
                "business_key, event_ids, file_name, sha256, content, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            ),
            [
                (
                    d.partner_id, d.control.interchange, d.doc_type, d.control.transaction_set,
                    d.sets, d.business_key, list(d.event_ids), d.file_name, d.sha256, d.content,
                    d.created_at,
                )
                for d in planned.documents
            ],
        )  # fmt: skip
        cur.executemany(
            self._q(
                "INSERT INTO {s}.rejects (reason, detail, partner_id, doc_type, business_key, "
                'event_id, topic, partition, "offset") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)'
            ),
            [
                (
                    r.reason, r.detail, r.partner_id, r.doc_type, r.business_key, r.event_id,
                    *((r.where.topic, r.where.partition, r.where.offset) if r.where else
                      (None, None, None)),
                )
                for r in planned.rejects
            ],
        )  # fmt: skip
        cur.executemany(
            self._q(
                'INSERT INTO {s}.processed_events (event_id, topic, partition, "offset") '
                "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
            ),
            [
                (c.event.event_id, c.where.topic, c.where.partition, c.where.offset)
                for c in planned.processed
            ],
        )
        cur.executemany(
            self._q(
                "UPDATE {s}.control_numbers SET next_interchange = %s, "
                "next_transaction_set = %s WHERE partner_id = %s"
            ),
            [(c.interchange, c.transaction_set, p) for p, c in planned.controls.items()],
        )
        cur.executemany(
            self._q(
                "INSERT INTO {s}.consumed_offsets (topic, partition, next_offset) "
                "VALUES (%s, %s, %s) ON CONFLICT (topic, partition) "
                "DO UPDATE SET next_offset = EXCLUDED.next_offset"
            ),
            [(t, p, o) for (t, p), o in offsets.items()],
        )


@contextmanager
def opened(dsn: str, schema: str) -> Iterator[Store]:
    store = Store(dsn, schema)
    try:
        yield store
    finally:
        store.close()
