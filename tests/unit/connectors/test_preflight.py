"""The pre-flight checks, one at a time, on the state a healthy source shows with one thing
changed; then the readers and ``check_*`` on a fake connection with canned rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from connectors import preflight as pf
from connectors.preflight import Check, MariaDbState, PgSlot, PgTable, PostgresState
from connectors.sources import check_mariadb, check_postgres, read_mariadb, read_postgres
from connectors.specs import MariaDbSpec, PostgresSpec, load_specs

S = TypeVar("S", PostgresSpec, MariaDbSpec)


def _spec(name: str, kind: type[S]) -> S:
    spec = load_specs()[name]
    assert isinstance(spec, kind)
    return spec


ERP = _spec("erp", PostgresSpec)
WMS = _spec("wms", MariaDbSpec)
HEARTBEAT = "scv_control.dbz_heartbeat"
SIGNAL = "scv_control.dbz_signal"

PG = PostgresState(
    wal_level="logical",
    slot=PgSlot("pgoutput", "erp", True, "reserved"),
    max_slots=10,
    used_slots=3,
    max_senders=10,
    used_senders=2,
    replication=True,
    login=True,
    user="scv_cdc",
    tables={t: PgTable("f", True) for t in ERP.qualified_tables},
    control_tables={HEARTBEAT: (), SIGNAL: ()},
    publication=frozenset(ERP.publication_tables),
)

GRANTS = "GRANT RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `c`@`%`"
SELECT_GRANT = "GRANT SELECT ON `wmwhse1`.* TO `c`@`%`"
SIGNAL_GRANT = "GRANT SELECT, INSERT ON `scv_control`.* TO `c`@`%`"
MARIA = MariaDbState(
    log_bin=True,
    binlog_format="ROW",
    session_binlog_format="ROW",
    binlog_row_image="FULL",
    server_id=184054,
    retention_s=7 * 86400,
    granted=pf.parse_grants([GRANTS, SELECT_GRANT, SIGNAL_GRANT]),
    tables=frozenset({*WMS.qualified_tables, SIGNAL}),
)


def pg_lines(check: pf.PostgresCheck, **changes: Any) -> list[str]:
    return [c.line for c in check(ERP, dataclasses.replace(PG, **changes))]


def maria_lines(check: pf.MariaDbCheck, **changes: Any) -> list[str]:
    return [c.line for c in check(WMS, dataclasses.replace(MARIA, **changes))]


def levels(checks: list[Check]) -> set[str]:
    return {c.level for c in checks}


# -- PostgreSQL checks --------------------------------------------------------------------------


def test_a_healthy_erp_passes_every_check_in_order() -> None:
    checks = pf.run_postgres_checks(ERP, PG)
    assert levels(checks) == {"ok"}
    assert [c.name for c in checks] == [
        "wal_level",
        "replication slot",
        "grants: role",
        *(f"replica identity {t}" for t in ERP.qualified_tables),
        "publication",
    ]


def test_wal_level() -> None:
    assert pg_lines(pf.pg_wal_level) == ["wal_level: logical"]
    assert pg_lines(pf.pg_wal_level, wal_level="replica") == [
        "wal_level: is replica -> fix: set wal_level=logical and restart PostgreSQL"
    ]


@pytest.mark.parametrize(
    ("slot", "line"),
    [
        (
            PgSlot("pgoutput", "erp", False, "extended"),
            "replication slot: scv_erp exists (pgoutput, extended)",
        ),
        (
            PgSlot("test_decoding", "erp", True, "reserved"),
            "replication slot: scv_erp exists with plugin test_decoding on database erp"
            " -> fix: `scv connectors delete erp --drop-slot` (Debezium recreates it)",
        ),
        (
            PgSlot("pgoutput", "other", True, "reserved"),
            "replication slot: scv_erp exists with plugin pgoutput on database other"
            " -> fix: `scv connectors delete erp --drop-slot` (Debezium recreates it)",
        ),
        (
            PgSlot("pgoutput", "erp", False, "lost"),
            "replication slot: scv_erp lost WAL it needed (wal_status=lost): changes were lost"
            " -> fix: `scv connectors delete erp --drop-slot`, then `apply` (re-snapshot)",
        ),
    ],
)
def test_replication_slot_when_it_exists(slot: PgSlot, line: str) -> None:
    assert pg_lines(pf.pg_replication_slot, slot=slot) == [line]


def test_replication_slots_when_the_slot_is_still_to_be_created() -> None:
    assert pg_lines(pf.pg_replication_slot, slot=None) == ["replication slots: 7 of 10 free"]
    assert pg_lines(pf.pg_replication_slot, slot=None, used_slots=10) == [
        "replication slots: all 10 in use -> fix: drop an unused slot "
        "(pg_drop_replication_slot) or raise max_replication_slots"
    ]


def test_wal_senders_only_matter_without_an_active_slot() -> None:
    assert pg_lines(pf.pg_wal_senders, used_senders=10) == []
    assert pg_lines(pf.pg_wal_senders, slot=None) == ["wal senders: 8 of 10 free"]
    inactive = PgSlot("pgoutput", "erp", False, "reserved")
    assert pg_lines(pf.pg_wal_senders, slot=inactive, used_senders=10) == [
        "wal senders: all 10 in use -> fix: stop an idle replication client "
        "or raise max_wal_senders"
    ]


def test_role_needs_login_and_replication() -> None:
    assert pg_lines(pf.pg_role) == ["grants: role: scv_cdc has LOGIN REPLICATION"]
    fix = " -> fix: ALTER ROLE scv_cdc LOGIN REPLICATION (as a superuser)"
    assert pg_lines(pf.pg_role, replication=False) == [
        "grants: role: scv_cdc lacks REPLICATION" + fix
    ]
    assert pg_lines(pf.pg_role, login=False) == ["grants: role: scv_cdc lacks LOGIN" + fix]


def test_captured_tables() -> None:
    first, second, third, fourth = ERP.qualified_tables[:4]
    tables = dict(PG.tables)
    tables[first] = None
    tables[second] = PgTable("d", False)
    tables[third] = PgTable("i", True)
    tables[fourth] = PgTable("?", True)
    lines = pg_lines(pf.pg_captured_tables, user="bob", tables=tables)
    no_image = "updates and deletes carry no full before-image"
    assert lines[:5] == [
        f"table {first}: does not exist (or is not visible to the CDC user) -> fix: "
        "create the legacy schema (`scv sim init`) or fix the spec's tables",
        f"replica identity {second}: is DEFAULT: {no_image} -> fix: "
        f"ALTER TABLE {second} REPLICA IDENTITY FULL (as the owner)",
        f"grants: {second}: no SELECT for the CDC user -> fix: "
        f"GRANT SELECT ON {second} TO bob (as the owner)",
        f"replica identity {third}: is USING INDEX: {no_image} -> fix: "
        f"ALTER TABLE {third} REPLICA IDENTITY FULL (as the owner)",
        f"replica identity {fourth}: is ?: {no_image} -> fix: "
        f"ALTER TABLE {fourth} REPLICA IDENTITY FULL (as the owner)",
    ]
    assert lines[5:] == [f"replica identity {t}: FULL" for t in ERP.qualified_tables[4:]]


def test_control_tables_exist_and_are_writable() -> None:
    assert pg_lines(pf.pg_control_tables) == []
    lines = pg_lines(pf.pg_control_tables, control_tables={HEARTBEAT: None, SIGNAL: ("INSERT",)})
    assert lines == [
        f"table {HEARTBEAT}: does not exist -> fix: `scv connectors prepare erp` "
        "(creates scv's control tables)",
        f"grants: {SIGNAL}: CDC user lacks INSERT -> fix: `scv connectors prepare erp`",
    ]
    lines = pg_lines(pf.pg_control_tables, control_tables={HEARTBEAT: ("INSERT", "UPDATE")})
    assert lines == [
        f"grants: {HEARTBEAT}: CDC user lacks INSERT, UPDATE -> fix: `scv connectors prepare erp`"
    ]


def test_publication_holds_exactly_the_spec_tables() -> None:
    assert pg_lines(pf.pg_publication) == ["publication: scv_erp: exactly the 9 tables"]
    assert pg_lines(pf.pg_publication, publication=None) == [
        "publication: scv_erp does not exist -> fix: `scv connectors prepare erp` "
        "(the owner creates it)"
    ]
    wanted = ERP.publication_tables
    assert pg_lines(pf.pg_publication, publication=frozenset({*wanted[1:], "x.y"})) == [
        f"publication: scv_erp differs: missing ['{wanted[0]}'], extra ['x.y'] -> fix: "
        "`scv connectors prepare erp` (sets its tables)"
    ]
    assert pg_lines(pf.pg_publication, publication=frozenset({"*ALL TABLES*", *wanted})) == [
        "publication: scv_erp differs: missing -, extra ['*ALL TABLES*'] -> fix: "
        "`scv connectors prepare erp` (sets its tables)"
    ]


# -- MariaDB checks -----------------------------------------------------------------------------


def test_a_healthy_wms_passes_every_check_in_order() -> None:
    checks = pf.run_mariadb_checks(WMS, MARIA)
    assert levels(checks) == {"ok"}
    assert [c.line for c in checks] == [
        "log_bin: ON",
        "binlog_format: ROW",
        "binlog_row_image: FULL",
        "binlog retention: 604800s (7.0 days)",
        "server_id: 5401 (server is 184054)",
        "grants: RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR",
        "grants: wmwhse1: SELECT on wmwhse1.* only",
    ]


def test_log_bin() -> None:
    assert maria_lines(pf.maria_log_bin, log_bin=False) == [
        "log_bin: OFF: no binlog to read -> fix: start MariaDB with --log-bin"
    ]


def test_binlog_format_of_the_server_and_of_the_session() -> None:
    fix = " -> fix: SET GLOBAL binlog_format=ROW and binlog-format=ROW in the server config"
    assert maria_lines(pf.maria_binlog_format, session_binlog_format="STATEMENT") == [
        "binlog_format: is STATEMENT (global ROW): row changes are not logged" + fix
    ]
    assert maria_lines(pf.maria_binlog_format, binlog_format="MIXED") == [
        "binlog_format: is ROW (global MIXED): row changes are not logged" + fix
    ]


def test_binlog_row_image() -> None:
    assert maria_lines(pf.maria_binlog_row_image, binlog_row_image="MINIMAL") == [
        "binlog_row_image: is MINIMAL: no full before/after images -> fix: "
        "SET GLOBAL binlog_row_image=FULL and binlog-row-image=FULL in the server config"
    ]


def test_binlog_retention() -> None:
    assert maria_lines(pf.maria_binlog_retention, retention_s=0) == [
        "binlog retention: binlogs never expire: the disk can fill -> fix: "
        "set binlog_expire_logs_seconds (e.g. 604800)"
    ]
    assert maria_lines(pf.maria_binlog_retention, retention_s=3600) == [
        "binlog retention: 3600s is shorter than 86400s: a connector stopped over a weekend "
        "loses data -> fix: SET GLOBAL binlog_expire_logs_seconds=604800"
    ]
    assert maria_lines(pf.maria_binlog_retention, retention_s=3600, min_retention_s=60) == [
        "binlog retention: 3600s (0.0 days)"
    ]


def test_server_id_is_neither_the_server_s_nor_another_connector_s() -> None:
    assert maria_lines(pf.maria_server_id, server_id=5401) == [
        "server_id: 5401 is the server's own id -> fix: choose another server_id in the spec"
    ]
    assert maria_lines(pf.maria_server_id, other_server_ids={5401: "wms2", 7: "other"}) == [
        "server_id: 5401 is also used by connector wms2 -> fix: "
        "give every binlog client its own server_id in the spec"
    ]
    assert maria_lines(pf.maria_server_id, other_server_ids={7: "other"}) == [
        "server_id: 5401 (server is 184054)"
    ]


def test_grants_of_the_binlog_reader() -> None:
    granted = pf.parse_grants(["GRANT SELECT, REPLICATION CLIENT ON *.* TO `c`@`%`"])
    assert maria_lines(pf.maria_grants, granted=granted) == [
        "grants: CDC user lacks RELOAD, SHOW DATABASES, REPLICATION SLAVE -> fix: "
        "GRANT RELOAD, SHOW DATABASES, REPLICATION SLAVE ON *.* TO the CDC user (as root)"
    ]
    everything = pf.parse_grants(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"])
    assert maria_lines(pf.maria_grants, granted=everything) == [
        "grants: RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR"
    ]


def test_select_on_the_captured_database_and_not_on_everything() -> None:
    assert maria_lines(pf.maria_select_grant, granted=pf.parse_grants([GRANTS])) == [
        "grants: wmwhse1: CDC user cannot SELECT from wmwhse1 (the snapshot reads it) -> fix: "
        "GRANT SELECT ON wmwhse1.* TO the CDC user (as root)"
    ]
    server_wide = pf.parse_grants([GRANTS.replace("GRANT ", "GRANT SELECT, ")])
    assert maria_lines(pf.maria_select_grant, granted=server_wide) == [
        "grants: wmwhse1: CDC user may SELECT on *.*, which reads the password hashes in "
        "mysql.* -> fix: REVOKE SELECT ON *.* and GRANT SELECT ON wmwhse1.* (as root)"
    ]


def test_signal_grant_on_the_control_database_or_the_table() -> None:
    assert maria_lines(pf.maria_signal_grant) == []
    table = pf.parse_grants([GRANTS, "GRANT INSERT ON `scv_control`.`dbz_signal` TO `c`@`%`"])
    assert maria_lines(pf.maria_signal_grant, granted=table) == []
    assert maria_lines(pf.maria_signal_grant, granted=pf.parse_grants([GRANTS])) == [
        f"grants: signal table: CDC user cannot INSERT into {SIGNAL} (incremental snapshots "
        "write watermarks there) -> fix: GRANT INSERT ON scv_control.* TO the CDC user "
        "(`scv stack up`)"
    ]


def test_captured_and_signal_tables_exist() -> None:
    assert maria_lines(pf.maria_captured_tables) == []
    assert maria_lines(pf.maria_signal_table) == []
    assert maria_lines(pf.maria_captured_tables, tables=frozenset({SIGNAL})) == [
        f"table {t}: does not exist (or is not visible to the CDC user) -> fix: "
        "create the legacy schema (`scv sim init`) or fix the spec's tables"
        for t in WMS.qualified_tables
    ]
    assert maria_lines(pf.maria_signal_table, tables=frozenset()) == [
        f"table {SIGNAL}: does not exist -> fix: `scv connectors prepare wms`"
    ]


def test_parse_grants_reads_show_grants_lines() -> None:
    granted = pf.parse_grants(
        [
            "GRANT select, Reload ON *.* TO `scv_cdc`@`%` IDENTIFIED BY PASSWORD '*AB'",
            "GRANT INSERT ON `scv_control`.* TO `scv_cdc`@`%`",
            "SET DEFAULT ROLE none FOR `scv_cdc`@`%`",
        ]
    )
    assert granted == {"SELECT ON *.*", "RELOAD ON *.*", "INSERT ON scv_control.*"}
    assert pf.has_grant(granted, "INSERT", "scv_control.*")
    assert not pf.has_grant(granted, "INSERT", "other.*")


# -- the readers and check_* over a fake connection (the boundary) -------------------------------

Rows = Sequence[tuple[Any, ...]]
Answer = Rows | Callable[..., Rows]


def _answer(answers: dict[str, Answer], query: str, args: Sequence[Any]) -> Rows:
    """The rows of the one canned query whose key is part of ``query``."""
    (rows,) = [rows for key, rows in answers.items() if key in query]
    return rows(*args) if callable(rows) else rows


class FakeCursor:
    def __init__(self, rows: Rows = ()) -> None:
        self.rows = list(rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class FakePg:
    """A psycopg connection (autocommit) with canned rows."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.queries: list[tuple[str, Sequence[Any] | None]] = []

    def execute(self, query: str, params: Sequence[Any] | None = None) -> FakeCursor:
        self.queries.append((query, params))
        return FakeCursor(_answer(self.answers, query, params or ()))


class FakeMariaCursor(FakeCursor):
    """A pymysql cursor with canned rows (and its connection: ``cursor()`` is itself)."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        super().__init__()
        self.answers = answers

    def cursor(self) -> FakeMariaCursor:
        return self

    def __enter__(self) -> FakeMariaCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, query: str, args: tuple[Any, ...] | None = None) -> int:
        self.rows = list(_answer(self.answers, query, args or ()))
        return len(self.rows)


def erp_rows(**changes: Answer) -> dict[str, Answer]:
    rows: dict[str, Answer] = {
        "SHOW wal_level": [("logical",)],
        "WHERE slot_name = %s": [("pgoutput", "erp", True, "reserved")],
        "'max_replication_slots'": [(10, 3)],
        "'max_wal_senders'": [(10, 2)],
        "FROM pg_roles": [(True, True, "scv_cdc")],
        "c.relreplident": lambda table: [("f", True)],
        "SELECT to_regclass(%s)": lambda table: [(table,)],
        "SELECT has_table_privilege(%s, %s)": lambda table, privilege: [(True,)],
        "FROM pg_publication WHERE": [(False,)],
        "FROM pg_publication_tables": [(t,) for t in ERP.publication_tables],
    }
    return {**rows, **changes}


def test_read_postgres_reads_the_state_of_a_healthy_source() -> None:
    conn = FakePg(erp_rows())
    assert read_postgres(ERP, conn) == PG
    # one query per captured table, the control tables' privileges asked one at a time
    asked = [args for query, args in conn.queries if "has_table_privilege(%s, %s)" in query]
    assert asked == [(HEARTBEAT, "INSERT"), (HEARTBEAT, "UPDATE"), (SIGNAL, "INSERT")]


def test_read_postgres_reads_missing_tables_lacking_grants_and_all_tables() -> None:
    first = ERP.qualified_tables[0]
    changes: dict[str, Answer] = {
        "WHERE slot_name = %s": [],
        "c.relreplident": lambda t: [] if t == first else [("d", False)],
        "SELECT to_regclass(%s)": lambda t: [(None,)] if t == SIGNAL else [(t,)],
        "SELECT has_table_privilege(%s, %s)": lambda t, p: [(p == "INSERT",)],
        "FROM pg_publication WHERE": [(True,)],
    }
    conn = FakePg(erp_rows(**changes))
    state = read_postgres(ERP, conn)
    assert state.slot is None
    assert state.tables[first] is None
    assert state.tables[ERP.qualified_tables[1]] == PgTable("d", False)
    assert state.control_tables == {HEARTBEAT: ("UPDATE",), SIGNAL: None}
    assert state.publication == frozenset({"*ALL TABLES*"})
    assert not any("pg_publication_tables" in q for q, _ in conn.queries)


def test_check_postgres_on_a_source_without_publication() -> None:
    conn = FakePg(erp_rows(**{"SHOW wal_level": [("replica",)], "FROM pg_publication WHERE": []}))
    failed = [c.name for c in check_postgres(ERP, conn) if c.level == "fail"]
    assert failed == ["wal_level", "publication"]


def wms_rows(**changes: Answer) -> dict[str, Answer]:
    rows: dict[str, Answer] = {
        "@@GLOBAL.log_bin": [(1, "ROW", "ROW", "FULL", 184054, 604800, 0)],
        "SHOW GRANTS FOR CURRENT_USER()": [(GRANTS,), (SELECT_GRANT,), (SIGNAL_GRANT,)],
        "information_schema.tables": [tuple(t.split(".")) for t in sorted(MARIA.tables)],
    }
    return {**rows, **changes}


def test_read_mariadb_reads_the_state_of_a_healthy_source() -> None:
    assert read_mariadb(WMS, FakeMariaCursor(wms_rows())) == MARIA


@pytest.mark.parametrize(
    ("expire_s", "expire_days", "retention"),
    [(3600, 0, 3600), (0, "1.500000", 129600), ("0", 0, 0)],
)
def test_read_mariadb_retention_falls_back_to_expire_logs_days(
    expire_s: object, expire_days: object, retention: int
) -> None:
    variables = [("1", "ROW", "ROW", "FULL", "184054", expire_s, expire_days)]
    state = read_mariadb(WMS, FakeMariaCursor(wms_rows(**{"@@GLOBAL.log_bin": variables})))
    assert (state.log_bin, state.server_id, state.retention_s) == (True, 184054, retention)


def test_check_mariadb_passes_the_caller_s_server_ids_and_retention() -> None:
    conn = FakeMariaCursor(wms_rows())
    checks = check_mariadb(WMS, conn, other_server_ids={5401: "wms2"}, min_retention_s=10**6)  # type: ignore[arg-type]
    assert [c.name for c in checks if c.level == "fail"] == ["binlog retention", "server_id"]
