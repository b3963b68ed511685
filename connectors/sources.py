"""The source databases: owner-side preparation and the pre-flight checks Debezium relies on.

``prepare_*`` runs as the table owner (never the CDC user): it creates scv's control tables
(signal, heartbeat), grants the CDC user exactly what Debezium writes there, and keeps the
PostgreSQL publication equal to the spec's tables. ``check_*`` runs as the CDC user, the way the
connector will connect: ``read_*`` reads what the checks of :mod:`connectors.preflight` look
at, which return one :class:`Check` per property, each failure with its fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, LiteralString, Protocol
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
from psycopg import sql

from connectors.errors import SourceError
from connectors.preflight import (
    MIN_BINLOG_RETENTION_S,
    Check,
    MariaDbState,
    PgSlot,
    PgTable,
    PostgresState,
    parse_grants,
    run_mariadb_checks,
    run_postgres_checks,
)
from connectors.specs import MariaDbSpec, PostgresSpec


@dataclass(frozen=True, slots=True)
class Dsn:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> Dsn:
        """``postgresql+psycopg://u:p@h:5432/db`` or ``mysql+pymysql://u:p@h:3306/db``."""
        shape = "owner DSN must look like scheme://user:password@host:port/database"
        try:
            parts = urlsplit(url)
            port = parts.port or 0
        except ValueError:  # its text quotes the mis-parsed piece, maybe of the password
            raise SourceError(f"{shape} (URL-encode @ : / % in the password)") from None
        if not parts.hostname or not parts.username or not parts.path.strip("/"):
            raise SourceError(shape)
        userinfo = parts.netloc.rpartition("@")[0]
        if "@" in userinfo or userinfo.count(":") > 1:  # other parsers split it elsewhere
            raise SourceError(f"{shape} (URL-encode @ : / % in the password)")
        return cls(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            database=parts.path.strip("/"),
        )


# -- PostgreSQL ---------------------------------------------------------------------------------


class PgCursor(Protocol):
    def fetchone(self) -> tuple[Any, ...] | None: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...


class PgConnection(Protocol):
    """The boundary of the checks: what they use of a psycopg connection."""

    def execute(self, query: LiteralString, params: Sequence[Any] | None = None) -> PgCursor: ...


@contextmanager
def pg_connect(
    host: str, port: int, user: str, password: str, dbname: str
) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    try:
        conn = psycopg.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as exc:
        reason = (str(exc).strip().splitlines() or ["?"])[-1]
        raise SourceError(
            f"PostgreSQL {user}@{host}:{port}/{dbname}: cannot connect ({reason})"
        ) from exc
    with conn:
        yield conn


def prepare_postgres(spec: PostgresSpec, owner: Dsn) -> list[str]:
    """Control tables, their grants, and the publication; returns what was changed."""
    changed: list[str] = []
    cdc = sql.Identifier(spec.database.user)
    ctl = sql.Identifier(spec.control_schema)
    assert spec.heartbeat.table is not None
    heartbeat = sql.Identifier(spec.control_schema, spec.heartbeat.table)
    signal = sql.Identifier(spec.control_schema, spec.signal_table)
    with pg_connect(owner.host, owner.port, owner.user, owner.password, owner.database) as conn:
        missing = [
            t
            for t in spec.qualified_tables
            if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone() == (None,)
        ]
        if missing:
            raise SourceError(
                f"{spec.name}: captured tables do not exist: {', '.join(missing)} "
                "(create the legacy schema first, e.g. `scv sim init`)"
            )
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ctl))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id int PRIMARY KEY, ts timestamptz NOT NULL)"
            ).format(heartbeat)
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id varchar(64) PRIMARY KEY, "
                "type varchar(32) NOT NULL, data varchar(2048))"
            ).format(signal)
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ctl, cdc))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(heartbeat, cdc))
        conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(signal, cdc))
        wanted = set(spec.publication_tables)
        current = publication_tables(conn, spec.publication)
        tables = sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in sorted(wanted))
        if current is None:
            conn.execute(
                sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
                    sql.Identifier(spec.publication), tables
                )
            )
            changed.append(f"created publication {spec.publication} ({len(wanted)} tables)")
        elif current != wanted:
            conn.execute(
                sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(
                    sql.Identifier(spec.publication), tables
                )
            )
            changed.append(
                f"publication {spec.publication}: "
                f"+{sorted(wanted - current)} -{sorted(current - wanted)}"
            )
    return changed


def publication_tables(conn: PgConnection, name: str) -> set[str] | None:
    row = conn.execute(
        "SELECT puballtables FROM pg_publication WHERE pubname = %s", (name,)
    ).fetchone()
    if row is None:
        return None
    if row[0]:
        return {"*ALL TABLES*"}
    rows = conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s",
        (name,),
    ).fetchall()
    return {r[0] for r in rows}


def read_postgres(spec: PostgresSpec, conn: PgConnection) -> PostgresState:
    """What the pre-flight checks look at, read on a connection opened as the connector's user."""

    def maybe(query: LiteralString, *args: object) -> tuple[Any, ...] | None:
        return conn.execute(query, args or None).fetchone()

    def one(query: LiteralString, *args: object) -> tuple[Any, ...]:
        row = maybe(query, *args)
        assert row is not None, query
        return row

    wal_level = one("SHOW wal_level")[0]
    slot = maybe(
        "SELECT plugin, database, active, wal_status FROM pg_replication_slots"
        " WHERE slot_name = %s",
        spec.slot,
    )
    max_slots, used_slots = one(
        "SELECT current_setting('max_replication_slots')::int, count(*) FROM pg_replication_slots"
    )
    max_senders, used_senders = one(
        "SELECT current_setting('max_wal_senders')::int, count(*) FROM pg_stat_replication"
    )
    replication, login, user = one(
        "SELECT rolreplication, rolcanlogin, current_user FROM pg_roles"
        " WHERE rolname = current_user"
    )
    tables: dict[str, PgTable | None] = {}
    for table in spec.qualified_tables:
        row = maybe(
            "SELECT c.relreplident, has_table_privilege(c.oid, 'SELECT') FROM pg_class c "
            "WHERE c.oid = to_regclass(%s)",
            table,
        )
        tables[table] = None if row is None else PgTable(row[0], bool(row[1]))
    assert spec.heartbeat.table is not None
    control: dict[str, tuple[str, ...] | None] = {}
    for table, privileges in (
        (f"{spec.control_schema}.{spec.heartbeat.table}", ("INSERT", "UPDATE")),
        (spec.signal_collection, ("INSERT",)),
    ):
        if one("SELECT to_regclass(%s)", table) == (None,):
            control[table] = None
            continue
        control[table] = tuple(
            p for p in privileges if not one("SELECT has_table_privilege(%s, %s)", table, p)[0]
        )
    publication = publication_tables(conn, spec.publication)
    return PostgresState(
        wal_level=wal_level,
        slot=None if slot is None else PgSlot(*slot),
        max_slots=max_slots,
        used_slots=used_slots,
        max_senders=max_senders,
        used_senders=used_senders,
        replication=bool(replication),
        login=bool(login),
        user=user,
        tables=tables,
        control_tables=control,
        publication=None if publication is None else frozenset(publication),
    )


def check_postgres(spec: PostgresSpec, conn: PgConnection) -> list[Check]:
    """Pre-flight checks on a connection opened as the connector's user."""
    return run_postgres_checks(spec, read_postgres(spec, conn))


# -- MariaDB ------------------------------------------------------------------------------------


@contextmanager
def maria_connect(
    host: str, port: int, user: str, password: str, database: str | None = None
) -> Iterator[pymysql.connections.Connection[Any]]:
    try:
        conn = pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            database=database,
            autocommit=True,
            connect_timeout=5,
        )
    except pymysql.err.MySQLError as exc:
        raise SourceError(f"MariaDB {user}@{host}:{port}: cannot connect ({exc.args[-1]})") from exc
    try:
        yield conn
    finally:
        conn.close()


def prepare_mariadb(spec: MariaDbSpec, owner: Dsn) -> list[str]:
    """The signal table in scv's control database (the stack grants the CDC user INSERT there)."""
    changed: list[str] = []
    with (
        maria_connect(owner.host, owner.port, owner.user, owner.password) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (spec.schema_name,),
        )
        present = {r[0] for r in cur.fetchall()}
        missing = [t for t in spec.tables if t not in present]
        if missing:
            raise SourceError(
                f"{spec.name}: captured tables do not exist in {spec.schema_name}: "
                f"{', '.join(missing)} (create the legacy schema first, e.g. `scv sim init`)"
            )
        try:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS `{spec.control_schema}`.`{spec.signal_table}` "
                "(id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))"
            )
        except pymysql.err.MySQLError as exc:
            raise SourceError(
                f"{spec.name}: cannot create {spec.signal_collection} as {owner.user} "
                f"({exc.args[-1]}); `scv stack up` creates database {spec.control_schema}"
            ) from exc
        if cur.warning_count == 0:
            changed.append(f"signal table {spec.signal_collection} ready")
    return changed


class MariaDbCursor(Protocol):
    """The boundary of the checks: what they use of a pymysql cursor."""

    def execute(self, query: str, args: tuple[Any, ...] | None = None) -> int: ...
    def fetchone(self) -> tuple[Any, ...] | None: ...
    def fetchall(self) -> Sequence[tuple[Any, ...]]: ...


def read_mariadb(
    spec: MariaDbSpec,
    cur: MariaDbCursor,
    *,
    other_server_ids: Mapping[int, str] | None = None,
    min_retention_s: int = MIN_BINLOG_RETENTION_S,
) -> MariaDbState:
    """What the pre-flight checks look at, read on a cursor of the connector's user."""
    cur.execute(
        "SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@SESSION.binlog_format, "
        "@@GLOBAL.binlog_row_image, @@GLOBAL.server_id, @@GLOBAL.binlog_expire_logs_seconds, "
        "@@GLOBAL.expire_logs_days"
    )
    row = cur.fetchone()
    assert row is not None
    log_bin, fmt_global, fmt_session, row_image, server_id, expire_s, expire_days = row
    cur.execute("SHOW GRANTS FOR CURRENT_USER()")
    granted = parse_grants(line for (line,) in cur.fetchall())
    cur.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN (%s, %s)",
        (spec.schema_name, spec.control_schema),
    )
    present = frozenset(f"{s}.{t}" for s, t in cur.fetchall())
    return MariaDbState(
        log_bin=int(log_bin) == 1,
        binlog_format=fmt_global,
        session_binlog_format=fmt_session,
        binlog_row_image=row_image,
        server_id=int(server_id),
        retention_s=int(expire_s) or int(float(expire_days) * 86400),
        granted=granted,
        tables=present,
        other_server_ids=other_server_ids or {},
        min_retention_s=min_retention_s,
    )


def check_mariadb(
    spec: MariaDbSpec,
    conn: pymysql.connections.Connection[Any],
    *,
    other_server_ids: dict[int, str] | None = None,
    min_retention_s: int = MIN_BINLOG_RETENTION_S,
) -> list[Check]:
    """Pre-flight checks on a connection opened as the connector's user.

    ``other_server_ids`` maps the ``database.server.id`` of other deployed binlog connectors to
    their names: two clients with one id kick each other off the server.
    """
    with conn.cursor() as cur:
        state = read_mariadb(
            spec, cur, other_server_ids=other_server_ids, min_retention_s=min_retention_s
        )
    return run_mariadb_checks(spec, state)
