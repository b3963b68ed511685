"""What the verbs do, over explicit dependencies (a client, settings, specs): plan, apply,
status with data-loss risk, signals, slots. The CLI only parses, prints and exits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from connectors.client import ConfigProblem, ConnectClient, ConnectorStatus
from connectors.errors import ConnectError, ConnectServerError, NotRunning, RenderError, SourceError
from connectors.preflight import Check
from connectors.render import RenderContext, mask_secret_keys, mask_secrets, render
from connectors.settings import ConnectorsSettings
from connectors.sources import (
    Dsn,
    check_mariadb,
    check_postgres,
    maria_connect,
    pg_connect,
    prepare_mariadb,
    prepare_postgres,
    publication_tables,
)
from connectors.specs import MariaDbSpec, PostgresSpec

Spec = PostgresSpec | MariaDbSpec
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def desired(spec: Spec, settings: ConnectorsSettings) -> dict[str, str]:
    return render(
        spec,
        RenderContext(
            kafka_bootstrap=settings.kafka_bootstrap, kafka_security=settings.kafka_security
        ),
    )


# -- plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    action: Literal["create", "update", "none"]
    changes: tuple[Change, ...] = ()

    @property
    def pending(self) -> bool:
        return self.action != "none"


def diff(want: Mapping[str, str], have: Mapping[str, str] | None, name: str) -> Plan:
    """Desired vs deployed; both already masked."""
    if have is None:
        return Plan(name, "create", tuple(Change(k, None, want[k]) for k in sorted(want)))
    changes = tuple(
        Change(k, have.get(k), want.get(k))
        for k in sorted(set(want) | set(have))
        if want.get(k) != have.get(k)
    )
    return Plan(name, "update" if changes else "none", changes)


def plan(spec: Spec, client: ConnectClient, settings: ConnectorsSettings) -> Plan:
    secrets = settings.secret_values()
    deployed = client.get_config(spec.name)
    # Known secret values first (they become their ${env:} reference and compare equal), then
    # any other value under a secret-like key: a literal set by hand is never printed.
    have = mask_secret_keys(mask_secrets(deployed, secrets)) if deployed is not None else None
    return diff(mask_secret_keys(desired(spec, settings)), have, spec.name)


# -- prepare / validate -------------------------------------------------------------------------


def _secret(settings: ConnectorsSettings, name: str) -> str:
    value = settings.secrets.get(name)
    if value is None:
        raise SourceError(f"secret {name} is not set in this shell (the worker has it)")
    return value.get_secret_value()


def _owner(spec: Spec, settings: ConnectorsSettings) -> Dsn:
    dsn = settings.owner_dsns.get(spec.name)
    if dsn is None:
        raise SourceError(f"{spec.name}: no owner DSN (SCV_CONNECTORS_OWNER_DSNS) to prepare with")
    return Dsn.parse(dsn.get_secret_value())


def prepare(spec: Spec, settings: ConnectorsSettings) -> list[str]:
    """Owner-side set-up (control tables, grants, publication), the schema-history topic and
    the retention of the raw topics that exist already."""
    from connectors.kafka import ensure_history_topic, ensure_raw_retention

    if isinstance(spec, PostgresSpec):
        done = prepare_postgres(spec, _owner(spec, settings))
    else:
        done = prepare_mariadb(spec, _owner(spec, settings))
        if ensure_history_topic(settings.kafka_bootstrap, spec.schema_history_topic):
            done.append(f"created topic {spec.schema_history_topic} (retention.ms=-1, 1 partition)")
    done.extend(ensure_raw_retention(settings.kafka_bootstrap, spec))
    return done


@contextmanager
def cdc_connection(spec: Spec, settings: ConnectorsSettings) -> Iterator[Any]:
    db = spec.database
    password = _secret(settings, db.password_env)
    if isinstance(spec, PostgresSpec):
        with pg_connect(db.host, db.port, db.user, password, db.name) as conn:
            yield conn
    else:
        with maria_connect(db.host, db.port, db.user, password) as conn:
            yield conn


def source_checks(
    spec: Spec, settings: ConnectorsSettings, client: ConnectClient | None = None
) -> list[Check]:
    with cdc_connection(spec, settings) as conn:
        if isinstance(spec, PostgresSpec):
            return check_postgres(spec, conn)
        others = _other_server_ids(spec, client) if client else {}
        checks = check_mariadb(spec, conn, other_server_ids=others)
    from connectors.kafka import check_history_topic

    checks.append(check_history_topic(settings.kafka_bootstrap, spec))
    return checks


def _other_server_ids(spec: MariaDbSpec, client: ConnectClient) -> dict[int, str]:
    ids: dict[int, str] = {}
    for name in client.connectors():
        if name == spec.name:
            continue
        config = client.get_config(name) or {}
        sid = config.get("database.server.id")
        if sid and sid.isdigit():
            ids[int(sid)] = name
    return ids


def connect_checks(spec: Spec, client: ConnectClient, settings: ConnectorsSettings) -> list[Check]:
    """Connect's validate endpoint, as checks (plugin loaded, every key accepted)."""
    if spec.connector_class not in client.plugins():
        return [
            Check(
                "plugin",
                "fail",
                f"{spec.connector_class} is not loaded by the Connect worker",
                "add the Debezium plugin to the worker's plugin.path and restart it",
            )
        ]
    config = desired(spec, settings)
    problems = client.validate(spec.connector_class, {"name": spec.name, **config})
    if not problems:
        return [Check("connect validate", "ok", f"{len(config)} keys accepted")]
    secrets = settings.secret_values()
    return [_problem_check(p, secrets) for p in problems]


def _problem_check(problem: ConfigProblem, secrets: Mapping[str, str]) -> Check:
    text = mask_secrets({"e": "; ".join(problem.errors)}, secrets)["e"]
    return Check(f"config {problem.key}", "fail", text, "fix the spec or the source (see message)")


# -- apply / wait -------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    name: str
    plan: Plan
    prepared: list[str] = field(default_factory=list)
    status: ConnectorStatus | None = None


def apply(
    spec: Spec,
    client: ConnectClient,
    settings: ConnectorsSettings,
    progress: Progress = _quiet,
    *,
    do_prepare: bool = True,
) -> ApplyResult:
    """Prepare the source, create or update the connector if it differs, wait for RUNNING."""
    prepared = prepare(spec, settings) if do_prepare else []
    for line in prepared:
        progress(f"{spec.name}: {line}")
    the_plan = plan(spec, client, settings)
    if the_plan.pending:
        progress(f"{spec.name}: {the_plan.action} ({len(the_plan.changes)} keys)")
        config = desired(spec, settings)
        try:
            client.put_config(spec.name, config)
        except ConnectServerError as exc:
            # Connect 4.x answers a config with validation errors by a 500 (an NPE while it
            # formats them); ask the validate endpoint for the real messages.
            failing = [c for c in connect_checks(spec, client, settings) if c.level == "fail"]
            if failing:
                raise RenderError(
                    f"{spec.name}: Connect rejected the config: "
                    + " | ".join(c.line for c in failing)
                ) from exc
            raise
    else:
        progress(f"{spec.name}: no change")
    status = wait_running(
        spec.name,
        client,
        settings.wait_timeout,
        progress,
        settle=the_plan.pending,
        failure_grace=AFTER_ACTION_GRACE_S if the_plan.pending else 0.0,
    )
    return ApplyResult(spec.name, the_plan, prepared, status)


#: How long a FAILED state read right after a config change, restart or resume is not taken as
#: the answer (it can be the state from before; see ``wait_running``).
AFTER_ACTION_GRACE_S = 5.0


def wait_running(
    name: str,
    client: ConnectClient,
    timeout: float,
    progress: Progress = _quiet,
    *,
    settle: bool = True,
    failure_grace: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ConnectorStatus:
    """Until the connector and every task are RUNNING (twice in a row if ``settle``).

    A FAILED state read within ``failure_grace`` seconds may be the state from before the
    action that preceded the wait: Connect applies a new config, a restart or a resume
    asynchronously, and a connector that had failed reports FAILED until its new instance
    reports. Such a failure is final once it is still there after the grace.
    """
    started = clock()
    deadline = started + timeout
    streak, needed = 0, 2 if settle else 1
    last: ConnectorStatus | None = None
    while True:
        try:
            last = client.status(name)
        except ConnectError as exc:
            if exc.status != 404 or clock() > deadline:
                raise
            last = None
        if last is not None:
            trace = last.failed_trace
            if trace is not None and clock() - started < failure_grace:
                streak = 0
                progress(f"{name}: FAILED, possibly from before the change; looking again")
            elif trace is not None:
                raise NotRunning(
                    f"{name}: {'connector' if last.state == 'FAILED' else 'task'} FAILED: "
                    f"{trace.strip().splitlines()[0]}",
                ) from _Trace(trace)
            if last.running:
                streak += 1
                if streak >= needed:
                    return last
            else:
                streak = 0
            progress(f"{name}: {last.state}, tasks {[t.state for t in last.tasks]}")
        if clock() > deadline:
            state = last.state if last else "not found"
            raise NotRunning(f"{name}: not RUNNING after {timeout:.0f}s (state {state})")
        sleep(1.0)


class _Trace(Exception):
    """Carries a Java trace as the cause of NotRunning, for ``--debug`` and the CLI."""


def trace_of(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return str(cause) if isinstance(cause, _Trace) else None


# -- status with data-loss risk -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Risk:
    level: Literal["ok", "warn", "critical", "unknown"]
    summary: str
    facts: Mapping[str, Any]


def risk(spec: Spec, client: ConnectClient, settings: ConnectorsSettings) -> Risk:
    try:
        with cdc_connection(spec, settings) as conn:
            if isinstance(spec, PostgresSpec):
                return _pg_risk(spec, conn, settings)
            return _maria_risk(spec, conn, client, settings)
    except SourceError as exc:
        return Risk("unknown", str(exc), {})


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _pg_risk(spec: PostgresSpec, conn: Any, settings: ConnectorsSettings) -> Risk:
    row = conn.execute(
        "SELECT active, wal_status, safe_wal_size,"
        " pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn),"
        " pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)"
        " FROM pg_replication_slots WHERE slot_name = %s",
        (spec.slot,),
    ).fetchone()
    if row is None:
        return Risk("unknown", f"slot {spec.slot} does not exist (not deployed yet?)", {})
    active, wal_status, safe, retained, lag = row
    facts = {
        "slot": spec.slot,
        "active": active,
        "wal_status": wal_status,
        "retained_wal_bytes": int(retained or 0),
        "unconfirmed_bytes": int(lag or 0),
        "safe_wal_size_bytes": int(safe) if safe is not None else None,
    }
    summary = (
        f"slot {spec.slot} {'active' if active else 'INACTIVE'}, wal_status {wal_status}, "
        f"retains {_bytes(facts['retained_wal_bytes'])}"
        + (f", {_bytes(safe)} until it is invalidated" if safe is not None else "")
    )
    published = publication_tables(conn, spec.publication) or set()
    unpublished = sorted(set(spec.qualified_tables) - published)
    if unpublished:
        facts["unpublished_tables"] = unpublished
        return Risk(
            "critical",
            f"{len(unpublished)} captured table(s) are not in publication {spec.publication} "
            f"(dropped and recreated?): their changes are NOT captured; run `scv connectors "
            f"prepare {spec.name}` then `snapshot` them",
            facts,
        )
    if wal_status == "lost":
        return Risk("critical", summary + ": WAL was removed, changes are LOST", facts)
    if wal_status == "unreserved" or (safe is not None and safe < settings.wal_warn_bytes):
        return Risk("critical", summary + ": close to max_slot_wal_keep_size", facts)
    if not active or facts["retained_wal_bytes"] > settings.wal_warn_bytes:
        return Risk("warn", summary, facts)
    return Risk("ok", summary, facts)


def _maria_risk(
    spec: MariaDbSpec, conn: Any, client: ConnectClient, settings: ConnectorsSettings
) -> Risk:
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        files = [str(r[0]) for r in cur.fetchall()]
        cur.execute("SELECT @@GLOBAL.binlog_expire_logs_seconds")
        expire = int(cur.fetchone()[0])
    try:
        offsets = client.offsets(spec.name)
    except ConnectError:
        offsets = []
    offset = next((o.get("offset") or {} for o in offsets), {})
    position = offset.get("file")
    facts: dict[str, Any] = {
        "oldest_binlog": files[0] if files else None,
        "newest_binlog": files[-1] if files else None,
        "retention_s": expire,
        "connector_file": position,
        "connector_pos": offset.get("pos"),
    }
    if not position:
        return Risk("unknown", "no committed binlog position yet (snapshot running?)", facts)
    if position not in files:
        return Risk(
            "critical",
            f"connector position {position} was PURGED (oldest {files[0] if files else '-'}): "
            "changes are lost; re-snapshot",
            facts,
        )
    ts = offset.get("ts_sec")
    if expire and isinstance(ts, int):
        headroom = ts + expire - int(time.time())
        facts["headroom_s"] = headroom
        summary = (
            f"at {position}:{offset.get('pos')}, retention {expire / 86400:.1f}d, "
            f"head-room >= {headroom / 3600:.1f}h"
        )
        if headroom < settings.binlog_headroom_warn_s:
            return Risk("warn", summary, facts)
        return Risk("ok", summary, facts)
    return Risk("ok", f"at {position}:{offset.get('pos')}, binlogs never expire", facts)


# -- signals and slots --------------------------------------------------------------------------


def send_snapshot_signal(
    spec: Spec, settings: ConnectorsSettings, table: str, filter_sql: str | None
) -> str:
    """Insert an ``execute-snapshot`` (incremental) signal; returns the signal id."""
    if table not in spec.tables:
        raise SourceError(
            f"{spec.name}: {table} is not a captured table ({', '.join(spec.tables)})"
        )
    collection = f"{spec.schema_name}.{table}"
    data: dict[str, Any] = {"data-collections": [collection], "type": "incremental"}
    if filter_sql:
        data["additional-conditions"] = [{"data-collection": collection, "filter": filter_sql}]
    signal_id = f"scv-{uuid.uuid4()}"
    payload = orjson.dumps(data).decode()
    owner = _owner(spec, settings)
    if isinstance(spec, PostgresSpec):
        with pg_connect(owner.host, owner.port, owner.user, owner.password, owner.database) as pg:
            pg.execute(
                f'INSERT INTO "{spec.control_schema}"."{spec.signal_table}" (id, type, data)'
                " VALUES (%s, 'execute-snapshot', %s)",
                (signal_id, payload),
            )
    else:
        with (
            maria_connect(owner.host, owner.port, owner.user, owner.password) as my,
            my.cursor() as cur,
        ):
            cur.execute(
                f"INSERT INTO `{spec.control_schema}`.`{spec.signal_table}` (id, type, data)"
                " VALUES (%s, 'execute-snapshot', %s)",
                (signal_id, payload),
            )
    return signal_id


def drop_slot(spec: PostgresSpec, settings: ConnectorsSettings, timeout: float = 30.0) -> bool:
    """Drop the connector's slot once its task has let go; False if there was none."""
    with cdc_connection(spec, settings) as conn:
        deadline = time.monotonic() + timeout
        while True:
            row = conn.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (spec.slot,)
            ).fetchone()
            if row is None:
                return False
            if not row[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (spec.slot,))
                return True
            if time.monotonic() > deadline:
                raise SourceError(f"slot {spec.slot} is still in use after {timeout:.0f}s")
            time.sleep(0.5)
