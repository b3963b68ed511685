"""``scv connectors`` against the real stack.

The shipped ``erp``/``wms`` connectors are applied (idempotently) and left deployed. Everything
disruptive (pause, restart, snapshots) runs on a throwaway PostgreSQL connector with test-only
names (connector, slot, publication, signal table, topic prefix), removed afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import orjson
import psycopg
import pymysql
import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer

from connectors.client import ConnectClient
from connectors.ops import apply, drop_slot, plan, send_snapshot_signal, source_checks
from connectors.settings import ConnectorsSettings
from connectors.sources import check_mariadb
from connectors.specs import PostgresSpec, load_specs
from kafkaio import client_config
from scv.cli import cli
from scv.settings import connectors_settings
from stack.settings import StackSettings

pytestmark = pytest.mark.usefixtures("legacy_schemas")


@pytest.fixture(scope="module")
def settings(stack_settings: StackSettings) -> ConnectorsSettings:
    return connectors_settings()


@pytest.fixture
def client(settings: ConnectorsSettings) -> Iterator[ConnectClient]:
    with ConnectClient(settings.connect_url) as c:
        yield c


def _owner_pg(endpoints: dict[str, str]) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(endpoints["SCV_ERP_DSN"].replace("+psycopg", ""), autocommit=True)


def test_apply_twice_is_a_noop_and_both_run(
    settings: ConnectorsSettings, client: ConnectClient
) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["connectors", "apply"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["connectors", "apply"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert "erp: unchanged, RUNNING" in second.output
    assert "wms: unchanged, RUNNING" in second.output
    planned = runner.invoke(cli, ["connectors", "plan"], catch_exceptions=False)
    assert planned.exit_code == 0
    assert planned.output.splitlines() == ["erp: no change", "wms: no change"]
    for spec in load_specs().values():
        assert not plan(spec, client, settings).pending
    status = runner.invoke(cli, ["connectors", "status", "--json"], catch_exceptions=False)
    rows = orjson.loads(status.output)
    assert [(r["name"], r["state"], r["running"]) for r in rows] == [
        ("erp", "RUNNING", True),
        ("wms", "RUNNING", True),
    ]
    assert {r["data_loss_risk"]["level"] for r in rows} <= {"ok", "warn"}


@pytest.fixture
def scratch_pg(settings: ConnectorsSettings, client: ConnectClient) -> Iterator[PostgresSpec]:
    """A throwaway ERP connector: own name, slot, publication, signal table, topic prefix."""
    tag = uuid.uuid4().hex[:8]
    base = load_specs()["erp"]
    assert isinstance(base, PostgresSpec)
    spec = base.model_copy(
        update={
            "name": f"test-erp-{tag}",
            "slot": f"test_{tag}",
            "publication": f"test_{tag}",
            "topic_prefix": f"test{tag}",
            "signal_table": f"dbz_signal_{tag}",
            "snapshot_mode": "no_data",
        }
    )
    test_settings = settings.model_copy(
        update={"owner_dsns": {**settings.owner_dsns, spec.name: settings.owner_dsns["erp"]}}
    )
    try:
        yield spec
    finally:
        if spec.name in client.connectors():
            client.delete(spec.name)
        drop_slot(spec, test_settings)
        owner = psycopg.connect(
            test_settings.owner_dsns["erp"].get_secret_value().replace("+psycopg", ""),
            autocommit=True,
        )
        with owner:
            owner.execute(f"DROP PUBLICATION IF EXISTS test_{tag}")
            owner.execute(f"DROP TABLE IF EXISTS scv_control.dbz_signal_{tag}")


def test_pause_resume_restart_and_a_filtered_snapshot(
    scratch_pg: PostgresSpec, settings: ConnectorsSettings, client: ConnectClient
) -> None:
    spec = scratch_pg
    s = settings.model_copy(
        update={"owner_dsns": {**settings.owner_dsns, spec.name: settings.owner_dsns["erp"]}}
    )
    apply(spec, client, s)
    assert client.status(spec.name).running

    client.pause(spec.name)
    deadline = time.monotonic() + 30
    while client.status(spec.name).state != "PAUSED":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    client.resume(spec.name)
    from connectors.ops import wait_running

    assert wait_running(spec.name, client, 60).running
    client.restart(spec.name, include_tasks=True)
    assert wait_running(spec.name, client, 60).running

    # Ad-hoc snapshot of f4101 filtered to a few items: r events for exactly those rows.
    owner = psycopg.connect(
        s.owner_dsns["erp"].get_secret_value().replace("+psycopg", ""), autocommit=True
    )
    with owner:
        rows = owner.execute("SELECT imitm FROM proddta.f4101 ORDER BY imitm LIMIT 3").fetchall()
    if len(rows) < 3:
        pytest.fail("proddta.f4101 has fewer than 3 rows; seed the simulator first (`scv sim`)")
    wanted = {str(r[0]) for r in rows}
    last = max(int(r[0]) for r in rows)
    consumer = Consumer(
        client_config(
            s.kafka_bootstrap,
            {
                "group.id": f"test-{spec.name}",
                "auto.offset.reset": "earliest",
                "topic.metadata.refresh.interval.ms": 1000,
            },
        )
    )
    consumer.subscribe([spec.topic("f4101")])
    try:
        send_snapshot_signal(spec, s, "f4101", f"imitm <= {last}")
        seen: set[str] = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and seen != wanted:
            for msg in consumer.consume(100, 1.0):
                if msg.error() or msg.value() is None:
                    continue
                event = orjson.loads(msg.value())
                if event["op"] == "r":
                    seen.add(str(event["after"]["imitm"]))
        time.sleep(3)  # nothing beyond the filter may follow
        for msg in consumer.consume(500, 2.0):
            if not msg.error() and msg.value() is not None:
                event = orjson.loads(msg.value())
                if event["op"] == "r":
                    seen.add(str(event["after"]["imitm"]))
    finally:
        consumer.close()
    assert seen == wanted


def test_validate_catches_a_table_without_replica_identity_full(
    settings: ConnectorsSettings, endpoints: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    schema = f"test_ri_{tag}"
    base = load_specs()["erp"]
    spec = base.model_copy(update={"schema_name": schema, "tables": ("f4101",)})
    with _owner_pg(endpoints) as owner:
        owner.execute(f"CREATE SCHEMA {schema}")
        try:
            owner.execute(f"CREATE TABLE {schema}.f4101 (imitm numeric(8) PRIMARY KEY)")
            failed = [c for c in source_checks(spec, settings) if c.level == "fail"]
        finally:
            owner.execute(f"DROP SCHEMA {schema} CASCADE")
    lines = [c.line for c in failed]
    assert (
        f"replica identity {schema}.f4101: is DEFAULT: updates and deletes carry no full "
        f"before-image -> fix: ALTER TABLE {schema}.f4101 REPLICA IDENTITY FULL (as the owner)"
    ) in lines


def test_validate_catches_binlog_format_statement(stack_settings: StackSettings) -> None:
    """A root session set to STATEMENT (the server stays ROW for everyone else)."""
    spec = load_specs()["wms"]
    socket = stack_settings.data_dir / "mariadb" / "mariadb.sock"
    conn = pymysql.connect(unix_socket=str(socket), user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION binlog_format = 'STATEMENT'")
        checks = check_mariadb(spec, conn)  # type: ignore[arg-type]
    finally:
        conn.close()
    failed = {c.name: c.line for c in checks if c.level == "fail"}
    assert failed["binlog_format"].startswith(
        "binlog_format: is STATEMENT (global ROW): row changes are not logged -> fix: "
    )


def test_validate_passes_on_the_real_sources() -> None:
    result = CliRunner().invoke(cli, ["connectors", "validate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
