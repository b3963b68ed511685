"""``audit.operator_actions`` in the ``scv`` database: append a row, list rows, and the outbox
(rows not yet on Kafka).

The table is append-only: a trigger refuses ``DELETE`` and any ``UPDATE`` but the outbox mark
(``published_at`` from NULL to a time), so a row, once written, says the same thing in the
table and on the topic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

import dsn as dsn_check
from audit.entry import Action, Operator, Phase, Row
from audit.errors import AuditError

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.operator_actions (
    id            bigserial PRIMARY KEY,
    action_id     uuid NOT NULL,
    phase         text NOT NULL CHECK (phase IN ('requested', 'succeeded', 'failed')),
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    os_user       text NOT NULL,
    sudo_user     text,
    host          text NOT NULL,
    pid           integer NOT NULL,
    command       text NOT NULL,
    target        text,
    arguments     jsonb NOT NULL,
    config_before text,
    config_after  text,
    detail        text,
    published_at  timestamptz
);
CREATE INDEX IF NOT EXISTS operator_actions_at ON {s}.operator_actions (at);
CREATE INDEX IF NOT EXISTS operator_actions_outbox
    ON {s}.operator_actions (id) WHERE published_at IS NULL;
CREATE OR REPLACE FUNCTION {s}.operator_actions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit rows are never deleted';
    END IF;
    IF OLD.published_at IS NOT NULL OR NEW.published_at IS NULL
       OR (to_jsonb(NEW) - 'published_at') <> (to_jsonb(OLD) - 'published_at') THEN
        RAISE EXCEPTION 'audit rows are append-only (only the outbox mark is set, once)';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS operator_actions_append_only ON {s}.operator_actions;
CREATE TRIGGER operator_actions_append_only BEFORE UPDATE OR DELETE ON {s}.operator_actions
    FOR EACH ROW EXECUTE FUNCTION {s}.operator_actions_append_only()
"""

_COLUMNS = (
    "id, action_id, phase, at, os_user, sudo_user, host, pid, command, target, arguments, "
    "config_before, config_after, detail, published_at"
)


def _row(values: Sequence[Any]) -> Row:
    (id_, action_id, phase, at, os_user, sudo_user, host, pid, command, target, arguments,
     before, after, detail, published_at) = values  # fmt: skip
    return Row(
        id=id_,
        action_id=action_id,
        phase=phase,
        at=at,
        os_user=os_user,
        sudo_user=sudo_user,
        host=host,
        pid=pid,
        command=command,
        target=target,
        arguments=arguments,
        config_before=before,
        config_after=after,
        detail=detail,
        published_at=published_at,
    )


class AuditStore:
    """One connection to the audit schema."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.schema = schema
        self._dsn = dsn
        wrong = dsn_check.problem(dsn) if "://" in dsn else None
        if wrong:  # before libpq, which would quote the pieces of a mis-parsed password
            raise AuditError(f"audit database DSN (SCV_STORE_DSN): {wrong}")
        try:
            self.conn = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
        except psycopg.Error as exc:
            raise AuditError(f"cannot connect to the audit database: {self._why(exc)}") from None

    def _why(self, exc: BaseException) -> str:
        return dsn_check.redact(" ".join(str(exc).split()), self._dsn)

    def close(self) -> None:
        self.conn.close()

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=sql.Identifier(self.schema))

    def _run(self, what: str, work: Callable[[psycopg.Cursor[Any]], Any]) -> Any:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                return work(cur)
        except psycopg.Error as exc:
            raise AuditError(f"audit database: cannot {what}: {self._why(exc)}") from None

    def ensure_schema(self) -> None:
        def ddl(cur: psycopg.Cursor[Any]) -> None:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('scv-audit-ddl'))")
            cur.execute(self._q(_DDL))

        self._run("create the audit table", ddl)

    def append(
        self,
        action: Action,
        who: Operator,
        phase: Phase,
        *,
        config_before: str | None,
        config_after: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Append one row (committed when this returns); its id."""

        def insert(cur: psycopg.Cursor[Any]) -> int:
            cur.execute(
                self._q(
                    "INSERT INTO {s}.operator_actions (action_id, phase, os_user, sudo_user, "
                    "host, pid, command, target, arguments, config_before, config_after, detail) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
                ),
                (
                    action.action_id,
                    phase,
                    who.os_user,
                    who.sudo_user,
                    who.host,
                    who.pid,
                    action.command,
                    action.target,
                    Jsonb(action.arguments, dumps=lambda v: orjson.dumps(v).decode()),
                    config_before,
                    config_after,
                    detail,
                ),
            )
            row = cur.fetchone()
            assert row is not None  # RETURNING always answers one row
            return int(row[0])

        return int(self._run(f"record `{action.command}` as {phase}", insert))

    def rows(
        self, *, since: datetime | None = None, command: str | None = None, limit: int = 0
    ) -> list[Row]:
        """Rows in id order (the newest ``limit`` if > 0)."""

        def select(cur: psycopg.Cursor[Any]) -> list[Row]:
            where = ["(%(since)s::timestamptz IS NULL OR at >= %(since)s)"]
            if command is not None:
                where.append("command = %(command)s")
            text = f"SELECT {_COLUMNS} FROM {{s}}.operator_actions WHERE {' AND '.join(where)}"
            text += " ORDER BY id DESC" + (" LIMIT %(limit)s" if limit > 0 else "")
            cur.execute(self._q(text), {"since": since, "command": command, "limit": limit})
            return [_row(values) for values in reversed(cur.fetchall())]

        return list(self._run("read the audit trail", select))

    @contextmanager
    def outbox(self) -> Iterator[tuple[list[Row], Callable[[Sequence[int]], None]]]:
        """The unpublished rows, locked (``FOR UPDATE``) until the block ends, and a function
        that marks ids published; committed when the block ends without an error.

        A second publisher waits on the locks and then finds the rows published: the topic
        gets each row once, unless a crash falls between the broker's acknowledgement and
        this commit (then again, with the same ``id``: consumers keep the first)."""
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute(
                    self._q(
                        f"SELECT {_COLUMNS} FROM {{s}}.operator_actions "
                        "WHERE published_at IS NULL ORDER BY id FOR UPDATE"
                    )
                )
                pending = [_row(values) for values in cur.fetchall()]

                def mark(ids: Sequence[int]) -> None:
                    cur.execute(
                        self._q(
                            "UPDATE {s}.operator_actions SET published_at = clock_timestamp() "
                            "WHERE id = ANY(%s)"
                        ),
                        (list(ids),),
                    )

                yield pending, mark
        except psycopg.Error as exc:
            raise AuditError(
                f"audit database: cannot publish the outbox: {self._why(exc)}"
            ) from None


@contextmanager
def opened(dsn: str, schema: str) -> Iterator[AuditStore]:
    store = AuditStore(dsn, schema)
    try:
        yield store
    finally:
        store.close()
