"""The pre-flight checks Debezium relies on, one small named function per property.

Each check reads a :class:`PostgresState` or :class:`MariaDbState` (what the connector's user
sees of the source, read by :mod:`connectors.sources`) and yields the :class:`Check` lines of
its property, each failure with its fix. They run in the order of ``POSTGRES_CHECKS`` and
``MARIADB_CHECKS``, which is the order ``scv connectors check`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

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


_MISSING_TABLE = "does not exist (or is not visible to the CDC user)"
_CREATE_LEGACY = "create the legacy schema (`scv sim init`) or fix the spec's tables"

# -- PostgreSQL ---------------------------------------------------------------------------------


class PgSlot(NamedTuple):
    """The spec's row of ``pg_replication_slots``."""

    plugin: str
    database: str
    active: bool
    wal_status: str | None


class PgTable(NamedTuple):
    """A captured table as the CDC user sees it in ``pg_class``."""

    replica_identity: str  # relreplident: d(efault), n(othing), f(ull), i(ndex)
    can_select: bool


@dataclass(frozen=True, slots=True)
class PostgresState:
    """What the connector's user sees of the ERP database."""

    wal_level: str
    slot: PgSlot | None
    max_slots: int
    used_slots: int
    max_senders: int
    used_senders: int
    replication: bool  # rolreplication of the current user
    login: bool  # rolcanlogin of the current user
    user: str
    #: Every captured table in the spec's order; None when it does not exist or is not visible.
    tables: Mapping[str, PgTable | None]
    #: scv's heartbeat and signal tables: the privileges the CDC user lacks on each, None when
    #: the table does not exist.
    control_tables: Mapping[str, tuple[str, ...] | None]
    #: The publication's tables (``{"*ALL TABLES*"}`` for FOR ALL TABLES), None when it is absent.
    publication: frozenset[str] | None


def _free(name: str, used: int, maximum: int, fix: str) -> Check:
    """One of ``maximum`` is still free."""
    if used >= maximum:
        return _fail(name, f"all {maximum} in use", fix)
    return _ok(name, f"{maximum - used} of {maximum} free")


def pg_wal_level(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    if state.wal_level == "logical":
        yield _ok("wal_level", "logical")
    else:
        yield _fail(
            "wal_level", f"is {state.wal_level}", "set wal_level=logical and restart PostgreSQL"
        )


def pg_replication_slot(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    """The spec's slot when it exists (right plugin and database, WAL kept), else a free one."""
    slot = state.slot
    if slot is not None:
        if slot.plugin != "pgoutput" or slot.database != spec.database.name:
            yield _fail(
                "replication slot",
                f"{spec.slot} exists with plugin {slot.plugin} on database {slot.database}",
                f"`scv connectors delete {spec.name} --drop-slot` (Debezium recreates it)",
            )
        elif slot.wal_status == "lost":
            yield _fail(
                "replication slot",
                f"{spec.slot} lost WAL it needed (wal_status=lost): changes were lost",
                f"`scv connectors delete {spec.name} --drop-slot`, then `apply` (re-snapshot)",
            )
        else:
            yield _ok("replication slot", f"{spec.slot} exists (pgoutput, {slot.wal_status})")
    else:
        yield _free(
            "replication slots",
            state.used_slots,
            state.max_slots,
            "drop an unused slot (pg_drop_replication_slot) or raise max_replication_slots",
        )


def pg_wal_senders(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    """A free WAL sender, unless the connector's slot is active (it holds one already)."""
    if state.slot is not None and state.slot.active:
        return
    yield _free(
        "wal senders",
        state.used_senders,
        state.max_senders,
        "stop an idle replication client or raise max_wal_senders",
    )


def pg_role(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    if state.replication and state.login:
        yield _ok("grants: role", f"{state.user} has LOGIN REPLICATION")
    else:
        yield _fail(
            "grants: role",
            f"{state.user} lacks {'REPLICATION' if not state.replication else 'LOGIN'}",
            f"ALTER ROLE {state.user} LOGIN REPLICATION (as a superuser)",
        )


_REPLICA_IDENTITIES = {"d": "DEFAULT", "n": "NOTHING", "i": "USING INDEX"}


def pg_captured_tables(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    """Each captured table exists, has REPLICA IDENTITY FULL and is readable by the CDC user."""
    for table, seen in state.tables.items():
        if seen is None:
            yield _fail(f"table {table}", _MISSING_TABLE, _CREATE_LEGACY)
            continue
        ident = seen.replica_identity
        if ident != "f":
            yield _fail(
                f"replica identity {table}",
                f"is {_REPLICA_IDENTITIES.get(ident, ident)}: "
                "updates and deletes carry no full before-image",
                f"ALTER TABLE {table} REPLICA IDENTITY FULL (as the owner)",
            )
        else:
            yield _ok(f"replica identity {table}", "FULL")
        if not seen.can_select:
            yield _fail(
                f"grants: {table}",
                "no SELECT for the CDC user",
                f"GRANT SELECT ON {table} TO {state.user} (as the owner)",
            )


def pg_control_tables(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    """scv's heartbeat and signal tables exist and the CDC user may write them."""
    for table, lacking in state.control_tables.items():
        if lacking is None:
            yield _fail(
                f"table {table}",
                "does not exist",
                f"`scv connectors prepare {spec.name}` (creates scv's control tables)",
            )
        elif lacking:
            yield _fail(
                f"grants: {table}",
                f"CDC user lacks {', '.join(lacking)}",
                f"`scv connectors prepare {spec.name}`",
            )


def pg_publication(spec: PostgresSpec, state: PostgresState) -> Iterator[Check]:
    """The publication holds exactly the spec's tables (captured, heartbeat, signal)."""
    current, wanted = state.publication, set(spec.publication_tables)
    if current is None:
        yield _fail(
            "publication",
            f"{spec.publication} does not exist",
            f"`scv connectors prepare {spec.name}` (the owner creates it)",
        )
    elif current != wanted:
        missing, extra = sorted(wanted - current), sorted(current - wanted)
        yield _fail(
            "publication",
            f"{spec.publication} differs: missing {missing or '-'}, extra {extra or '-'}",
            f"`scv connectors prepare {spec.name}` (sets its tables)",
        )
    else:
        yield _ok("publication", f"{spec.publication}: exactly the {len(wanted)} tables")


PostgresCheck = Callable[[PostgresSpec, PostgresState], Iterator[Check]]

POSTGRES_CHECKS: tuple[PostgresCheck, ...] = (
    pg_wal_level,
    pg_replication_slot,
    pg_wal_senders,
    pg_role,
    pg_captured_tables,
    pg_control_tables,
    pg_publication,
)


def run_postgres_checks(spec: PostgresSpec, state: PostgresState) -> list[Check]:
    return [check for run in POSTGRES_CHECKS for check in run(spec, state)]


# -- MariaDB ------------------------------------------------------------------------------------

#: What Debezium's binlog reader needs server-wide (MariaDB >= 10.5 names; REPLICATION CLIENT is
#: the alias of BINLOG MONITOR in older releases). SELECT it needs on the captured database only.
MARIADB_GRANTS = ("RELOAD", "SHOW DATABASES", "REPLICATION SLAVE", "BINLOG MONITOR")

#: A connector stopped over a weekend must find its binlog position again.
MIN_BINLOG_RETENTION_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class MariaDbState:
    """What the connector's user sees of the WMS server, and who else reads its binlog."""

    log_bin: bool
    binlog_format: str  # global
    session_binlog_format: str
    binlog_row_image: str
    server_id: int  # the server's own
    retention_s: int  # how long binlogs are kept; 0 when they never expire
    #: ``PRIVILEGE ON db.table`` for each privilege ``SHOW GRANTS`` lists (see parse_grants).
    granted: frozenset[str]
    #: ``schema.table`` of the tables in the captured and the control schema.
    tables: frozenset[str]
    #: ``database.server.id`` of the other deployed binlog connectors, to their names.
    other_server_ids: Mapping[int, str] = field(default_factory=dict)
    min_retention_s: int = MIN_BINLOG_RETENTION_S


def parse_grants(lines: Iterable[str]) -> frozenset[str]:
    """``SHOW GRANTS`` lines as ``PRIVILEGE ON db.table`` (upper case, no backquotes)."""
    granted: set[str] = set()
    for line in lines:
        head = str(line).split(" TO ", 1)[0]
        if not head.startswith("GRANT "):
            continue
        privileges, _, target = head[len("GRANT ") :].rpartition(" ON ")
        for privilege in privileges.split(","):
            granted.add(f"{privilege.strip().upper()} ON {target.strip().replace('`', '')}")
    return frozenset(granted)


def has_grant(granted: frozenset[str], privilege: str, *targets: str) -> bool:
    """``privilege`` (or ALL PRIVILEGES) on one of ``targets`` or on everything."""
    return any(
        f"{p} ON {t}" in granted for p in (privilege, "ALL PRIVILEGES") for t in (*targets, "*.*")
    )


def maria_log_bin(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    if state.log_bin:
        yield _ok("log_bin", "ON")
    else:
        yield _fail("log_bin", "OFF: no binlog to read", "start MariaDB with --log-bin")


def maria_binlog_format(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    """ROW for the server and for the session the connector's connection gets."""
    if state.binlog_format == "ROW" and state.session_binlog_format == "ROW":
        yield _ok("binlog_format", "ROW")
    else:
        yield _fail(
            "binlog_format",
            f"is {state.session_binlog_format} (global {state.binlog_format}): "
            "row changes are not logged",
            "SET GLOBAL binlog_format=ROW and binlog-format=ROW in the server config",
        )


def maria_binlog_row_image(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    if state.binlog_row_image == "FULL":
        yield _ok("binlog_row_image", "FULL")
    else:
        yield _fail(
            "binlog_row_image",
            f"is {state.binlog_row_image}: no full before/after images",
            "SET GLOBAL binlog_row_image=FULL and binlog-row-image=FULL in the server config",
        )


def maria_binlog_retention(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    retention, minimum = state.retention_s, state.min_retention_s
    if retention == 0:
        yield _warn(
            "binlog retention",
            "binlogs never expire: the disk can fill",
            "set binlog_expire_logs_seconds (e.g. 604800)",
        )
    elif retention < minimum:
        yield _fail(
            "binlog retention",
            f"{retention}s is shorter than {minimum}s: a connector "
            "stopped over a weekend loses data",
            f"SET GLOBAL binlog_expire_logs_seconds={minimum * 7}",
        )
    else:
        yield _ok("binlog retention", f"{retention}s ({retention / 86400:.1f} days)")


def maria_server_id(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    """The spec's server_id is neither the server's nor another connector's: two binlog
    clients with one id kick each other off the server."""
    clashes = [name for sid, name in state.other_server_ids.items() if sid == spec.server_id]
    if spec.server_id == state.server_id:
        yield _fail(
            "server_id",
            f"{spec.server_id} is the server's own id",
            "choose another server_id in the spec",
        )
    elif clashes:
        yield _fail(
            "server_id",
            f"{spec.server_id} is also used by connector {', '.join(clashes)}",
            "give every binlog client its own server_id in the spec",
        )
    else:
        yield _ok("server_id", f"{spec.server_id} (server is {state.server_id})")


def maria_grants(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    """What the binlog reader needs, on ``*.*``."""
    lacking = [
        p
        for p in MARIADB_GRANTS
        if not has_grant(state.granted, p)
        and not (p == "BINLOG MONITOR" and has_grant(state.granted, "REPLICATION CLIENT"))
    ]
    if lacking:
        yield _fail(
            "grants",
            f"CDC user lacks {', '.join(lacking)}",
            f"GRANT {', '.join(lacking)} ON *.* TO the CDC user (as root)",
        )
    else:
        yield _ok("grants", ", ".join(MARIADB_GRANTS))


def maria_select_grant(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    """SELECT on the captured database (the snapshot reads it), and not on ``*.*``."""
    name = f"grants: {spec.schema_name}"
    if not has_grant(state.granted, "SELECT", f"{spec.schema_name}.*"):
        yield _fail(
            name,
            f"CDC user cannot SELECT from {spec.schema_name} (the snapshot reads it)",
            f"GRANT SELECT ON {spec.schema_name}.* TO the CDC user (as root)",
        )
    elif has_grant(state.granted, "SELECT"):
        yield _warn(
            name,
            "CDC user may SELECT on *.*, which reads the password hashes in mysql.*",
            f"REVOKE SELECT ON *.* and GRANT SELECT ON {spec.schema_name}.* (as root)",
        )
    else:
        yield _ok(name, f"SELECT on {spec.schema_name}.* only")


def maria_signal_grant(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    """INSERT into the signal table (incremental snapshots write watermarks there)."""
    targets = (f"{spec.control_schema}.*", f"{spec.signal_collection}")
    if not has_grant(state.granted, "INSERT", *targets):
        yield _fail(
            "grants: signal table",
            f"CDC user cannot INSERT into {spec.signal_collection} "
            "(incremental snapshots write watermarks there)",
            f"GRANT INSERT ON {spec.control_schema}.* TO the CDC user (`scv stack up`)",
        )


def maria_captured_tables(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    for table in spec.qualified_tables:
        if table not in state.tables:
            yield _fail(f"table {table}", _MISSING_TABLE, _CREATE_LEGACY)


def maria_signal_table(spec: MariaDbSpec, state: MariaDbState) -> Iterator[Check]:
    if spec.signal_collection not in state.tables:
        yield _fail(
            f"table {spec.signal_collection}",
            "does not exist",
            f"`scv connectors prepare {spec.name}`",
        )


MariaDbCheck = Callable[[MariaDbSpec, MariaDbState], Iterator[Check]]

MARIADB_CHECKS: tuple[MariaDbCheck, ...] = (
    maria_log_bin,
    maria_binlog_format,
    maria_binlog_row_image,
    maria_binlog_retention,
    maria_server_id,
    maria_grants,
    maria_select_grant,
    maria_signal_grant,
    maria_captured_tables,
    maria_signal_table,
)


def run_mariadb_checks(spec: MariaDbSpec, state: MariaDbState) -> list[Check]:
    return [check for run in MARIADB_CHECKS for check in run(spec, state)]
