"""Least privilege on the real stack: what each database user and the Connect worker can reach.

The stack was started by the test command; these tests read its processes and log in as its
users, and change nothing but a MariaDB bootstrap re-run (idempotent, as at every ``up``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from stack import launcher
from stack.components.connect import ConnectWorker
from stack.components.mariadb import MariaDB
from stack.credentials import (
    CONNECT_SECRETS,
    ERP_CDC_USER,
    ERP_DATABASE,
    ERP_OWNER,
    ERP_READER,
    SCV_DATABASE,
    SECRET_NAMES,
    STORE_USER,
    WMS_CDC_USER,
    WMS_CONTROL_DATABASE,
    WMS_DATABASE,
    Credentials,
)
from stack.settings import StackSettings

_PASSWORD = {
    ERP_OWNER: "SCV_ERP_OWNER_PASSWORD",
    ERP_CDC_USER: "SCV_ERP_CDC_PASSWORD",
    ERP_READER: "SCV_ERP_READER_PASSWORD",
    STORE_USER: "SCV_STORE_PASSWORD",
}


def _component(settings: StackSettings, kind: type) -> object:
    return next(c for c in launcher.components(settings) if isinstance(c, kind))


def _pg(
    settings: StackSettings, credentials: Credentials, user: str, database: str
) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=settings.host,
        port=settings.postgres_port,
        user=user,
        password=credentials[_PASSWORD[user]],
        dbname=database,
        autocommit=True,
        connect_timeout=5,
    )


def test_the_connect_worker_holds_only_the_secrets_connectors_reference(
    stack_settings: StackSettings, credentials: Credentials
) -> None:
    worker = _component(stack_settings, ConnectWorker)
    assert isinstance(worker, ConnectWorker)
    proc = worker.pid_file.running()
    assert proc is not None
    raw = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
    environ = dict(item.decode().partition("=")[::2] for item in raw if item)

    assert {name for name in environ if name in SECRET_NAMES} == set(CONNECT_SECRETS)
    held = "\0".join(environ.values())
    for name in set(SECRET_NAMES) - set(CONNECT_SECRETS):
        assert credentials[name] not in held, name
    properties = (stack_settings.conf_dir / "connect.properties").read_text()
    assert "config.providers.env.param.allowlist.pattern=^(" in properties


def test_postgres_users_reach_only_their_database(
    stack_settings: StackSettings, credentials: Credentials, legacy_schemas: None
) -> None:
    for user, database in (
        (ERP_OWNER, SCV_DATABASE),
        (ERP_CDC_USER, SCV_DATABASE),
        (ERP_READER, SCV_DATABASE),
        (STORE_USER, ERP_DATABASE),
    ):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _pg(stack_settings, credentials, user, database).close()
    with _pg(stack_settings, credentials, STORE_USER, SCV_DATABASE) as store:
        assert store.execute("SELECT current_user").fetchone() == (STORE_USER,)


def test_the_erp_reader_reads_and_cannot_write(
    stack_settings: StackSettings, credentials: Credentials, legacy_schemas: None
) -> None:
    with _pg(stack_settings, credentials, ERP_READER, ERP_DATABASE) as reader:
        count = reader.execute("SELECT count(*) FROM proddta.f0006").fetchone()
        assert count is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("DELETE FROM proddta.f0006 WHERE false")


def _wms_cdc(settings: StackSettings, credentials: Credentials) -> pymysql.Connection[Any]:
    return pymysql.connect(
        host=settings.host,
        port=settings.mariadb_port,
        user=WMS_CDC_USER,
        password=credentials["SCV_WMS_CDC_PASSWORD"],
        autocommit=True,
    )


def test_the_mariadb_cdc_user_reads_the_wms_but_not_the_password_hashes(
    stack_settings: StackSettings, credentials: Credentials, legacy_schemas: None
) -> None:
    conn = _wms_cdc(stack_settings, credentials)
    with conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        grants = [str(row[0]).replace("`", "") for row in cur.fetchall()]
        server_wide = [g for g in grants if " ON *.* " in g]
        assert server_wide
        assert not any(re.search(r"\bSELECT\b", g.split(" ON ")[0]) for g in server_wide)
        assert any(f"SELECT, INSERT ON {WMS_CONTROL_DATABASE}.*" in g for g in grants)
        cur.execute(f"SELECT count(*) FROM {WMS_DATABASE}.LOC")
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("SELECT * FROM mysql.global_priv")
        assert denied.value.args[0] == 1142  # SELECT command denied


def test_no_password_reaches_the_binlog_the_cdc_user_reads(
    stack_settings: StackSettings, credentials: Credentials
) -> None:
    conn = _wms_cdc(stack_settings, credentials)
    with conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        row = cur.fetchone()
        assert row is not None
        binlog, position = str(row[0]), int(row[1])
        mariadb = _component(stack_settings, MariaDB)
        assert isinstance(mariadb, MariaDB)
        mariadb.bootstrap()  # what every `scv stack up` runs: CREATE/ALTER USER ... IDENTIFIED BY
        cur.execute("SHOW BINLOG EVENTS IN %s FROM %s", (binlog, position))
        logged = " ".join(str(event[-1]) for event in cur.fetchall())
    assert "IDENTIFIED" not in logged.upper()
    for name in ("SCV_WMS_OWNER_PASSWORD", "SCV_WMS_CDC_PASSWORD"):
        assert credentials[name] not in logged
