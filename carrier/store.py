"""The carrier's tables in the ``scv`` database: the outbox, the rejects, the relay's progress.

Schema ``carrier`` (``CarrierSettings.db_schema``):

- ``outbox``: one row per accepted update, unique on (carrier, carrier event id), with the
  canonical event's JSON; written in the request's own transaction, so an update the receiver
  answered 202 for is in the outbox, and a replayed webhook adds nothing. Rows are numbered
  (``seq``) under a transaction-level advisory lock, so they become visible in ``seq`` order
  and the relay, reading ``seq > last``, can never pass a row that commits later.
- ``rejects``: every body refused (4xx), with the reason, the HTTP status and the bytes.
- ``relay``: the last ``seq`` the relay committed to Kafka (a cache: the marker the relay
  writes in each Kafka transaction is the truth, ``carrier.relay``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql

import dsn as dsn_check
from carrier.errors import CarrierStoreError

#: ``pg_advisory_xact_lock`` key of the outbox numbering (any fixed 64-bit number).
_OUTBOX_LOCK = 0x5C7_CA221E2

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.outbox (
    seq bigserial PRIMARY KEY,
    carrier text NOT NULL,
    carrier_event_id text NOT NULL,
    body_sha256 text NOT NULL,
    shipment_id text NOT NULL,
    event_type text NOT NULL,
    received_at timestamptz NOT NULL,
    event bytea NOT NULL,
    UNIQUE (carrier, carrier_event_id)
);
CREATE TABLE IF NOT EXISTS {s}.rejects (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL,
    status integer NOT NULL,
    reason text NOT NULL,
    body bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.relay (
    id integer PRIMARY KEY CHECK (id = 1),
    produced_up_to bigint NOT NULL
);
"""

Verdict = Literal["accepted", "duplicate", "conflict"]


@dataclass(frozen=True, slots=True)
class Reject:
    id: int
    received_at: datetime
    status: int
    reason: str
    body: bytes


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    event: bytes


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Store:
    """One connection to the ``scv`` database (not shared between threads)."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.schema = schema
        wrong = dsn_check.problem(dsn) if "://" in dsn else None
        if wrong:  # before libpq, which would quote the pieces of a mis-parsed password
            raise CarrierStoreError(f"scv database DSN (SCV_STORE_DSN): {wrong}")
        try:
            self.conn = psycopg.connect(dsn, autocommit=False)
        except psycopg.Error as exc:
            reason = dsn_check.redact(str(exc).strip(), dsn)
            raise CarrierStoreError(f"cannot connect to the scv database: {reason}") from None

    def close(self) -> None:
        self.conn.close()

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=sql.Identifier(self.schema))

    def ensure_schema(self) -> None:
        with self._tx() as cur:
            cur.execute(self._q(_DDL))

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Cursor[Any]]:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise CarrierStoreError(f"scv database ({self.schema}): {exc}") from None

    def accept(
        self,
        *,
        carrier: str,
        carrier_event_id: str,
        body: bytes,
        shipment_id: str,
        event_type: str,
        received_at: datetime,
        event: bytes,
    ) -> Verdict:
        """Put an update in the outbox once: ``accepted`` the first time, ``duplicate`` when
        the same carrier event id came before with the same body, ``conflict`` when it came
        with another body (the first one stays)."""
        digest = body_hash(body)
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_OUTBOX_LOCK,))
            cur.execute(
                self._q(
                    "INSERT INTO {s}.outbox (carrier, carrier_event_id, body_sha256, shipment_id,"
                    " event_type, received_at, event) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (carrier, carrier_event_id) DO NOTHING RETURNING seq"
                ),
                (carrier, carrier_event_id, digest, shipment_id, event_type, received_at, event),
            )
            if cur.fetchone() is not None:
                return "accepted"
            cur.execute(
                self._q(
                    "SELECT body_sha256 FROM {s}.outbox"
                    " WHERE carrier = %s AND carrier_event_id = %s"
                ),
                (carrier, carrier_event_id),
            )
            row = cur.fetchone()
        return "duplicate" if row is not None and row[0] == digest else "conflict"

    def reject(self, *, received_at: datetime, status: int, reason: str, body: bytes) -> int:
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO {s}.rejects (received_at, status, reason, body)"
                    " VALUES (%s, %s, %s, %s) RETURNING id"
                ),
                (received_at, status, reason, body),
            )
            row = cur.fetchone()
        assert row is not None  # INSERT ... RETURNING returns its row
        return int(row[0])

    def rejects(self, limit: int = 100) -> list[Reject]:
        """The latest ``limit`` rejects, oldest first."""
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "SELECT id, received_at, status, reason, body FROM"
                    " (SELECT * FROM {s}.rejects ORDER BY id DESC LIMIT %s) r ORDER BY id"
                ),
                (limit,),
            )
            return [Reject(i, at, st, reason, bytes(body)) for i, at, st, reason, body in cur]

    def pending(self, after: int, limit: int) -> list[OutboxRow]:
        with self._tx() as cur:
            cur.execute(
                self._q("SELECT seq, event FROM {s}.outbox WHERE seq > %s ORDER BY seq LIMIT %s"),
                (after, limit),
            )
            return [OutboxRow(seq, bytes(event)) for seq, event in cur]

    def relayed_up_to(self) -> int:
        with self._tx() as cur:
            cur.execute(self._q("SELECT produced_up_to FROM {s}.relay WHERE id = 1"))
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def mark_relayed(self, up_to: int) -> None:
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO {s}.relay (id, produced_up_to) VALUES (1, %s)"
                    " ON CONFLICT (id) DO UPDATE SET produced_up_to = excluded.produced_up_to"
                ),
                (up_to,),
            )

    def counts(self) -> dict[str, int]:
        """Rows in the outbox and the rejects, the outbox's last seq and the relay's position
        (everything is relayed when ``relayed == last_seq``)."""
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "SELECT (SELECT count(*) FROM {s}.outbox),"
                    " (SELECT coalesce(max(seq), 0) FROM {s}.outbox),"
                    " (SELECT count(*) FROM {s}.rejects),"
                    " (SELECT coalesce(max(produced_up_to), 0) FROM {s}.relay)"
                )
            )
            row = cur.fetchone()
        assert row is not None
        outbox, last_seq, rejects, relayed = (int(v) for v in row)
        return {"outbox": outbox, "last_seq": last_seq, "rejects": rejects, "relayed": relayed}


@contextmanager
def opened(dsn: str, schema: str) -> Iterator[Store]:
    store = Store(dsn, schema)
    try:
        store.ensure_schema()
        yield store
    finally:
        store.close()
