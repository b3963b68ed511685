"""The source databases: owner-side preparation and the pre-flight checks Debezium relies on.

``prepare_*`` runs as the table owner (never the CDC user): it creates scv's control tables
(signal, heartbeat), grants the CDC user exactly what Debezium writes there, and keeps the
PostgreSQL publication equal to the spec's tables. ``check_*`` runs as the CDC user, the way the
connector will connect, and returns one :class:`Check` per property, each failure with its fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
from psycopg import sql

from connectors.errors import SourceError
from connectors.specs import MariaDbSpec, PostgresSpec

Level = Literal["ok", "fail", "warn"]


@dataclass(frozen=True, slots=True)
class Check:
    """One property of the source; ``fix`` says what to do when it fails."""

    name: str
    level: Level
    detail: str
    fix: str = ""

    @property
    def line(self) -> str:
        text = f"{self.name}: {self.detail}"
        return f"{text} -> fix: {self.fix}" if self.level != "ok" and self.fix else text


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def _warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


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
        parts = urlsplit(url)
        if not parts.hostname or not parts.username or not parts.path.strip("/"):
            raise SourceError("owner DSN must look like scheme://user:password@host:port/database")
        return cls(
            host=parts.hostname,
            port=parts.port or 0,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            database=parts.path.strip("/"),
        )


# -- PostgreSQL ---------------------------------------------------------------------------------


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


def publication_tables(conn: psycopg.Connection[tuple[Any, ...]], name: str) -> set[str] | None:
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


def check_postgres(spec: PostgresSpec, conn: psycopg.Connection[tuple[Any, ...]]) -> list[Check]:
    """Pre-flight checks on a connection opened as the connector's user."""
    checks: list[Check] = []

    def maybe(query: str, *args: object) -> tuple[Any, ...] | None:
        return conn.execute(query, args or None).fetchone()

    def one(query: str, *args: object) -> tuple[Any, ...]:
        row = maybe(query, *args)
        assert row is not None, query
        return row

    wal_level = one("SHOW wal_level")[0]
    checks.append(
        _ok("wal_level", "logical")
        if wal_level == "logical"
        else _fail("wal_level", f"is {wal_level}", "set wal_level=logical and restart PostgreSQL")
    )

    slot = maybe(
        "SELECT plugin, database, active, wal_status FROM pg_replication_slots"
        " WHERE slot_name = %s",
        spec.slot,
    )
    max_slots, used_slots = one(
        "SELECT current_setting('max_replication_slots')::int, count(*) FROM pg_replication_slots"
    )
    if slot is not None:
        plugin, database, _active, wal_status = slot
        if plugin != "pgoutput" or database != spec.database.name:
            checks.append(
                _fail(
                    "replication slot",
                    f"{spec.slot} exists with plugin {plugin} on database {database}",
                    f"`scv connectors delete {spec.name} --drop-slot` (Debezium recreates it)",
                )
            )
        elif wal_status == "lost":
            checks.append(
                _fail(
                    "replication slot",
                    f"{spec.slot} lost WAL it needed (wal_status=lost): changes were lost",
                    f"`scv connectors delete {spec.name} --drop-slot`, then `apply` (re-snapshot)",
                )
            )
        else:
            checks.append(_ok("replication slot", f"{spec.slot} exists (pgoutput, {wal_status})"))
    elif used_slots >= max_slots:
        checks.append(
            _fail(
                "replication slots",
                f"all {max_slots} in use",
                "drop an unused slot (pg_drop_replication_slot) or raise max_replication_slots",
            )
        )
    else:
        checks.append(_ok("replication slots", f"{max_slots - used_slots} of {max_slots} free"))

    max_senders, used_senders = one(
        "SELECT current_setting('max_wal_senders')::int, count(*) FROM pg_stat_replication"
    )
    if slot is None or not slot[2]:
        if used_senders >= max_senders:
            checks.append(
                _fail(
                    "wal senders",
                    f"all {max_senders} in use",
                    "stop an idle replication client or raise max_wal_senders",
                )
            )
        else:
            checks.append(_ok("wal senders", f"{max_senders - used_senders} of {max_senders} free"))

    rep, login, user = one(
        "SELECT rolreplication, rolcanlogin, current_user FROM pg_roles"
        " WHERE rolname = current_user"
    )
    if rep and login:
        checks.append(_ok("grants: role", f"{user} has LOGIN REPLICATION"))
    else:
        checks.append(
            _fail(
                "grants: role",
                f"{user} lacks {'REPLICATION' if not rep else 'LOGIN'}",
                f"ALTER ROLE {user} LOGIN REPLICATION (as a superuser)",
            )
        )

    for table in spec.qualified_tables:
        row = maybe(
            "SELECT c.relreplident, has_table_privilege(c.oid, 'SELECT') FROM pg_class c "
            "WHERE c.oid = to_regclass(%s)",
            table,
        )
        if row is None:
            checks.append(
                _fail(
                    f"table {table}",
                    "does not exist (or is not visible to the CDC user)",
                    "create the legacy schema (`scv sim init`) or fix the spec's tables",
                )
            )
            continue
        ident, can_select = row
        if ident != "f":
            names = {"d": "DEFAULT", "n": "NOTHING", "i": "USING INDEX"}
            checks.append(
                _fail(
                    f"replica identity {table}",
                    f"is {names.get(ident, ident)}: updates and deletes carry no full before-image",
                    f"ALTER TABLE {table} REPLICA IDENTITY FULL (as the owner)",
                )
            )
        else:
            checks.append(_ok(f"replica identity {table}", "FULL"))
        if not can_select:
            checks.append(
                _fail(
                    f"grants: {table}",
                    "no SELECT for the CDC user",
                    f"GRANT SELECT ON {table} TO {user} (as the owner)",
                )
            )

    assert spec.heartbeat.table is not None
    for table, privileges in (
        (f"{spec.control_schema}.{spec.heartbeat.table}", ("INSERT", "UPDATE")),
        (spec.signal_collection, ("INSERT",)),
    ):
        if one("SELECT to_regclass(%s)", table) == (None,):
            checks.append(
                _fail(
                    f"table {table}",
                    "does not exist",
                    f"`scv connectors prepare {spec.name}` (creates scv's control tables)",
                )
            )
            continue
        lacking = [
            p for p in privileges if not one("SELECT has_table_privilege(%s, %s)", table, p)[0]
        ]
        if lacking:
            checks.append(
                _fail(
                    f"grants: {table}",
                    f"CDC user lacks {', '.join(lacking)}",
                    f"`scv connectors prepare {spec.name}`",
                )
            )

    current = publication_tables(conn, spec.publication)
    wanted = set(spec.publication_tables)
    if current is None:
        checks.append(
            _fail(
                "publication",
                f"{spec.publication} does not exist",
                f"`scv connectors prepare {spec.name}` (the owner creates it)",
            )
        )
    elif current != wanted:
        missing, extra = sorted(wanted - current), sorted(current - wanted)
        checks.append(
            _fail(
                "publication",
                f"{spec.publication} differs: missing {missing or '-'}, extra {extra or '-'}",
                f"`scv connectors prepare {spec.name}` (sets its tables)",
            )
        )
    else:
        checks.append(_ok("publication", f"{spec.publication}: exactly the {len(wanted)} tables"))
    return checks


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


#: What Debezium's binlog reader needs (MariaDB >= 10.5 names; REPLICATION CLIENT is the alias
#: of BINLOG MONITOR in older releases).
MARIADB_GRANTS = ("SELECT", "RELOAD", "SHOW DATABASES", "REPLICATION SLAVE", "BINLOG MONITOR")


def _grants(cur: Any) -> set[str]:
    cur.execute("SHOW GRANTS FOR CURRENT_USER()")
    granted: set[str] = set()
    for (line,) in cur.fetchall():
        head = str(line).split(" TO ", 1)[0]
        if not head.startswith("GRANT "):
            continue
        privileges, _, target = head[len("GRANT ") :].rpartition(" ON ")
        for privilege in privileges.split(","):
            granted.add(f"{privilege.strip().upper()} ON {target.strip().replace('`', '')}")
    return granted


def _has(granted: set[str], privilege: str, *targets: str) -> bool:
    return any(
        f"{p} ON {t}" in granted for p in (privilege, "ALL PRIVILEGES") for t in (*targets, "*.*")
    )


def check_mariadb(
    spec: MariaDbSpec,
    conn: pymysql.connections.Connection[Any],
    *,
    other_server_ids: dict[int, str] | None = None,
    min_retention_s: int = 24 * 3600,
) -> list[Check]:
    """Pre-flight checks on a connection opened as the connector's user.

    ``other_server_ids`` maps the ``database.server.id`` of other deployed binlog connectors to
    their names: two clients with one id kick each other off the server.
    """
    checks: list[Check] = []
    with conn.cursor() as cur:
        cur.execute(
            "SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@SESSION.binlog_format, "
            "@@GLOBAL.binlog_row_image, @@GLOBAL.server_id, @@GLOBAL.binlog_expire_logs_seconds, "
            "@@GLOBAL.expire_logs_days"
        )
        log_bin, fmt_global, fmt_session, row_image, server_id, expire_s, expire_days = (
            cur.fetchone()
        )
        checks.append(
            _ok("log_bin", "ON")
            if int(log_bin) == 1
            else _fail("log_bin", "OFF: no binlog to read", "start MariaDB with --log-bin")
        )
        if fmt_global == "ROW" and fmt_session == "ROW":
            checks.append(_ok("binlog_format", "ROW"))
        else:
            checks.append(
                _fail(
                    "binlog_format",
                    f"is {fmt_session} (global {fmt_global}): row changes are not logged",
                    "SET GLOBAL binlog_format=ROW and binlog-format=ROW in the server config",
                )
            )
        checks.append(
            _ok("binlog_row_image", "FULL")
            if row_image == "FULL"
            else _fail(
                "binlog_row_image",
                f"is {row_image}: no full before/after images",
                "SET GLOBAL binlog_row_image=FULL and binlog-row-image=FULL in the server config",
            )
        )
        retention = int(expire_s) or int(float(expire_days) * 86400)
        if retention == 0:
            checks.append(
                _warn(
                    "binlog retention",
                    "binlogs never expire: the disk can fill",
                    "set binlog_expire_logs_seconds (e.g. 604800)",
                )
            )
        elif retention < min_retention_s:
            checks.append(
                _fail(
                    "binlog retention",
                    f"{retention}s is shorter than {min_retention_s}s: a connector "
                    "stopped over a weekend loses data",
                    f"SET GLOBAL binlog_expire_logs_seconds={min_retention_s * 7}",
                )
            )
        else:
            checks.append(_ok("binlog retention", f"{retention}s ({retention / 86400:.1f} days)"))
        clashes = {sid: n for sid, n in (other_server_ids or {}).items() if sid == spec.server_id}
        if spec.server_id == int(server_id):
            checks.append(
                _fail(
                    "server_id",
                    f"{spec.server_id} is the server's own id",
                    "choose another server_id in the spec",
                )
            )
        elif clashes:
            checks.append(
                _fail(
                    "server_id",
                    f"{spec.server_id} is also used by connector {', '.join(clashes.values())}",
                    "give every binlog client its own server_id in the spec",
                )
            )
        else:
            checks.append(_ok("server_id", f"{spec.server_id} (server is {server_id})"))

        granted = _grants(cur)
        lacking = [
            p
            for p in MARIADB_GRANTS
            if not _has(granted, p)
            and not (p == "BINLOG MONITOR" and _has(granted, "REPLICATION CLIENT"))
        ]
        if lacking:
            checks.append(
                _fail(
                    "grants",
                    f"CDC user lacks {', '.join(lacking)}",
                    f"GRANT {', '.join(lacking)} ON *.* TO the CDC user (as root)",
                )
            )
        else:
            checks.append(_ok("grants", ", ".join(MARIADB_GRANTS)))
        if not _has(granted, "INSERT", f"{spec.control_schema}.*", f"{spec.signal_collection}"):
            checks.append(
                _fail(
                    "grants: signal table",
                    f"CDC user cannot INSERT into {spec.signal_collection} "
                    "(incremental snapshots write watermarks there)",
                    f"GRANT INSERT ON {spec.control_schema}.* TO the CDC user (`scv stack up`)",
                )
            )

        cur.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN (%s, %s)",
            (spec.schema_name, spec.control_schema),
        )
        present = {f"{s}.{t}" for s, t in cur.fetchall()}
        for table in spec.qualified_tables:
            if table not in present:
                checks.append(
                    _fail(
                        f"table {table}",
                        "does not exist (or is not visible to the CDC user)",
                        "create the legacy schema (`scv sim init`) or fix the spec's tables",
                    )
                )
        if spec.signal_collection not in present:
            checks.append(
                _fail(
                    f"table {spec.signal_collection}",
                    "does not exist",
                    f"`scv connectors prepare {spec.name}`",
                )
            )
    return checks
